#!/usr/bin/env bash
# Renders the default run's report.html in headless Chromium and fails on any console
# error, page error, failed request or network request; checks the list's CSM filter and
# sorting; writes a full-page screenshot (and a downsized top of the page with --readme).
#
#   scripts/check_report.sh [--readme] [REPORT.html]
#
# Without REPORT.html it runs `churnlab run --data data` into a temporary folder first
# (with the binary the test build made, or `cargo run --release` when there is none).
# Installs Debian's chromium and playwright-core (npm) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
readme=0
if [ "${1:-}" = "--readme" ]; then readme=1; shift; fi
report="${1:-}"

need_apt() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
    $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "$@" >/dev/null
  }
}
command -v chromium >/dev/null 2>&1 || { echo "installing chromium"; need_apt chromium; }
command -v node >/dev/null 2>&1 || { echo "installing nodejs"; need_apt nodejs npm; }
tools="${CHURNLAB_BROWSER_TOOLS:-$HOME/.cache/churnlab-browser}"
if [ ! -d "$tools/node_modules/playwright-core" ]; then
  echo "installing playwright-core into $tools"
  mkdir -p "$tools"
  (cd "$tools" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --no-audit --no-fund playwright-core@1.64 >/dev/null)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -z "$report" ]; then
  target="${CARGO_TARGET_DIR:-$HOME/.cache/churnlab-target}"
  bin="$target/debug/churnlab"
  if [ -x "$bin" ]; then
    "$bin" -q run --data data --out "$work/out" --models "$work/models"
  else
    cargo run --release --locked -q -- -q run --data data --out "$work/out" --models "$work/models"
  fi
  report="$work/out/report.html"
fi
mkdir -p target/report-check
cp "$(dirname "$0")/check_report.mjs" "$tools/check_report.mjs"
args=("$(realpath "$report")" "$PWD/target/report-check/report-full.png")
if [ "$readme" = 1 ]; then args+=("$PWD/docs/report.png"); fi
node "$tools/check_report.mjs" "${args[@]}"
echo "screenshot: target/report-check/report-full.png"
