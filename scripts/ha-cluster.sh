#!/usr/bin/env bash
# A highly available PostgreSQL on this machine's loopback ports, to run
# tasktrack on and to rehearse failovers with (README: "Running highly
# available"):
#
#   three etcd members                     127.0.0.1:BASE+1..3 (peers BASE+11..13)
#   three PostgreSQL 15 nodes, Patroni     127.0.0.1:BASE+21..23 (REST API BASE+31..33)
#     with synchronous_mode: a commit is acknowledged only once a standby has it
#   HAProxy to the current primary         127.0.0.1:BASE+40 (stats page BASE+41)
#     (health-checked through Patroni's REST API)
#   PgBouncer, transaction mode            127.0.0.1:BASE+50, in front of HAProxy
#
# BASE is $TASKTRACK_HA_PORT_BASE (15400). Everything lives under
# $TASKTRACK_HA_DIR (${TMPDIR:-/tmp}/tasktrack-ha): data, configuration, logs
# and pid files. The machine's own PostgreSQL (5432) is never touched.
#
#   bash scripts/ha-cluster.sh up            install what is missing, start what is not
#                                            running, wait until a primary and a synchronous
#                                            standby serve, print the URLs as export lines
#   bash scripts/ha-cluster.sh status        the members, their roles and lag; the URLs
#   bash scripts/ha-cluster.sh switchover    a planned switchover; waits for the new primary
#   bash scripts/ha-cluster.sh kill-primary  kill -9 of the primary's postmaster
#   bash scripts/ha-cluster.sh down          stop everything and remove the directory
#
#   eval "$(bash scripts/ha-cluster.sh up)"  # sets TASKTRACK_HA_* in this shell
#
# Run as root, the daemons run as the postgres user (PostgreSQL refuses to
# run as root); run as another user, they run as that user. The clusters'
# logins are trusted from loopback only: a rehearsal stack, not a
# production one (deploy/ holds examples for that).
set -euo pipefail

HA_DIR=${TASKTRACK_HA_DIR:-${TMPDIR:-/tmp}/tasktrack-ha}
BASE=${TASKTRACK_HA_PORT_BASE:-15400}
PG_BIN=${TASKTRACK_HA_PG_BIN:-/usr/lib/postgresql/15/bin}
SCOPE=tasktrack
NODES=(1 2 3)
HAPROXY_PORT=$((BASE + 40))
HAPROXY_STATS_PORT=$((BASE + 41))
PGBOUNCER_PORT=$((BASE + 50))
DATABASES=(tasktrack test)

etcd_client_port() { echo $((BASE + $1)); }
etcd_peer_port() { echo $((BASE + 10 + $1)); }
pg_port() { echo $((BASE + 20 + $1)); }
rest_port() { echo $((BASE + 30 + $1)); }

