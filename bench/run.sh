#!/usr/bin/env bash
# bench/run.sh: tasktrack against the ceiling of ../shared/bench, side by
# side, in one command (see bench/README.md). Prints the results table and
# keeps everything of the run in bench/out/run/.
#
# Settings (environment):
#   BENCH_DURATION   seconds of each paired wrk run            (default 10s)
#   BENCH_ROUNDS     rounds of each pair, A B A B ...          (default 3)
#   BENCH_SHORT      seconds of the c128, scale and PostgreSQL runs (default 5s)
#   BENCH_BIG        tasks of the large data set               (default 1000000)
#   BENCH_OVERDUE    of those, due to be missed at the sweep    (default 100000)
#   BENCH_POSTGRES   base URL of PostgreSQL ("" skips it)      (default postgres://postgres@127.0.0.1:5432)
#   BENCH_PGBOUNCER  base URL of a PgBouncer in transaction mode in front of
#                    BENCH_POSTGRES: adds list, status and create through it,
#                    in turns with the direct ones ("" skips) (default "")
#   BENCH_ONLY_POSTGRES=1  only the PostgreSQL rows
#   BENCH_SHARED     the shared bench folder (ceiling, wrk scripts) (default ../shared/bench)
#   BENCH_PROFILE=1  also take 10 s CPU profiles of tasktrack under the list,
#                    status and create loads (bench/out/run/*.pprof, *.top.txt)
#   BENCH_SMTP=0     run tasktrack without email; by default its --smtp-url is
#                    a local sink (benchtool smtpsink), so that every created
#                    task's email is written to the outbox and sent
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$(cd "${BENCH_SHARED:-$ROOT/../shared/bench}" && pwd)
OUT=$ROOT/bench/out
RUN=$OUT/run
DUR=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
SHORT=${BENCH_SHORT:-5s}
BIG=${BENCH_BIG:-1000000}
OVERDUE=${BENCH_OVERDUE:-100000}
PG=${BENCH_POSTGRES-postgres://postgres@127.0.0.1:5432}
PROFILE=${BENCH_PROFILE:-0}
PGB=${BENCH_PGBOUNCER:-}
ONLY_PG=${BENCH_ONLY_POSTGRES:-0}
SMTP=${BENCH_SMTP:-1}
SMALL=10000
PASSWORD=bench-password-1

TT=$OUT/tasktrack
CEIL=$OUT/ceiling
TOOL=$OUT/benchtool
WRK_DIR=$SHARED/wrk
PORT_TT=18000 PORT_BIG=18001 PORT_PG=18002 PORT_START=18003 PORT_PGB=18004 PORT_CEIL=18090 PORT_SMTP=18025

PIDS=()
PG_DB=""
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "$PG_DB" ]; then
		psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'echo "run.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

rm -rf "$RUN"
mkdir -p "$RUN/raw"
METRICS=$RUN/metrics.txt
: >"$METRICS"
T0=$(date +%s)

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "command: bash bench/run.sh (BENCH_DURATION=$DUR BENCH_ROUNDS=$ROUNDS BENCH_SHORT=$SHORT BENCH_BIG=$BIG BENCH_OVERDUE=$OVERDUE BENCH_POSTGRES=$PG BENCH_PGBOUNCER=$PGB BENCH_ONLY_POSTGRES=$ONLY_PG)"
	git -C "$ROOT" status --short 2>/dev/null | sed -n '1,40s/^/  changed: /p'
	echo "nproc: $(nproc)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	[ -r /proc/pressure/cpu ] && echo "CPU pressure at start: $(head -n 1 /proc/pressure/cpu)"
	lscpu | sed -n 1,15p
} >"$RUN/machine.txt"

# --- build -------------------------------------------------------------------
log "building tasktrack, the ceiling and benchtool"
(cd "$ROOT" && go build -o "$TT" ./cmd/tasktrack && go build -o "$TOOL" ./bench/benchtool)
if ! go build -C "$SHARED/ceiling" -o "$CEIL" . 2>"$RUN/ceiling-build.log"; then
	# The shared folder is read-only: build a copy if go wants to write.
	tmp=$(mktemp -d)
	cp -r "$SHARED/ceiling/." "$tmp/" && chmod -R u+w "$tmp"
	go build -C "$tmp" -o "$CEIL" .
	rm -rf "$tmp"
