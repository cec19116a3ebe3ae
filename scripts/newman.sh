#!/usr/bin/env bash
# Runs the Postman collection in postman/ with newman against a fresh server:
# builds the binary, starts it on a free port with a new SQLite database and a
# one-second sweep, waits for /readyz, runs the collection, stops the server.
# Exits non-zero if any request or assertion fails. Newman is installed, at
# the pinned version, into .cache/newman (git-ignored) on first use.
#
#   bash scripts/newman.sh [extra newman run options...]
set -euo pipefail

NEWMAN_VERSION=6.2.2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
collection=$root/postman/tasktrack.postman_collection.json
prefix=$root/.cache/newman
newman=$prefix/node_modules/.bin/newman

command -v npm >/dev/null || { echo "newman.sh: npm is required" >&2; exit 1; }
command -v go >/dev/null || { echo "newman.sh: go is required" >&2; exit 1; }
command -v curl >/dev/null || { echo "newman.sh: curl is required" >&2; exit 1; }

if [[ ! -x $newman || $("$newman" --version 2>/dev/null) != "$NEWMAN_VERSION" ]]; then
  echo "installing newman $NEWMAN_VERSION into ${prefix#"$root"/}"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --save-exact --loglevel=error \
    "newman@$NEWMAN_VERSION" >/dev/null
fi

# shellcheck source=scripts/serve-lib.sh
. "$root/scripts/serve-lib.sh"
trap 'exit 130' INT TERM

echo "building tasktrack"
(cd "$root" && go build -o "$tmp/tasktrack" ./cmd/tasktrack)

admin_password=newman-$RANDOM-$RANDOM-admin
start_tasktrack "$tmp/tasktrack" "$tmp" "$admin_password" --sweep-interval 1s
base_url=http://$addr
echo "server ready at $base_url"

status=0
"$newman" run "$collection" \
  --env-var "baseUrl=$base_url" \
  --env-var "adminPassword=$admin_password" \
  --env-var expectSweep=true \
  --reporters cli "$@" || status=$?

if [[ $status -ne 0 ]]; then
  echo "newman.sh: newman failed (exit $status); server log:" >&2
  tail -n 50 "$log" >&2
fi
exit "$status"
