# Sourced by the scripts that run a throwaway server. Sourcing it makes a
# temporary folder $tmp, removed at exit together with the server, if any.
tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_tasktrack BIN DIR
# ADMIN_PASSWORD [serve flags...] starts `BIN serve` on a free port (port 0:
# the kernel picks one and the server logs it), with its metrics listener on
# another, over a fresh SQLite database in DIR, waits for /readyz, and sets
# pid, log, addr and metrics_addr. On failure it prints the server's log
# and exits 1.
start_tasktrack() {
  local bin=$1 dir=$2 password=$3
  shift 3
  log=$dir/server.log
  : >"$log"
  TASKTRACK_ADMIN_PASSWORD=$password "$bin" serve \
    --addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 --database "$dir/tasktrack.db" --log-format text "$@" \
    >"$log" 2>&1 &
  pid=$!
  addr=
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$(basename "$0"): the server exited during start:" >&2
      cat "$log" >&2
      exit 1
    fi
    addr=$(sed -n 's/.*msg=serving addr=\([^ ]*\).*/\1/p' "$log" | head -n1)
    if [[ -n $addr ]] && curl -fsS -o /dev/null "http://$addr/readyz" 2>/dev/null; then
      metrics_addr=$(sed -n 's/.*msg="serving metrics" addr=\([^ ]*\).*/\1/p' "$log" | head -n1)
      return 0
    fi
    addr=
    sleep 0.1
  done
  echo "$(basename "$0"): the server did not become ready:" >&2
  cat "$log" >&2
  exit 1
}
