#!/usr/bin/env bash
# bench/run.sh: tasktrack against the ceiling of ../shared/bench, side by
# side, on SQLite and on PostgreSQL, in one command (see bench/README.md).
# Prints the results table and keeps everything of the run in bench/out/run/.
#
# Settings (environment):
#   BENCH_DURATION   seconds of each paired SQLite wrk run     (default 10s)
#   BENCH_ROUNDS     rounds of each pair, A B A B ...          (default 3)
#   BENCH_SHORT      seconds of the c128, scale and PostgreSQL runs (default 5s)
#   BENCH_BIG        tasks of the large SQLite data set         (default 1000000)
#   BENCH_OVERDUE    of those, due to be missed at the sweep    (default 100000)
#   BENCH_PG_BIG     tasks of the PostgreSQL sweep's data set, a tenth of them
#                    due to be missed as in SQLite's ("0" skips it) (default BENCH_BIG)
#   BENCH_USERS      users created through the API and signed in at once on the
#                    measured SQLite server before its list rounds (default 50)
#   BENCH_SWEEP_OFF=1  also time the SQLite sweep with reminders off, on a copy
#   BENCH_POSTGRES   base URL of PostgreSQL ("" skips it)      (default postgres://postgres@127.0.0.1:5432)
#   BENCH_PG_PARAMS  extra URL parameters for both tasktrack and the ceiling on
#                    PostgreSQL, such as synchronous_commit=off (default "": the
#                    server's settings for both)
#   BENCH_PGBOUNCER  base URL of a PgBouncer in transaction mode in front of
#                    BENCH_POSTGRES: adds list, status and create through it,
#                    in turns with the direct ones ("" skips) (default "")
#   BENCH_ONLY_POSTGRES=1  only the PostgreSQL rows
#   BENCH_SHARED     the shared bench folder (ceiling, wrk scripts) (default ../shared/bench)
#   BENCH_PROFILE=1  also take 10 s CPU profiles of tasktrack under the list,
#                    status and create loads (bench/out/run/*.pprof, *.top.txt)
#
# tasktrack always runs with --smtp-url at a local SMTP sink (benchtool
# smtpsink) and --webhook-allow-private; just before its create rows an
# admin adds one webhook endpoint for every event ("*") at a local HTTP sink
# (benchtool httpsink), so that every created task's email and webhook are
# written to the outbox and delivered.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$(cd "${BENCH_SHARED:-$ROOT/../shared/bench}" && pwd)
OUT=$ROOT/bench/out
RUN=$OUT/run
DUR=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
SHORT=${BENCH_SHORT:-5s}
BIG=${BENCH_BIG:-1000000}
OVERDUE=${BENCH_OVERDUE:-100000}
PG_BIG=${BENCH_PG_BIG:-$BIG}
PG_OVERDUE=$((OVERDUE * PG_BIG / (BIG > 0 ? BIG : 1)))
NUSERS=${BENCH_USERS:-50}
SWEEP_OFF=${BENCH_SWEEP_OFF:-0}
SCALE_ROUNDS=$((ROUNDS < 2 ? ROUNDS : 2))
PG=${BENCH_POSTGRES-postgres://postgres@127.0.0.1:5432}
PG_PARAMS=${BENCH_PG_PARAMS:-}
PROFILE=${BENCH_PROFILE:-0}
PGB=${BENCH_PGBOUNCER:-}
ONLY_PG=${BENCH_ONLY_POSTGRES:-0}
SMALL=10000
PASSWORD=bench-password-1
ADMIN_PASSWORD=bench-admin-password-1
REMINDERS=24h,1h

TT=$OUT/tasktrack
CEIL=$OUT/ceiling
TOOL=$OUT/benchtool
WRK_DIR=$SHARED/wrk
PORT_TT=18000 PORT_BIG=18001 PORT_PG=18002 PORT_START=18003 PORT_PGB=18004 PORT_CEIL=18090
PORT_SMTP=18025 PORT_HOOK=18026 PORT_SMTP_COUNT=18027

PIDS=()
PG_DBS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for d in "${PG_DBS[@]}"; do
		psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
trap 'echo "run.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
for tool in go wrk curl /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "run.sh: needs $tool (see bench/README.md)" >&2; exit 1; }
done

