#!/usr/bin/env bash
# Whole-run scaling on simulated books: for each size, simulate a 24-month monthly-grain
# book (once), run `churnlab -v run` on it under /usr/bin/time, and print the stage
# seconds, the wall time and the peak memory. Figures for docs/performance.md.
#
#   cargo build --release --locked
#   SIZES="10000 20000 50000 100000" bash benches/scale.sh
#
# CHURNLAB_BIN (default target/release/churnlab, or $CARGO_TARGET_DIR/release/churnlab)
# and WORK (default /tmp/churnlab-scale) can be set.
set -euo pipefail
BIN=${CHURNLAB_BIN:-${CARGO_TARGET_DIR:-target}/release/churnlab}
WORK=${WORK:-/tmp/churnlab-scale}
mkdir -p "$WORK"
printf '| accounts | usage rows | load s | features s | training s | propensity s | save+score s | write s | wall s | peak GB |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in ${SIZES:-10000 20000 50000 100000}; do
  book="$WORK/b$n"
  if [ ! -d "$book" ]; then
    "$BIN" -q simulate --accounts "$n" --months 24 --seed 42 --format parquet --out "$book" >/dev/null
  fi
  log="$WORK/run$n.log"
  rm -rf "$WORK/out$n" "$WORK/models$n"
  /usr/bin/time -v "$BIN" -v run --data "$book" --out "$WORK/out$n" --models "$WORK/models$n" \
    >"$WORK/run$n.stdout" 2>"$log"
  stage=$(grep -o 'stage seconds: .*' "$log")
  num() { echo "$stage" | grep -o "$1 [0-9.]*" | head -1 | awk '{print $NF}'; }
  write=$(grep -o 'outputs written in [0-9.]*' "$log" | awk '{print $NF}')
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  peak=$(grep 'Maximum resident' "$log" | awk '{printf "%.2f", $NF/1048576}')
  usage=$(awk '$1=="usage" && $2 ~ /^usage\./ {print $3; exit}' "$WORK/run$n.stdout")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "${usage:-?}" "$(num load)" \
    "$(num features)" "$(num training)" "$(num propensity)" "$(num 'and score')" "$write" "$wall" "$peak"
done
