#!/usr/bin/env bash
# Load test against a fresh server: builds tasktrack and the load generator
# (loadtest/), starts `tasktrack serve` on a free port with a new SQLite
# database and default settings (plus --trusted-proxies 127.0.0.1, so that
# the distributed login flood can give each attempt its own address), runs
#   1. the mixed workload: 64 clients for 30 s (list, read, update status,
#      create); it must see zero errors;
#   2. the login-flood measurement: the task list's p99 without a flood, and
#      during floods of wrong passwords (one username from one address, then
#      a new username and address for every attempt);
# then stops the server with SIGTERM. Exits non-zero if a run saw errors or
# the server did not stop cleanly.
#
#   bash scripts/loadtest.sh
#
# Settings (environment):
#   LOADTEST_CLIENTS         mixed: concurrent clients              (64)
#   LOADTEST_DURATION        mixed: length of the run               (30s)
#   LOADTEST_FLOOD_CLIENTS   loginflood: clients listing tasks      (8)
#   LOADTEST_FLOOD_DURATION  loginflood: length of each phase       (10s)
#   LOADTEST_FLOODERS        loginflood: goroutines sending logins  (32)
#   LOADTEST_SERVE_FLAGS     extra flags for `tasktrack serve`      ("")
set -euo pipefail

CLIENTS=${LOADTEST_CLIENTS:-64}
DURATION=${LOADTEST_DURATION:-30s}
FLOOD_CLIENTS=${LOADTEST_FLOOD_CLIENTS:-8}
FLOOD_DURATION=${LOADTEST_FLOOD_DURATION:-10s}
FLOODERS=${LOADTEST_FLOODERS:-32}
read -r -a SERVE_FLAGS <<<"${LOADTEST_SERVE_FLAGS:-}"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v go >/dev/null || { echo "loadtest.sh: go is required" >&2; exit 1; }
command -v curl >/dev/null || { echo "loadtest.sh: curl is required" >&2; exit 1; }

# shellcheck source=scripts/serve-lib.sh
. "$root/scripts/serve-lib.sh"
trap 'exit 130' INT TERM

echo "building tasktrack and the load generator"
(cd "$root" && go build -o "$tmp/tasktrack" ./cmd/tasktrack && go build -o "$tmp/loadtest" ./loadtest)

admin_password=load-$RANDOM-$RANDOM-admin
start_tasktrack "$tmp/tasktrack" "$tmp" "$admin_password" --trusted-proxies 127.0.0.1 ${SERVE_FLAGS[@]+"${SERVE_FLAGS[@]}"}
url=http://$addr
echo "server ready at $url ($(nproc) CPUs, $(go version | cut -d' ' -f3))"

status=0
echo
echo "== mixed workload"
"$tmp/loadtest" -url "$url" -admin-password "$admin_password" -mode mixed \
  -clients "$CLIENTS" -duration "$DURATION" || status=1

echo
echo "== login flood"
"$tmp/loadtest" -url "$url" -admin-password "$admin_password" -mode loginflood \
  -clients "$FLOOD_CLIENTS" -duration "$FLOOD_DURATION" -flooders "$FLOODERS" || status=1

echo
overload=$(curl -fsS "http://$metrics_addr/metrics" | sed -n 's/^tasktrack_http_overload_total \(.*\)/\1/p')
echo "requests refused by --max-in-flight: ${overload:-?}"

kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
if [[ $code -ne 0 ]]; then
  echo "loadtest.sh: the server exited with code $code after SIGTERM" >&2
  status=1
fi
if grep -q 'level=ERROR' "$log"; then
  echo "loadtest.sh: the server logged errors:" >&2
  grep 'level=ERROR' "$log" | head -n 20 >&2
  status=1
fi
exit "$status"