log() { printf 'ha-cluster: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# The daemons' user: postgres when run as root.
if [[ $(id -u) == 0 ]]; then
  RUN_USER=postgres
  AS_USER=(setpriv --reuid=postgres --regid=postgres --init-groups --)
else
  RUN_USER=$(id -un)
  AS_USER=()
fi

urls() {
  local hosts="" n
  for n in "${NODES[@]}"; do hosts+="${hosts:+,}127.0.0.1:$(pg_port "$n")"; done
  cat <<EOF
export TASKTRACK_HA_DIR='$HA_DIR'
export TASKTRACK_HA_PORT_BASE='$BASE'
export TASKTRACK_HA_MULTIHOST_URL='postgres://postgres@$hosts/tasktrack?sslmode=disable&target_session_attrs=read-write&connect_timeout=2'
export TASKTRACK_HA_HAPROXY_URL='postgres://postgres@127.0.0.1:$HAPROXY_PORT/tasktrack?sslmode=disable&connect_timeout=2'
export TASKTRACK_HA_PGBOUNCER_URL='postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/tasktrack?sslmode=disable&connect_timeout=2&default_query_exec_mode=cache_describe'
export TASKTRACK_HA_LISTEN_URL='postgres://postgres@$hosts/tasktrack?sslmode=disable&target_session_attrs=read-write&connect_timeout=2'
EOF
}

# ---- installing ----

install_missing() {
  local need=()
  [[ -x $PG_BIN/postgres ]] || need+=(postgresql-15)
  command -v patroni >/dev/null || need+=(patroni)
  # Patroni's etcd support imports the python-etcd client.
  /usr/bin/python3 -c 'import etcd' 2>/dev/null || need+=(python3-etcd)
  command -v etcd >/dev/null || need+=(etcd-server)
  command -v haproxy >/dev/null || need+=(haproxy)
  command -v pgbouncer >/dev/null || need+=(pgbouncer)
  command -v psql >/dev/null || need+=(postgresql-client-15)
  command -v curl >/dev/null || need+=(curl)
  ((${#need[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing ${need[*]}: install them (apt-get install ${need[*]}) or run as root"
  log "installing ${need[*]}"
  # The packages must not start their own daemons on the default ports:
  # a policy-rc.d that refuses every start does that, for the install only.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
  fi
  local rc=0
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  } >"${TMPDIR:-/tmp}/ha-cluster-apt.log" 2>&1 || rc=$?
  ((made_policy)) && rm -f "$policy"
  if ((rc != 0)); then
    tail -n 20 "${TMPDIR:-/tmp}/ha-cluster-apt.log" >&2
    die "apt-get install failed"
  fi
}

# ---- processes ----

pidfile() { echo "$HA_DIR/run/$1.pid"; }

# running NAME: whether the process started as NAME is alive (and is still
# that program, not a reused pid).
running() {
  local f pid
  f=$(pidfile "$1")
  [[ -r $f ]] || return 1
  pid=$(<"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$(<"$HA_DIR/run/$1.cmd")"
}

# start NAME PROGRAM ARGS...: start a daemon in its own session as the
# daemons' user, its output in log/NAME.log, unless it is running.
start() {
  local name=$1
  shift
  if running "$name"; then return 0; fi
  (
    cd "$HA_DIR"
    exec "${AS_USER[@]}" setsid "$@" >>"$HA_DIR/log/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$(pidfile "$name")"
  basename "$1" >"$HA_DIR/run/$name.cmd"
}

# stop SECONDS NAME...: TERM to each, then KILL to those still running
# after SECONDS.
stop() {
  local wait=$1 name pid pids=()
  shift
  for name in "$@"; do
    if running "$name"; then
      pid=$(<"$(pidfile "$name")")
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$(pidfile "$name")"
  done
  local alive
  for _ in $(seq 1 $((wait * 10))); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# postmaster_pid N: the pid of node N's postmaster, if it runs.
postmaster_pid() {
  local f="$HA_DIR/pg$1/data/postmaster.pid" pid
  [[ -r $f ]] || return 1
  pid=$(head -n 1 "$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]] && echo "$pid"
}

wait_for() { # SECONDS WHAT COMMAND...
  local secs=$1 what=$2
  shift 2
  for _ in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "timed out after ${secs}s waiting for $what (logs in $HA_DIR/log)"
}

# ---- configuration ----

write_configs() {
  mkdir -p "$HA_DIR"/{run,log,pgbouncer} "$HA_DIR"/etcd{1,2,3} "$HA_DIR"/pg{1,2,3}
  local etcd_hosts="" n
  for n in "${NODES[@]}"; do etcd_hosts+="${etcd_hosts:+,}127.0.0.1:$(etcd_client_port "$n")"; done
  for n in "${NODES[@]}"; do
    cat >"$HA_DIR/patroni$n.yml" <<EOF
# Node pg$n of the rehearsal cluster; see deploy/patroni.yml for the
# settings explained.
scope: $SCOPE
namespace: /service/
name: pg$n
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$(rest_port "$n")
  connect_address: 127.0.0.1:$(rest_port "$n")
etcd3:
  hosts: $etcd_hosts
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    primary_start_timeout: 0
    postgresql:
      use_pg_rewind: true
      use_slots: true
      remove_data_directory_on_rewind_failure: true
      remove_data_directory_on_diverged_timelines: true
      parameters:
        max_connections: 200
        shared_buffers: 32MB
        wal_level: replica
        wal_log_hints: 'on'
        hot_standby: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 64MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $HA_DIR/pg$n/data
  bin_dir: $PG_BIN
  pgpass: $HA_DIR/pg$n/pgpass
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: $HA_DIR/pg$n
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
  done

  {
    cat <<EOF
# The rehearsal cluster's HAProxy; see deploy/haproxy.cfg.
global
    maxconn 2000
    log stdout format short local0 notice

defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s

listen primary
    bind 127.0.0.1:$HAPROXY_PORT
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
EOF
    for n in "${NODES[@]}"; do
      echo "    server pg$n 127.0.0.1:$(pg_port "$n") maxconn 180 check port $(rest_port "$n")"
    done
    cat <<EOF

listen stats
    mode http
    bind 127.0.0.1:$HAPROXY_STATS_PORT
    stats enable
    stats uri /
EOF
  } >"$HA_DIR/haproxy.cfg"

  cat >"$HA_DIR/pgbouncer/pgbouncer.ini" <<EOF
; The rehearsal cluster's PgBouncer; see deploy/pgbouncer.ini.
[databases]
* = host=127.0.0.1 port=$HAPROXY_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir = $HA_DIR/pgbouncer
pidfile = $HA_DIR/pgbouncer/pgbouncer.pid
auth_type = trust
auth_file = $HA_DIR/pgbouncer/userlist.txt
; Logins not in auth_file are looked up in PostgreSQL as this user (the
; test suite makes a role per test).
auth_user = postgres
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
max_db_connections = 120
server_connect_timeout = 2
server_login_retry = 1
query_wait_timeout = 3
server_idle_timeout = 30
server_lifetime = 600
log_connections = 0
log_disconnections = 0
EOF
  echo '"postgres" ""' >"$HA_DIR/pgbouncer/userlist.txt"

  if [[ $RUN_USER != "$(id -un)" ]]; then
    chown -R "$RUN_USER:" "$HA_DIR"
  fi
  chmod 700 "$HA_DIR"/pg{1,2,3}
}

# ---- the cluster's state ----

# primary_node: the node whose Patroni says it is the running primary.
primary_node() {
  local n
  for n in "${NODES[@]}"; do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$(rest_port "$n")/primary" 2>/dev/null; then
      echo "$n"
      return 0
    fi
  done
  return 1
}

has_sync_standby() {
  local n
  for n in "${NODES[@]}"; do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$(rest_port "$n")/sync" 2>/dev/null && return 0
  done
  return 1
}

psql_at() { # PORT DB SQL
  PGCONNECT_TIMEOUT=2 psql -X -qAt -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3"
}

primary_via_haproxy() { [[ $(psql_at "$HAPROXY_PORT" postgres 'SELECT pg_is_in_recovery()') == f ]]; }

pgbouncer_answers() { [[ $(psql_at "$PGBOUNCER_PORT" tasktrack 'SELECT 1') == 1 ]]; }

# ---- commands ----

up() {
  install_missing
  write_configs
  local n peers=""
  for n in "${NODES[@]}"; do peers+="${peers:+,}etcd$n=http://127.0.0.1:$(etcd_peer_port "$n")"; done
  for n in "${NODES[@]}"; do
    start "etcd$n" etcd --name "etcd$n" --data-dir "$HA_DIR/etcd$n/data" \
      --listen-client-urls "http://127.0.0.1:$(etcd_client_port "$n")" \
      --advertise-client-urls "http://127.0.0.1:$(etcd_client_port "$n")" \
      --listen-peer-urls "http://127.0.0.1:$(etcd_peer_port "$n")" \
      --initial-advertise-peer-urls "http://127.0.0.1:$(etcd_peer_port "$n")" \
      --initial-cluster "$peers" --initial-cluster-token "$SCOPE-ha" --initial-cluster-state new \
      --log-level warn --logger zap
  done
  for n in "${NODES[@]}"; do
    wait_for 30 "etcd$n" curl -fsS --max-time 1 "http://127.0.0.1:$(etcd_client_port "$n")/health"
  done
  # The first node bootstraps; the others then clone it.
  start patroni1 patroni "$HA_DIR/patroni1.yml"
  wait_for 90 "a primary" primary_node
  for n in 2 3; do start "patroni$n" patroni "$HA_DIR/patroni$n.yml"; done
  start haproxy haproxy -db -f "$HA_DIR/haproxy.cfg"
  wait_for 90 "a synchronous standby" has_sync_standby
  wait_for 30 "the primary through HAProxy" primary_via_haproxy
  local db
  for db in "${DATABASES[@]}"; do
    if [[ $(psql_at "$HAPROXY_PORT" postgres "SELECT count(*) FROM pg_database WHERE datname = '$db'") == 0 ]]; then
      psql_at "$HAPROXY_PORT" postgres "CREATE DATABASE $db" >/dev/null
    fi
  done
  start pgbouncer pgbouncer "$HA_DIR/pgbouncer/pgbouncer.ini"
  wait_for 30 "PgBouncer" pgbouncer_answers
  log "up: primary pg$(primary_node), HAProxy :$HAPROXY_PORT (stats http://127.0.0.1:$HAPROXY_STATS_PORT/), PgBouncer :$PGBOUNCER_PORT"
  urls
}

down() {
  [[ -d $HA_DIR ]] || return 0
  stop 10 pgbouncer haproxy
  local n pid
  # Patroni stops its PostgreSQL when it stops; all at once, so that
  # none of them takes over from another.
  stop 30 patroni1 patroni2 patroni3
  for n in "${NODES[@]}"; do
    if pid=$(postmaster_pid "$n"); then
      # Left by a Patroni that was killed: PostgreSQL's immediate shutdown.
      kill -QUIT "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  done
  # etcd's graceful stop waits on its peers, which are stopping too; its
  # data is about to be removed.
  stop 2 etcd1 etcd2 etcd3
  rm -rf "$HA_DIR"
  log "down: stopped and removed $HA_DIR"
}

status() {
  [[ -d $HA_DIR ]] || die "not up ($HA_DIR does not exist)"
  local name
  for name in etcd1 etcd2 etcd3 patroni1 patroni2 patroni3 haproxy pgbouncer; do
    if running "$name"; then echo "$name: running (pid $(<"$(pidfile "$name")"))"; else echo "$name: not running"; fi
  done
  "${AS_USER[@]}" env HOME="$HA_DIR" patronictl -c "$HA_DIR/patroni1.yml" list || true
  urls
}

patronictl_() { "${AS_USER[@]}" env HOME="$HA_DIR" patronictl -c "$HA_DIR/patroni1.yml" "$@"; }

switchover() {
  local old new
  old=$(primary_node) || die "no primary to switch over from"
  wait_for 60 "a synchronous standby" has_sync_standby
  log "switchover from pg$old"
  patronictl_ switchover --leader "pg$old" --force >"$HA_DIR/log/switchover.log" 2>&1 ||
    die "patronictl switchover failed: $(cat "$HA_DIR/log/switchover.log")"
  new_primary_other_than() { local p; p=$(primary_node) && [[ $p != "$1" ]]; }
  wait_for 60 "a new primary" new_primary_other_than "$old"
  new=$(primary_node)
  log "switchover: pg$old -> pg$new"
  echo "pg$new"
}

kill_primary() {
  local n pid
  n=$(primary_node) || die "no primary to kill"
  pid=$(postmaster_pid "$n") || die "no postmaster for pg$n"
  kill -KILL "$pid"
  log "killed the postmaster of pg$n (pid $pid)"
  echo "pg$n"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
switchover) switchover ;;
kill-primary) kill_primary ;;
*)
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
  ;;
esac
