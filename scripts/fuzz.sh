#!/usr/bin/env bash
# Runs every native Go fuzz target of the module (each `func FuzzXxx` in a
# _test.go file) for a while each, one after the other. Exits non-zero if
# any target finds an input that fails: go test then writes that input to
# <package>/testdata/fuzz/<FuzzXxx>/<hash>, where it stays as a regression
# seed once the bug is fixed. The seed corpus alone runs in plain `go test`.
#
#   bash scripts/fuzz.sh [time]          # time per target, default 10s
#   FUZZTIME=5m bash scripts/fuzz.sh     # the same, by the environment
#   FUZZ='Login|Refresh' bash scripts/fuzz.sh 1m   # only targets matching
#
# The time is anything -fuzztime takes: a duration (30s, 5m, 1h) or a count
# of inputs (10000x). Other settings:
#   FUZZPARALLEL=N            fuzzing workers per target (default: GOMAXPROCS)
#   TASKTRACK_FUZZ_ENGINE=postgres  fuzz the HTTP targets on PostgreSQL (needs
#                             TASKTRACK_TEST_POSTGRES) instead of SQLite
#   TASKTRACK_FUZZ_OPENAPI=1  also check every answer against openapi.json
#                             while fuzzing (slower; the seeds always are)
set -euo pipefail

fuzztime=${1:-${FUZZTIME:-10s}}
filter=${FUZZ:-.}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

command -v go >/dev/null || { echo "fuzz.sh: go is required" >&2; exit 1; }

# A run that hangs must not hold CI for ever: the test timeout is the
# fuzzing time plus ten minutes when the time is a plain duration.
timeout=0
if [[ $fuzztime =~ ^([0-9]+)(s|m|h)$ ]]; then
  n=${BASH_REMATCH[1]}
  case ${BASH_REMATCH[2]} in s) secs=$n ;; m) secs=$((n * 60)) ;; h) secs=$((n * 3600)) ;; esac
  timeout="$((secs + 600))s"
fi

parallel=()
if [[ -n ${FUZZPARALLEL:-} ]]; then parallel=(-parallel "$FUZZPARALLEL"); fi

# package directory and target name, one pair a line
targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(' . |
  grep -v '^\./\.' | sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' |
  grep -E " (Fuzz)?(${filter})" | sort -u || true)
if [[ -z $targets ]]; then
  echo "fuzz.sh: no fuzz targets match ${filter}" >&2
  exit 1
fi

failed=()
count=0
start=$SECONDS
while read -r dir name; do
  count=$((count + 1))
  echo "== $name ($dir) for $fuzztime"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -timeout "$timeout" "${parallel[@]}" "$dir"; then
    failed+=("$name")
    new=$(git -C "$root" status --porcelain --untracked-files=all -- "$dir/testdata/fuzz/$name" 2>/dev/null | awk '{print $2}')
    if [[ -n $new ]]; then echo "   failing input saved: $new"; fi
  fi
done <<<"$targets"

echo
echo "fuzzed $count targets for $fuzztime each in $((SECONDS - start)) s"
if ((${#failed[@]} > 0)); then
  echo "FAILED: ${failed[*]}"
  echo "Reproduce one with: go test -run '<FuzzName>/<file name>' <package>"
  exit 1
fi
echo "no failures"