fi

# --- helpers -------------------------------------------------------------------
LAST_PID=
start_tt() { # name port database [flags...]
	local name=$1 port=$2 db=$3
	shift 3
	TASKTRACK_DATABASE=$db "$TT" serve --addr "127.0.0.1:$port" --metrics-addr '' --access-ttl 2h "$@" >>"$RUN/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_url "http://127.0.0.1:$port/readyz"
}
start_ceil() { # database
	"$CEIL" -db "$1" -addr "127.0.0.1:$PORT_CEIL" >>"$RUN/ceiling.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_url "http://127.0.0.1:$PORT_CEIL/hello"
}
stop() { # pid
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
wait_url() {
	for _ in $(seq 1 600); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "not ready: $1" >&2
	return 1
}
login() { # port username
	curl -sf -X POST -H 'Content-Type: application/json' \
		-d "{\"username\":\"$2\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$1/api/token/" |
		sed -n 's/.*"access":"\([^"]*\)".*/\1/p'
}
task_ids() { # port token
	curl -sf -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/task/tasks/?limit=1000" |
		grep -oE '"id":"[0-9a-f-]{36}"' | cut -d'"' -f4
}
plain_user() { # port manager-token: the id of a user with role "user" other than bench
	curl -sf -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/user/users/?limit=50" |
		grep -oE '"id":[0-9]+,"username":"[^"]*","email":"[^"]*","first_name":"[^"]*","last_name":"[^"]*","role":\{"id":3' |
		awk '!/"username":"bench"/ && !done { sub(/^"id":/, ""); sub(/,.*/, ""); print; done = 1 }'
}
# One wrk run: row server round conns duration script url [VAR=value...]
wrk_run() {
	local row=$1 server=$2 round=$3 conns=$4 dur=$5 script=$6 url=$7
	shift 7
	env "$@" wrk -t2 -c"$conns" -d"$dur" --latency -s "$WRK_DIR/$script.lua" "$url" >"$RUN/raw/$row.$server.$round.txt" 2>&1
	log "  $row $server round $round: $(grep -E 'Requests/sec' "$RUN/raw/$row.$server.$round.txt" | tr -s ' ')" \
		"$(grep -E 'Non-2xx|Socket errors' "$RUN/raw/$row.$server.$round.txt" | tr -s ' ' | tr '\n' ' ')"
}
rss_sample() { # pid file: writes the largest VmRSS (kB) seen until $RUN/rss.stop exists
	local max=0 v
	while [ ! -e "$RUN/rss.stop" ] && [ -r "/proc/$1/status" ]; do
		v=$(awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
		if [ -n "$v" ] && [ "$v" -gt "$max" ]; then max=$v; echo "$max" >"$2"; fi
		sleep 0.2
	done
}
hwm() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }
profile() { # name pid-port wrk args...: a 10 s CPU profile under a 13 s load
	local name=$1
	shift
	"$@" &
	local w=$!
	sleep 1
	curl -sf -o "$RUN/$name.pprof" "http://127.0.0.1:6060/debug/pprof/profile?seconds=10"
	wait "$w" || true
	go tool pprof -top -nodecount=40 "$TT" "$RUN/$name.pprof" >"$RUN/$name.top.txt" 2>/dev/null || true
	go tool pprof -top -cum -nodecount=60 "$TT" "$RUN/$name.pprof" >"$RUN/$name.cum.txt" 2>/dev/null || true
	log "  profile: $RUN/$name.top.txt"
}

TT_ENV=(LIST_PATH=/api/task/tasks/ STATUS_PATH=/api/task/tasks/%s/update_status/ CREATE_PATH=/api/task/tasks/)
CEIL_ENV=(LIST_PATH=/tasks STATUS_PATH=/tasks/%s/status CREATE_PATH=/tasks)

demo() { # database tasks overdue
	TASKTRACK_DATABASE=$1 timeout 300 "$TT" demo --users 1000 --tasks "$2" --overdue "$3" \
		--bench-user bench --bench-tasks 20 --bench-password "$PASSWORD" --seed 7 2>>"$RUN/demo.log" | tee -a "$RUN/demo.log" >&2
}

# --- PostgreSQL --------------------------------------------------------------------------------------
# postgres_rows: list, status and create on PostgreSQL, and through PgBouncer
# in turns with the direct ones when BENCH_PGBOUNCER is set.
postgres_rows() {
	if [ -n "$PG" ] && psql "$PG/postgres?sslmode=disable" -qc 'SELECT 1' >/dev/null 2>&1; then
		PG_DB=tasktrack_bench_$$
		psql "$PG/postgres?sslmode=disable" -qc "CREATE DATABASE $PG_DB" >/dev/null
		PGURL="$PG/$PG_DB?sslmode=disable"
		log "PostgreSQL: $SMALL tasks"
		demo "$PGURL" "$SMALL" 0
		start_tt pg "$PORT_PG" "$PGURL"
		PG_PID=$LAST_PID
		PU="http://127.0.0.1:$PORT_PG"
		PG_USER=$(login "$PORT_PG" bench)
		PG_MGR=$(login "$PORT_PG" bench-manager)
		task_ids "$PORT_PG" "$PG_USER" >"$RUN/pg.ids"
		PG_ASSIGNEE=$(plain_user "$PORT_PG" "$PG_MGR")
		log "PostgreSQL: list, status, create, c32, $ROUNDS rounds of $SHORT"
		wrk_run warm pg 0 32 2s list "$PU" TOKEN="$PG_USER" "${TT_ENV[@]}"
		rm -f "$RUN"/raw/warm.*
		for r in $(seq 1 "$ROUNDS"); do
			wrk_run pglist pg "$r" 32 "$SHORT" list "$PU" TOKEN="$PG_USER" "${TT_ENV[@]}"
		done
		for r in $(seq 1 "$ROUNDS"); do
			wrk_run pgstatus pg "$r" 32 "$SHORT" status "$PU" TOKEN="$PG_USER" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
		done
		for r in $(seq 1 "$ROUNDS"); do
			wrk_run pgcreate pg "$r" 32 "$SHORT" create "$PU" TOKEN="$PG_MGR" ASSIGNEE="$PG_ASSIGNEE" "${TT_ENV[@]}"
		done
		if [ -n "$PGB" ]; then
			# The same database through PgBouncer, by a second server; the
			# tokens are good on both (one JWT secret, in the database).
			start_tt pgb "$PORT_PGB" "$PGB/$PG_DB?sslmode=disable&default_query_exec_mode=cache_describe"
			PGB_PID=$LAST_PID
			PBU="http://127.0.0.1:$PORT_PGB"
			log "PgBouncer (transaction mode) against direct: list, status, create, c32, $ROUNDS rounds of $SHORT in turns"
			wrk_run warm pgb 0 32 2s list "$PBU" TOKEN="$PG_USER" "${TT_ENV[@]}"
			rm -f "$RUN"/raw/warm.*
			for r in $(seq 1 "$ROUNDS"); do
				wrk_run pgblist pgb "$r" 32 "$SHORT" list "$PBU" TOKEN="$PG_USER" "${TT_ENV[@]}"
				wrk_run pgblist pg "$r" 32 "$SHORT" list "$PU" TOKEN="$PG_USER" "${TT_ENV[@]}"
			done
			for r in $(seq 1 "$ROUNDS"); do
				wrk_run pgbstatus pgb "$r" 32 "$SHORT" status "$PBU" TOKEN="$PG_USER" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
				wrk_run pgbstatus pg "$r" 32 "$SHORT" status "$PU" TOKEN="$PG_USER" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
			done
			for r in $(seq 1 "$ROUNDS"); do
				wrk_run pgbcreate pgb "$r" 32 "$SHORT" create "$PBU" TOKEN="$PG_MGR" ASSIGNEE="$PG_ASSIGNEE" "${TT_ENV[@]}"
				wrk_run pgbcreate pg "$r" 32 "$SHORT" create "$PU" TOKEN="$PG_MGR" ASSIGNEE="$PG_ASSIGNEE" "${TT_ENV[@]}"
			done
			stop "$PGB_PID"
		fi
		stop "$PG_PID"
	else
		log "PostgreSQL skipped (BENCH_POSTGRES=${PG:-empty} does not answer)"
	fi
}

# --- the table --------------------------------------------------------------------------------------------
print_table() {
	{
		echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
		[ -r /proc/pressure/cpu ] && echo "CPU pressure at end: $(head -n 1 /proc/pressure/cpu)"
		echo "other busy processes at end (%CPU, command):"
		ps -eo pcpu=,args= --sort=-pcpu | awk -v me="$$" '$1 >= 10 && !/bench\/out\/|wrk / { printf "  %s %s\n", $1, substr($2, 1, 80) }' | sed -n 1,8p
	} >>"$RUN/machine.txt"
	echo "duration: $(($(date +%s) - T0)) s" >>"$RUN/machine.txt"
	"$TOOL" table -dir "$RUN" >"$RUN/table.md"
	cat "$RUN/machine.txt"
	echo
	cat "$RUN/table.md"
}

if [ "$ONLY_PG" = 1 ]; then
	postgres_rows
	print_table
	exit 0
fi

# --- data ----------------------------------------------------------------------
log "data: $SMALL tasks for the ceiling and for tasktrack"
"$CEIL" -db "$RUN/ceiling.db" -seed "$SMALL" 2>>"$RUN/ceiling.log"
demo "$RUN/small.db" "$SMALL" 0
log "data: $BIG tasks for tasktrack, $OVERDUE of them due to be missed"
demo "$RUN/big.db" "$BIG" "$OVERDUE"

# --- sweep over the large set ----------------------------------------------------
# One sweep: key database [flags...]; writes "key wall rss ms missed
# deactivated reminders" to the metrics.
sweep() {
	local key=$1 db=$2
	shift 2
	/usr/bin/time -v -o "$RUN/$key.time" timeout 120 env TASKTRACK_DATABASE="$db" "$TT" sweep --json "$@" >"$RUN/$key.json" 2>>"$RUN/sweep.log"
	local wall rss sj ms missed deact reminders
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$RUN/$key.time")
	rss=$(awk -F': ' '/Maximum resident/{print $2}' "$RUN/$key.time")
	sj=$(cat "$RUN/$key.json")
	ms=$(sed -E 's/.*"duration_ms":([0-9]+).*/\1/' <<<"$sj")
	missed=$(sed -E 's/.*"tasks_missed":([0-9]+).*/\1/' <<<"$sj")
	deact=$(sed -E 's/.*"users_deactivated":([0-9]+).*/\1/' <<<"$sj")
	reminders=$(sed -E 's/.*"reminders":([0-9]+).*/\1/' <<<"$sj")
	echo "$key $wall $rss $ms $missed $deact $reminders" >>"$METRICS"
	log "  $sj; wall ${wall}s, max RSS ${rss} kB"
}
# The same sweep without reminders, on a copy, for comparison.
cp "$RUN/big.db" "$RUN/big-off.db"
# The data set was just written: let the system finish writing it out, so
# that the sweep is measured on its own rather than with that write-back.
sync
sleep 2
log "sweep over $BIG tasks, reminders off"
sweep sweep_off "$RUN/big-off.db" --reminders ''
rm -f "$RUN"/big-off.db*
sync
sleep 2
log "sweep over $BIG tasks"
sweep sweep "$RUN/big.db"
echo "sweep_tasks $BIG" >>"$METRICS"
echo "sweep_overdue $OVERDUE" >>"$METRICS"

# --- startup on the large set ------------------------------------------------------
log "serve on $BIG tasks until /readyz is 200 (3 times)"
st=$("$TOOL" startup -url "http://127.0.0.1:$PORT_START/readyz" -n 3 -- \
	env TASKTRACK_DATABASE="$RUN/big.db" "$TT" serve --addr "127.0.0.1:$PORT_START" --metrics-addr '')
echo "startup_ms $st" >>"$METRICS"
echo "startup_tasks $BIG" >>"$METRICS"
log "  median and runs (ms): $st"

# --- servers, tokens, ids ------------------------------------------------------------
SMTP_FLAGS=()
if [ "$SMTP" = 1 ]; then
	"$TOOL" smtpsink -addr "127.0.0.1:$PORT_SMTP" >"$RUN/smtpsink.log" 2>&1 &
	SINK_PID=$!
	PIDS+=("$SINK_PID")
	SMTP_FLAGS=(--smtp-url "smtp://127.0.0.1:$PORT_SMTP" --public-url "http://127.0.0.1:$PORT_TT")
	echo "smtp 1" >>"$METRICS"
fi
log "tokens and ids"
start_tt small "$PORT_TT" "$RUN/small.db" "${SMTP_FLAGS[@]}"
pid=$LAST_PID
TT_USER=$(login "$PORT_TT" bench)
TT_MGR=$(login "$PORT_TT" bench-manager)
task_ids "$PORT_TT" "$TT_USER" >"$RUN/tt.ids"
TT_ASSIGNEE=$(plain_user "$PORT_TT" "$TT_MGR")
[ "$(wc -l <"$RUN/tt.ids")" -eq 20 ] || { echo "bench user does not own 20 tasks" >&2; exit 1; }
[ -n "$TT_USER" ] && [ -n "$TT_MGR" ] && [ -n "$TT_ASSIGNEE" ] || { echo "no tokens or assignee" >&2; exit 1; }
# Serve the measured runs from a fresh process: its memory is that of
# serving, not of the logins above. Tokens outlive the restart.
stop "$pid"
PPROF=()
[ "$PROFILE" = 1 ] && PPROF=(--pprof-addr 127.0.0.1:6060)
start_tt small "$PORT_TT" "$RUN/small.db" "${PPROF[@]}" "${SMTP_FLAGS[@]}"
TT_PID=$LAST_PID

start_ceil "$RUN/ceiling.db"
CEIL_PID=$LAST_PID
C_TOKEN=$("$CEIL" -token)
"$CEIL" -db "$RUN/ceiling.db" -ids >"$RUN/ceiling.ids"
C_ASSIGNEE=2 # the ceiling's user 1 is the caller; created tasks go to user 2

start_tt big "$PORT_BIG" "$RUN/big.db"
BIG_PID=$LAST_PID
BIG_USER=$(login "$PORT_BIG" bench)
BIG_MGR=$(login "$PORT_BIG" bench-manager)

TTU="http://127.0.0.1:$PORT_TT"
CU="http://127.0.0.1:$PORT_CEIL"
BU="http://127.0.0.1:$PORT_BIG"

# --- list, c32, in turns ----------------------------------------------------------------
log "warm-up"
wrk_run warm tt 0 32 2s list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
wrk_run warm ceil 0 32 2s list "$CU" TOKEN="$C_TOKEN" "${CEIL_ENV[@]}"
rm -f "$RUN"/raw/warm.*
log "list: a user's 20 tasks among $SMALL, c32, $ROUNDS rounds of $DUR"
rm -f "$RUN/rss.stop"
rss_sample "$TT_PID" "$RUN/rss.tt" &
S1=$!
rss_sample "$CEIL_PID" "$RUN/rss.ceil" &
S2=$!
for r in $(seq 1 "$ROUNDS"); do
	wrk_run list tt "$r" 32 "$DUR" list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
	wrk_run list ceil "$r" 32 "$DUR" list "$CU" TOKEN="$C_TOKEN" "${CEIL_ENV[@]}"
done
touch "$RUN/rss.stop"
wait "$S1" "$S2" || true
{
	echo "rss_list_tt_max_kb $(cat "$RUN/rss.tt" 2>/dev/null || echo 0)"
	echo "rss_list_ceil_max_kb $(cat "$RUN/rss.ceil" 2>/dev/null || echo 0)"
	echo "rss_list_tt_hwm_kb $(hwm "$TT_PID")"
	echo "rss_list_ceil_hwm_kb $(hwm "$CEIL_PID")"
} >>"$METRICS"
if [ "$PROFILE" = 1 ]; then
	profile list wrk_run proflist tt 0 32 13s list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
fi

# --- the same lists on the large set -------------------------------------------------------
log "scale: the same lists on $BIG vs $SMALL tasks, $ROUNDS rounds of $SHORT"
for r in $(seq 1 "$ROUNDS"); do
	wrk_run scaleuser tt1m "$r" 32 "$SHORT" list "$BU" TOKEN="$BIG_USER" "${TT_ENV[@]}"
	wrk_run scaleuser tt10k "$r" 32 "$SHORT" list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
done
for r in $(seq 1 "$ROUNDS"); do
	wrk_run scalemgr tt1m "$r" 32 "$SHORT" list "$BU" TOKEN="$BIG_MGR" "${TT_ENV[@]}"
	wrk_run scalemgr tt10k "$r" 32 "$SHORT" list "$TTU" TOKEN="$TT_MGR" "${TT_ENV[@]}"
done
stop "$BIG_PID"

# --- status and create, c32, in turns ---------------------------------------------------------
log "status: c32, $ROUNDS rounds of $DUR"
for r in $(seq 1 "$ROUNDS"); do
	wrk_run status tt "$r" 32 "$DUR" status "$TTU" TOKEN="$TT_USER" IDS_FILE="$RUN/tt.ids" "${TT_ENV[@]}"
	wrk_run status ceil "$r" 32 "$DUR" status "$CU" TOKEN="$C_TOKEN" IDS_FILE="$RUN/ceiling.ids" "${CEIL_ENV[@]}"
done
if [ "$PROFILE" = 1 ]; then
	profile status wrk_run profstatus tt 0 32 13s status "$TTU" TOKEN="$TT_USER" IDS_FILE="$RUN/tt.ids" "${TT_ENV[@]}"
fi
log "create: c32, $ROUNDS rounds of $DUR"
for r in $(seq 1 "$ROUNDS"); do
	wrk_run create tt "$r" 32 "$DUR" create "$TTU" TOKEN="$TT_MGR" ASSIGNEE="$TT_ASSIGNEE" "${TT_ENV[@]}"
	wrk_run create ceil "$r" 32 "$DUR" create "$CU" TOKEN="$C_TOKEN" ASSIGNEE="$C_ASSIGNEE" "${CEIL_ENV[@]}"
done

# --- 128 connections: nothing may fail ------------------------------------------------------------
if [ "$PROFILE" = 1 ]; then
	profile create wrk_run profcreate tt 0 32 13s create "$TTU" TOKEN="$TT_MGR" ASSIGNEE="$TT_ASSIGNEE" "${TT_ENV[@]}"
fi
log "c128: list, status, create, $SHORT each"
wrk_run list128 tt 1 128 "$SHORT" list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
wrk_run list128 ceil 1 128 "$SHORT" list "$CU" TOKEN="$C_TOKEN" "${CEIL_ENV[@]}"
wrk_run status128 tt 1 128 "$SHORT" status "$TTU" TOKEN="$TT_USER" IDS_FILE="$RUN/tt.ids" "${TT_ENV[@]}"
wrk_run status128 ceil 1 128 "$SHORT" status "$CU" TOKEN="$C_TOKEN" IDS_FILE="$RUN/ceiling.ids" "${CEIL_ENV[@]}"
wrk_run create128 tt 1 128 "$SHORT" create "$TTU" TOKEN="$TT_MGR" ASSIGNEE="$TT_ASSIGNEE" "${TT_ENV[@]}"
wrk_run create128 ceil 1 128 "$SHORT" create "$CU" TOKEN="$C_TOKEN" ASSIGNEE="$C_ASSIGNEE" "${CEIL_ENV[@]}"
stop "$TT_PID"
stop "$CEIL_PID"
if [ "$SMTP" = 1 ]; then
	stop "$SINK_PID"
	echo "smtp_received $(sed -nE 's/received ([0-9]+) messages/\1/p' "$RUN/smtpsink.log")" >>"$METRICS"
fi

postgres_rows
print_table
