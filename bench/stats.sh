#!/usr/bin/env bash
# bench/stats.sh: the dashboard and the exports on a 1,000,000-task database.
#
#   1. makes the database, unless it exists: `tasktrack demo --tasks 1000000`
#      and one sweep (demo's defaults: 50 users, 1% of the tasks overdue);
#   2. serves it (no in-process sweep, so that the figures hold still);
#   3. times GET /api/stats/ with wrk, as a manager (everyone's figures and
#      people) and as a user (their own), on one connection and on eight;
#   4. exports every task as CSV once, as a manager, with curl: the time,
#      the size, the rows, and the server's peak resident memory during the
#      export (VmHWM, reset just before it) against its memory before.
#
# Settings (environment):
#   STATS_DB        the database (default bench/out/stats/demo.db); a
#                   postgres:// URL is used as it is (fill it with demo first)
#   STATS_TASKS     tasks of a database made here (default 1000000)
#   STATS_OVERDUE   of those, overdue at the sweep (default: demo's 1%)
#   STATS_USERS     users of a database made here (default 50)
#   STATS_DURATION  seconds of each wrk run (default 10s)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/stats
DB=${STATS_DB:-$OUT/demo.db}
TASKS=${STATS_TASKS:-1000000}
USERS=${STATS_USERS:-50}
DUR=${STATS_DURATION:-10s}
PORT=18100
PASSWORD=stats-bench-password
TT=$OUT/tasktrack
mkdir -p "$OUT"
log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

log "building"
go build -C "$ROOT" -o "$TT" ./cmd/tasktrack
export TASKTRACK_DATABASE=$DB
if [[ $DB != postgres* && ! -f $DB ]]; then
	log "making $DB: $TASKS tasks, $USERS users"
	overdue=()
	[ -n "${STATS_OVERDUE:-}" ] && overdue=(--overdue "$STATS_OVERDUE")
	"$TT" demo --tasks "$TASKS" --users "$USERS" "${overdue[@]}" 2>/dev/null
	sync
	"$TT" sweep
fi
"$TT" migrate >&2
for who in statsmanager:manager statsuser:user; do
	TASKTRACK_PASSWORD=$PASSWORD "$TT" createuser --username "${who%%:*}" --role "${who##*:}" >/dev/null 2>&1 || true
done

log "serving $DB"
"$TT" serve --addr 127.0.0.1:$PORT --sweep-interval 0 --log-level warn 2>"$OUT/serve.log" &
PID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
token() {
	curl -sf http://127.0.0.1:$PORT/api/token/ -H 'Content-Type: application/json' \
		-d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" | sed 's/.*"access":"\([^"]*\)".*/\1/'
}
MANAGER=$(token statsmanager)
USER_TOKEN=$(token statsuser)
URL=http://127.0.0.1:$PORT

# Warm the page cache and the statement cache first.
curl -sf "$URL/api/stats/" -H "Authorization: Bearer $MANAGER" >"$OUT/stats.json"
curl -sf "$URL/api/stats/" -H "Authorization: Bearer $USER_TOKEN" >/dev/null

stats_row() { # label token connections
	local out
	out=$(wrk -t1 -c"$3" -d"$DUR" --latency -H "Authorization: Bearer $2" "$URL/api/stats/")
	echo "$out" >"$OUT/wrk-$1-c$3.txt"
	local rps p50 p99
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	echo "| GET /api/stats/ as a $1, c$3 | $p50 | $p99 | $rps |"
}

{
	echo "## /api/stats/ on $(basename "$DB") ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD))"
	echo
	echo "people: $(grep -o '"username"' "$OUT/stats.json" | wc -l), tasks: $(grep -o '"tasks":{[^}]*}' "$OUT/stats.json")"
	echo
	echo "| request | p50 | p99 | req/s |"
	echo "|---|---:|---:|---:|"
	for c in 1 8; do
		stats_row manager "$MANAGER" $c
		stats_row user "$USER_TOKEN" $c
	done
} | tee "$OUT/results.md"

log "exporting every task"
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
echo 5 >/proc/$PID/clear_refs # VmHWM starts again from VmRSS
timing=$(curl -sf -o "$OUT/tasks.csv" -w '%{time_total} %{size_download}' "$URL/api/task/tasks/?format=csv" -H "Authorization: Bearer $MANAGER")
hwm=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
rows=$(($(wc -l <"$OUT/tasks.csv") - 1))
{
	echo
	echo "| export | time | size | rows | server RSS before | server peak RSS during |"
	echo "|---|---:|---:|---:|---:|---:|"
	printf '| GET /api/task/tasks/?format=csv, every task | %.2f s | %.0f MB | %d | %.0f MB | %.0f MB |\n' \
		"${timing% *}" "$(echo "${timing#* } / 1000000" | bc -l)" "$rows" "$(echo "$rss_before / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
} | tee -a "$OUT/results.md"
rm -f "$OUT/tasks.csv"
