#!/usr/bin/env bash
# End-to-end browser tests of the web UI: Debian's Chromium driven by
# playwright-core (pinned in e2e/package-lock.json) against a real
# `tasktrack serve` that each test starts on a free port with a fresh SQLite
# database. Playwright never downloads a browser: the tests launch
# /usr/bin/chromium, installed here from Debian's packages when missing.
#
#   bash scripts/browser-tests.sh                        # run the tests
#   bash scripts/browser-tests.sh --update-screenshots   # also rewrite docs/screenshots/*.png
#
# Extra arguments go to `node --test` (for example
# --test-name-pattern='reactivates'). Failed tests leave screenshots in
# e2e/screenshots-failed/ (git-ignored).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

args=()
for arg in "$@"; do
  case $arg in
    --update-screenshots) export TASKTRACK_E2E_SCREENSHOTS=docs/screenshots ;;
    *) args+=("$arg") ;;
  esac
done

command -v node >/dev/null || { echo "browser-tests.sh: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "browser-tests.sh: npm is required" >&2; exit 1; }
command -v go >/dev/null || { echo "browser-tests.sh: go is required" >&2; exit 1; }

if [[ ! -x /usr/bin/chromium ]]; then
  echo "installing Debian's chromium"
  sudo=
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

echo "installing e2e dependencies (npm ci)"
npm ci --prefix e2e --no-audit --no-fund --loglevel=error >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building tasktrack"
go build -o "$tmp/tasktrack" ./cmd/tasktrack
export TASKTRACK_BIN=$tmp/tasktrack

rm -rf e2e/screenshots-failed
echo "running the browser tests with $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
# The files are named (not the folder) so that the same line works on Node.js
# 20, which searches a folder, and 22+, which takes patterns.
node --test ${args[@]+"${args[@]}"} e2e/*.test.mjs