rm -rf "$RUN"
mkdir -p "$RUN/raw"
METRICS=$RUN/metrics.txt
: >"$METRICS"
T0=$(date +%s)

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "command: bash bench/run.sh (BENCH_DURATION=$DUR BENCH_ROUNDS=$ROUNDS BENCH_SHORT=$SHORT BENCH_BIG=$BIG BENCH_OVERDUE=$OVERDUE BENCH_PG_BIG=$PG_BIG BENCH_USERS=$NUSERS BENCH_SWEEP_OFF=$SWEEP_OFF BENCH_POSTGRES=$PG BENCH_PG_PARAMS=$PG_PARAMS BENCH_PGBOUNCER=$PGB BENCH_ONLY_POSTGRES=$ONLY_PG)"
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
SINK_FLAGS=(--smtp-url "smtp://127.0.0.1:$PORT_SMTP" --webhook-allow-private)
start_tt() { # name port database [flags...]
	local name=$1 port=$2 db=$3
	shift 3
	TASKTRACK_DATABASE=$db "$TT" serve --addr "127.0.0.1:$port" --metrics-addr '' --access-ttl 2h \
		--public-url "http://127.0.0.1:$port" "$@" >>"$RUN/$name.log" 2>&1 &
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
login() { # port username [password]
	curl -sf -X POST -H 'Content-Type: application/json' \
		-d "{\"username\":\"$2\",\"password\":\"${3:-$PASSWORD}\"}" "http://127.0.0.1:$1/api/token/" |
		sed -n 's/.*"access":"\([^"]*\)".*/\1/p'
}
task_ids() { # port token
	curl -sf -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/task/tasks/?limit=1000" |
		grep -oE '"id":"[0-9a-f-]{36}"' | cut -d'"' -f4
}
plain_user() { # port manager-token: the id of a user with role "user" other than bench
	curl -sf -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/user/users/?limit=50" |
		grep -oE '"id":[0-9]+,"username":"[^"]*","email":"[^"]*","first_name":"[^"]*","last_name":"[^"]*","role":\{"id":3' |
		awk '!/"username":"bench"/ && /"email":"[^"]/ && !done { sub(/^"id":/, ""); sub(/,.*/, ""); print; done = 1 }'
}
# One wrk run: row server round conns duration script url [VAR=value...]
wrk_run() {
	local row=$1 server=$2 round=$3 conns=$4 dur=$5 script=$6 url=$7
	shift 7
	env "$@" wrk -t2 -c"$conns" -d"$dur" --latency -s "$WRK_DIR/$script.lua" "$url" >"$RUN/raw/$row.$server.$round.txt" 2>&1
	log "  $row $server round $round: $(grep -E 'Requests/sec' "$RUN/raw/$row.$server.$round.txt" | tr -s ' ')" \
		"$(grep -E 'Non-2xx|Socket errors' "$RUN/raw/$row.$server.$round.txt" | tr -s ' ' | tr '\n' ' ' || true)"
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
profile() { # name wrk args...: a 10 s CPU profile under a 13 s load
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

# The sinks: one SMTP and one HTTP (webhook) receiver per engine, counting.
SMTP_PID= HOOK_PID=
start_sinks() { # name
	"$TOOL" smtpsink -addr "127.0.0.1:$PORT_SMTP" -count-addr "127.0.0.1:$PORT_SMTP_COUNT" >"$RUN/smtpsink.$1.log" 2>&1 &
	SMTP_PID=$!
	PIDS+=("$SMTP_PID")
	"$TOOL" httpsink -addr "127.0.0.1:$PORT_HOOK" >"$RUN/httpsink.$1.log" 2>&1 &
	HOOK_PID=$!
	PIDS+=("$HOOK_PID")
	wait_url "http://127.0.0.1:$PORT_SMTP_COUNT/"
	wait_url "http://127.0.0.1:$PORT_HOOK/"
}
stop_sinks() {
	stop "$SMTP_PID"
	stop "$HOOK_PID"
}
# drain: waits until both sinks' counts have stood still for 1.5 s (the
# outbox worker polls every second when idle, and delivers without pause
# while it has work); sets DRAIN to "<seconds deliveries went on> <emails>
# <posts>".
DRAIN=
drain() {
	DRAIN=$("$TOOL" drain -url "http://127.0.0.1:$PORT_SMTP_COUNT/" -url "http://127.0.0.1:$PORT_HOOK/" -settle 1.5s -timeout 90s)
	log "  deliveries went on for ${DRAIN%% *} s; emails, webhook posts so far: ${DRAIN#* }"
}
# add_webhook port admin-token: one endpoint for every event at the HTTP sink.
add_webhook() {
	local body
	body=$(curl -sf -X POST -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		-d "{\"url\":\"http://127.0.0.1:$PORT_HOOK/hook\",\"events\":[\"*\"],\"format\":\"standard\",\"description\":\"bench sink\"}" \
		"http://127.0.0.1:$1/api/webhooks/")
	WEBHOOK_ID=$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' <<<"$body")
	[ -n "$WEBHOOK_ID" ] || { echo "no webhook: $body" >&2; return 1; }
	log "  webhook $WEBHOOK_ID: every event to http://127.0.0.1:$PORT_HOOK/hook"
}

TT_ENV=(LIST_PATH=/api/task/tasks/ STATUS_PATH=/api/task/tasks/%s/update_status/ CREATE_PATH=/api/task/tasks/)
CEIL_ENV=(LIST_PATH=/tasks STATUS_PATH=/tasks/%s/status CREATE_PATH=/tasks)

demo() { # database tasks overdue log
	TASKTRACK_DATABASE=$1 timeout 300 "$TT" demo --users 1000 --tasks "$2" --overdue "$3" \
		--bench-user bench --bench-tasks 20 --bench-password "$PASSWORD" --admin-password "$ADMIN_PASSWORD" \
		--seed 7 2>>"$4" | tee -a "$4" | sed -n '1,2p' >&2
}

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

# --- PostgreSQL ----------------------------------------------------------------------------------------
pg_up() { [ -n "$PG" ] && psql "$PG/postgres?sslmode=disable" -qc 'SELECT 1' >/dev/null 2>&1; }
pg_url() { echo "$PG/$1?sslmode=disable${PG_PARAMS:+&$PG_PARAMS}"; }
pg_create() { # database
	psql "$PG/postgres?sslmode=disable" -qc "CREATE DATABASE $1" >/dev/null
	PG_DBS+=("$1")
}
pg_drop() { # database
	psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $1" >/dev/null
}
# As the ceiling does after its seed: planner statistics and a visibility
# map, as a table in steady use has; then a checkpoint, so that writing the
# load out does not fall into later measurements.
pg_settle() { # database
	psql "$PG/$1?sslmode=disable" -qc 'VACUUM ANALYZE' >/dev/null
	psql "$PG/$1?sslmode=disable" -qc 'CHECKPOINT' >/dev/null
}

# pg_big_prepare: the PostgreSQL sweep's data set. In the background of the
# SQLite data when both run: nothing is measured then.
PG_BIG_DB=tasktrack_bench_big_$$
pg_big_prepare() {
	local t=$SECONDS
	pg_create "$PG_BIG_DB"
	demo "$(pg_url "$PG_BIG_DB")" "$PG_BIG" "$PG_OVERDUE" "$RUN/demo-pg-big.log"
	pg_settle "$PG_BIG_DB"
	echo "pg_big_prepare_s $((SECONDS - t))" >>"$METRICS"
}
pg_big_sweep() {
	log "PostgreSQL: sweep over $PG_BIG tasks, reminders $REMINDERS"
	sync
	sleep 2
	sweep sweep_pg "$(pg_url "$PG_BIG_DB")" --reminders "$REMINDERS"
	{
		echo "sweep_pg_tasks $PG_BIG"
		echo "sweep_pg_overdue $PG_OVERDUE"
		echo "sweep_pg_reminders $REMINDERS"
	} >>"$METRICS"
	pg_drop "$PG_BIG_DB"
}

# postgres_rows: list, status and create on PostgreSQL, paired with the
# ceiling on its own database of the same server, c32 and c128; and through
# PgBouncer in turns with the direct ones when BENCH_PGBOUNCER is set.
postgres_rows() {
	local db=tasktrack_bench_$$ cdb=ceiling_bench_$$ drains=() r
	pg_create "$db"
	pg_create "$cdb"
	local url ceil_url
	url=$(pg_url "$db")
	ceil_url=$(pg_url "$cdb")
	log "PostgreSQL: $SMALL tasks for the ceiling and for tasktrack"
	"$CEIL" -db "$ceil_url" -seed "$SMALL" 2>>"$RUN/ceiling.log"
	demo "$url" "$SMALL" 0 "$RUN/demo.log"
	pg_settle "$db"
	# Both run with the server's settings: neither sets synchronous_commit
	# itself; BENCH_PG_PARAMS goes to both alike.
	local sc_tt sc_ceil version
	sc_tt=$(psql "$PG/$db?sslmode=disable" -Atc 'SHOW synchronous_commit')
	sc_ceil=$(psql "$PG/$cdb?sslmode=disable" -Atc 'SHOW synchronous_commit')
	version=$(psql "$PG/postgres?sslmode=disable" -Atc 'SHOW server_version' | cut -d' ' -f1)
	echo "pg_settings PostgreSQL $version, one server, a database each; synchronous_commit $sc_tt in tasktrack's, $sc_ceil in the ceiling's; URL parameters for both: ${PG_PARAMS:-none}; pools at their defaults (tasktrack 20 connections, the ceiling 16)" >>"$METRICS"

	start_sinks pg
	start_tt pg "$PORT_PG" "$url" "${SINK_FLAGS[@]}"
	local pg_pid=$LAST_PID
	start_ceil "$ceil_url"
	local ceil_pid=$LAST_PID
	local PU="http://127.0.0.1:$PORT_PG" CU="http://127.0.0.1:$PORT_CEIL"
	local user mgr admin assignee ctoken
	user=$(login "$PORT_PG" bench)
	mgr=$(login "$PORT_PG" bench-manager)
	admin=$(login "$PORT_PG" admin "$ADMIN_PASSWORD")
	task_ids "$PORT_PG" "$user" >"$RUN/pg.ids"
	assignee=$(plain_user "$PORT_PG" "$mgr")
	ctoken=$("$CEIL" -token)
	"$CEIL" -db "$ceil_url" -ids >"$RUN/pgceil.ids"
	[ "$(wc -l <"$RUN/pg.ids")" -eq 20 ] && [ "$(wc -l <"$RUN/pgceil.ids")" -eq 20 ] || { echo "PostgreSQL: the bench users do not own 20 tasks" >&2; exit 1; }
	[ -n "$user" ] && [ -n "$mgr" ] && [ -n "$admin" ] && [ -n "$assignee" ] || { echo "PostgreSQL: no tokens or assignee" >&2; exit 1; }

	log "PostgreSQL: warm-up"
	wrk_run warm pg 0 32 2s list "$PU" TOKEN="$user" "${TT_ENV[@]}"
	wrk_run warm pgceil 0 32 2s list "$CU" TOKEN="$ctoken" "${CEIL_ENV[@]}"
	rm -f "$RUN"/raw/warm.*
	log "PostgreSQL: list and status against the PostgreSQL ceiling, c32, $ROUNDS rounds of $SHORT in turns"
	for r in $(seq 1 "$ROUNDS"); do
		wrk_run pglist pg "$r" 32 "$SHORT" list "$PU" TOKEN="$user" "${TT_ENV[@]}"
		wrk_run pglist pgceil "$r" 32 "$SHORT" list "$CU" TOKEN="$ctoken" "${CEIL_ENV[@]}"
	done
	for r in $(seq 1 "$ROUNDS"); do
		wrk_run pgstatus pg "$r" 32 "$SHORT" status "$PU" TOKEN="$user" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
		wrk_run pgstatus pgceil "$r" 32 "$SHORT" status "$CU" TOKEN="$ctoken" IDS_FILE="$RUN/pgceil.ids" "${CEIL_ENV[@]}"
	done
	log "PostgreSQL: list and status at c128, $SHORT each"
	wrk_run pglist128 pg 1 128 "$SHORT" list "$PU" TOKEN="$user" "${TT_ENV[@]}"
	wrk_run pglist128 pgceil 1 128 "$SHORT" list "$CU" TOKEN="$ctoken" "${CEIL_ENV[@]}"
	wrk_run pgstatus128 pg 1 128 "$SHORT" status "$PU" TOKEN="$user" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
	wrk_run pgstatus128 pgceil 1 128 "$SHORT" status "$CU" TOKEN="$ctoken" IDS_FILE="$RUN/pgceil.ids" "${CEIL_ENV[@]}"

	log "PostgreSQL: create with SMTP and a \"*\" webhook, c32, $ROUNDS rounds of $SHORT in turns, then c128"
	drain
	local before=${DRAIN#* }
	add_webhook "$PORT_PG" "$admin"
	local pg_hook=$WEBHOOK_ID
	for r in $(seq 1 "$ROUNDS"); do
		wrk_run pgcreate pg "$r" 32 "$SHORT" create "$PU" TOKEN="$mgr" ASSIGNEE="$assignee" "${TT_ENV[@]}"
		drain
		drains+=("${DRAIN%% *}")
		wrk_run pgcreate pgceil "$r" 32 "$SHORT" create "$CU" TOKEN="$ctoken" ASSIGNEE=2 "${CEIL_ENV[@]}"
	done
	wrk_run pgcreate128 pg 1 128 "$SHORT" create "$PU" TOKEN="$mgr" ASSIGNEE="$assignee" "${TT_ENV[@]}"
	drain
	drains+=("${DRAIN%% *}")
	wrk_run pgcreate128 pgceil 1 128 "$SHORT" create "$CU" TOKEN="$ctoken" ASSIGNEE=2 "${CEIL_ENV[@]}"
	echo "deliver_pg ${DRAIN#* } $before" >>"$METRICS"
	echo "drain_pg ${drains[*]}" >>"$METRICS"
	stop "$ceil_pid"
	# The PgBouncer rows measure the pooler alone: no webhook, email as before.
	curl -sf -X DELETE -H "Authorization: Bearer $admin" "$PU/api/webhooks/$pg_hook/" >/dev/null

	if [ -n "$PGB" ]; then
		# The same database through PgBouncer, by a second server; the
		# tokens are good on both (one JWT secret, in the database).
		start_tt pgb "$PORT_PGB" "$PGB/$db?sslmode=disable&default_query_exec_mode=cache_describe${PG_PARAMS:+&$PG_PARAMS}" "${SINK_FLAGS[@]}"
		local pgb_pid=$LAST_PID PBU="http://127.0.0.1:$PORT_PGB"
		log "PgBouncer (transaction mode) against direct: list, status, create, c32, $ROUNDS rounds of $SHORT in turns"
		wrk_run warm pgb 0 32 2s list "$PBU" TOKEN="$user" "${TT_ENV[@]}"
		rm -f "$RUN"/raw/warm.*
		for r in $(seq 1 "$ROUNDS"); do
			wrk_run pgblist pgb "$r" 32 "$SHORT" list "$PBU" TOKEN="$user" "${TT_ENV[@]}"
			wrk_run pgblist pg "$r" 32 "$SHORT" list "$PU" TOKEN="$user" "${TT_ENV[@]}"
		done
		for r in $(seq 1 "$ROUNDS"); do
			wrk_run pgbstatus pgb "$r" 32 "$SHORT" status "$PBU" TOKEN="$user" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
			wrk_run pgbstatus pg "$r" 32 "$SHORT" status "$PU" TOKEN="$user" IDS_FILE="$RUN/pg.ids" "${TT_ENV[@]}"
		done
		for r in $(seq 1 "$ROUNDS"); do
			wrk_run pgbcreate pgb "$r" 32 "$SHORT" create "$PBU" TOKEN="$mgr" ASSIGNEE="$assignee" "${TT_ENV[@]}"
			wrk_run pgbcreate pg "$r" 32 "$SHORT" create "$PU" TOKEN="$mgr" ASSIGNEE="$assignee" "${TT_ENV[@]}"
		done
		stop "$pgb_pid"
	fi
	stop "$pg_pid"
	stop_sinks
	pg_drop "$db"
	pg_drop "$cdb"
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

HAVE_PG=0
if pg_up; then HAVE_PG=1; else log "PostgreSQL skipped (BENCH_POSTGRES=${PG:-empty} does not answer)"; fi
[ "$PG_BIG" -gt 0 ] || log "PostgreSQL sweep skipped (BENCH_PG_BIG=0)"

if [ "$ONLY_PG" = 1 ]; then
	if [ "$HAVE_PG" = 1 ]; then
		postgres_rows
		if [ "$PG_BIG" -gt 0 ]; then
			log "PostgreSQL: $PG_BIG tasks for the sweep, $PG_OVERDUE of them due to be missed"
			pg_big_prepare
			pg_big_sweep
		fi
	fi
	print_table
	exit 0
fi

# --- data ----------------------------------------------------------------------
log "data: $SMALL tasks for the ceiling and for tasktrack"
"$CEIL" -db "$RUN/ceiling.db" -seed "$SMALL" 2>>"$RUN/ceiling.log"
demo "$RUN/small.db" "$SMALL" 0 "$RUN/demo.log"
PG_BIG_PID=
if [ "$HAVE_PG" = 1 ] && [ "$PG_BIG" -gt 0 ]; then
	log "data: $PG_BIG tasks in PostgreSQL for its sweep, $PG_OVERDUE of them due to be missed (alongside the next)"
	PG_DBS+=("$PG_BIG_DB") # pg_big_prepare's own addition stays in its subshell
	pg_big_prepare &
	PG_BIG_PID=$!
fi
log "data: $BIG tasks for tasktrack, $OVERDUE of them due to be missed"
demo "$RUN/big.db" "$BIG" "$OVERDUE" "$RUN/demo-big.log"
if [ -n "$PG_BIG_PID" ]; then
	wait "$PG_BIG_PID"
	log "  PostgreSQL's set ready after $(awk '/^pg_big_prepare_s/{print $2}' "$METRICS") s"
fi

# --- sweep over the large set ----------------------------------------------------
if [ "$SWEEP_OFF" = 1 ]; then
	# The same sweep without reminders, on a copy, for comparison.
	cp "$RUN/big.db" "$RUN/big-off.db"
	sync
	sleep 2
	log "sweep over $BIG tasks, reminders off"
	sweep sweep_off "$RUN/big-off.db" --reminders ''
	rm -f "$RUN"/big-off.db*
	{
		echo "sweep_off_tasks $BIG"
		echo "sweep_off_overdue $OVERDUE"
		echo "sweep_off_reminders off"
	} >>"$METRICS"
fi
# The data set was just written: let the system finish writing it out, so
# that the sweep is measured on its own rather than with that write-back.
sync
sleep 2
log "sweep over $BIG tasks, reminders $REMINDERS"
sweep sweep "$RUN/big.db" --reminders "$REMINDERS"
{
	echo "sweep_tasks $BIG"
	echo "sweep_overdue $OVERDUE"
	echo "sweep_reminders $REMINDERS"
} >>"$METRICS"

# --- startup on the large set ------------------------------------------------------
log "serve on $BIG tasks until /readyz is 200 (3 times)"
st=$("$TOOL" startup -url "http://127.0.0.1:$PORT_START/readyz" -n 3 -- \
	env TASKTRACK_DATABASE="$RUN/big.db" "$TT" serve --addr "127.0.0.1:$PORT_START" --metrics-addr '')
echo "startup_ms $st" >>"$METRICS"
echo "startup_tasks $BIG" >>"$METRICS"
log "  median and runs (ms): $st"

# --- the measured SQLite server: users, logins, tokens, ids ---------------------------
# One process serves everything measured on SQLite from here on, so that
# its peak memory (VmHWM at the end) covers the user creation and the login
# burst as well as every load.
start_sinks sqlite
PPROF=()
[ "$PROFILE" = 1 ] && PPROF=(--pprof-addr 127.0.0.1:6060)
start_tt small "$PORT_TT" "$RUN/small.db" "${PPROF[@]}" "${SINK_FLAGS[@]}"
TT_PID=$LAST_PID
TT_ADMIN=$(login "$PORT_TT" admin "$ADMIN_PASSWORD")
[ -n "$TT_ADMIN" ] || { echo "no admin token" >&2; exit 1; }
echo "rss_start_hwm_kb $(hwm "$TT_PID")" >>"$METRICS"
for phase in create login; do
	if [ "$phase" = create ]; then
		log "$NUSERS users created through the API as the admin, 8 at once"
	else
		log "$NUSERS logins of those users at once"
	fi
	ub=$("$TOOL" users -url "http://127.0.0.1:$PORT_TT" -token "$TT_ADMIN" -n "$NUSERS" -password "$PASSWORD" -do "$phase" 2>>"$RUN/users.log") || true
	echo "users_$phase ${ub:-0 0 $NUSERS}" >>"$METRICS"
	echo "rss_${phase}_hwm_kb $(hwm "$TT_PID")" >>"$METRICS"
	log "  users, ms, failed: $ub; VmHWM $(hwm "$TT_PID") kB, VmRSS $(awk '/^VmRSS/{print $2}' "/proc/$TT_PID/status") kB"
done
TT_USER=$(login "$PORT_TT" bench)
TT_MGR=$(login "$PORT_TT" bench-manager)
task_ids "$PORT_TT" "$TT_USER" >"$RUN/tt.ids"
TT_ASSIGNEE=$(plain_user "$PORT_TT" "$TT_MGR")
[ "$(wc -l <"$RUN/tt.ids")" -eq 20 ] || { echo "bench user does not own 20 tasks" >&2; exit 1; }
[ -n "$TT_USER" ] && [ -n "$TT_MGR" ] && [ -n "$TT_ASSIGNEE" ] || { echo "no tokens or assignee" >&2; exit 1; }

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
log "scale: the same lists on $BIG vs $SMALL tasks, $SCALE_ROUNDS rounds of $SHORT"
for r in $(seq 1 "$SCALE_ROUNDS"); do
	wrk_run scaleuser tt1m "$r" 32 "$SHORT" list "$BU" TOKEN="$BIG_USER" "${TT_ENV[@]}"
	wrk_run scaleuser tt10k "$r" 32 "$SHORT" list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
done
for r in $(seq 1 "$SCALE_ROUNDS"); do
	wrk_run scalemgr tt1m "$r" 32 "$SHORT" list "$BU" TOKEN="$BIG_MGR" "${TT_ENV[@]}"
	wrk_run scalemgr tt10k "$r" 32 "$SHORT" list "$TTU" TOKEN="$TT_MGR" "${TT_ENV[@]}"
done
stop "$BIG_PID"

# --- status, c32 in turns, and list and status at c128 -------------------------------------
log "status: c32, $ROUNDS rounds of $DUR"
for r in $(seq 1 "$ROUNDS"); do
	wrk_run status tt "$r" 32 "$DUR" status "$TTU" TOKEN="$TT_USER" IDS_FILE="$RUN/tt.ids" "${TT_ENV[@]}"
	wrk_run status ceil "$r" 32 "$DUR" status "$CU" TOKEN="$C_TOKEN" IDS_FILE="$RUN/ceiling.ids" "${CEIL_ENV[@]}"
done
if [ "$PROFILE" = 1 ]; then
	profile status wrk_run profstatus tt 0 32 13s status "$TTU" TOKEN="$TT_USER" IDS_FILE="$RUN/tt.ids" "${TT_ENV[@]}"
fi
log "c128: list and status, $SHORT each"
wrk_run list128 tt 1 128 "$SHORT" list "$TTU" TOKEN="$TT_USER" "${TT_ENV[@]}"
wrk_run list128 ceil 1 128 "$SHORT" list "$CU" TOKEN="$C_TOKEN" "${CEIL_ENV[@]}"
wrk_run status128 tt 1 128 "$SHORT" status "$TTU" TOKEN="$TT_USER" IDS_FILE="$RUN/tt.ids" "${TT_ENV[@]}"
wrk_run status128 ceil 1 128 "$SHORT" status "$CU" TOKEN="$C_TOKEN" IDS_FILE="$RUN/ceiling.ids" "${CEIL_ENV[@]}"

# --- create with SMTP and a "*" webhook, c32 in turns, then c128 -------------------------------
# After each tasktrack run the next waits until the sinks' counts stand
# still: the ceiling's run is not measured beside tasktrack's deliveries.
log "create with SMTP and a \"*\" webhook: c32, $ROUNDS rounds of $DUR"
drain
BEFORE=${DRAIN#* }
add_webhook "$PORT_TT" "$TT_ADMIN"
DRAINS=()
for r in $(seq 1 "$ROUNDS"); do
	wrk_run create tt "$r" 32 "$DUR" create "$TTU" TOKEN="$TT_MGR" ASSIGNEE="$TT_ASSIGNEE" "${TT_ENV[@]}"
	drain
	DRAINS+=("${DRAIN%% *}")
	wrk_run create ceil "$r" 32 "$DUR" create "$CU" TOKEN="$C_TOKEN" ASSIGNEE="$C_ASSIGNEE" "${CEIL_ENV[@]}"
done
if [ "$PROFILE" = 1 ]; then
	profile create wrk_run profcreate tt 0 32 13s create "$TTU" TOKEN="$TT_MGR" ASSIGNEE="$TT_ASSIGNEE" "${TT_ENV[@]}"
	drain
fi
log "c128: create, $SHORT"
wrk_run create128 tt 1 128 "$SHORT" create "$TTU" TOKEN="$TT_MGR" ASSIGNEE="$TT_ASSIGNEE" "${TT_ENV[@]}"
drain
DRAINS+=("${DRAIN%% *}")
wrk_run create128 ceil 1 128 "$SHORT" create "$CU" TOKEN="$C_TOKEN" ASSIGNEE="$C_ASSIGNEE" "${CEIL_ENV[@]}"
{
	echo "deliver_sqlite ${DRAIN#* } $BEFORE"
	echo "drain_sqlite ${DRAINS[*]}"
	echo "rss_peak_tt_kb $(hwm "$TT_PID")"
} >>"$METRICS"
log "SQLite server's VmHWM over the run: $(hwm "$TT_PID") kB"
stop "$TT_PID"
stop "$CEIL_PID"
stop_sinks

if [ "$HAVE_PG" = 1 ]; then
	postgres_rows
	[ "$PG_BIG" -gt 0 ] && pg_big_sweep
fi
print_table
