#!/usr/bin/env bash
# Executes every notebook in notebooks/ top to bottom with `jupyter nbconvert --execute`
# against a fresh run (and backtest) of the default data. Not part of CI (it takes a few
# minutes and Python's scientific stack); run it after changing an output file's shape.
#
#   scripts/check_notebooks.sh [OUT]   # OUT: an existing run folder to use instead
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r notebooks/requirements.txt
target="${CARGO_TARGET_DIR:-$HOME/.cache/churnlab-target}"
bin="$target/debug/churnlab"
[ -x "$bin" ] || bin="cargo run --release --locked -q --"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${1:-}"
if [ -z "$out" ]; then
  out="$work/out"
  $bin -q run --data data --out "$out" --models "$work/models"
fi
if [ ! -f "$out/backtest.csv" ]; then
  $bin -q backtest --data data --out "$work/backtest"
  export CHURNLAB_BACKTEST="$work/backtest"
fi
export CHURNLAB_OUT="$(realpath "$out")"
for nb in notebooks/*.ipynb; do
  echo "== $nb"
  jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
    --output-dir "$work/executed" "$nb" >/dev/null
done
echo "all notebooks executed"
