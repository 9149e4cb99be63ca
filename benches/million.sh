#!/usr/bin/env bash
# The loop of README "Past one machine" on a simulated book of ACCOUNTS accounts, each step
# timed (wall, peak resident memory): the figures of docs/performance.md ("One million
# accounts"). Use a release binary.
#
#   bash benches/million.sh BIN WORK [ACCOUNTS] [GRAIN] [SHARE]
#
# 1. simulate the book (Parquet, usage rows at GRAIN, default monthly);
# 2. the per-type event types: `churnlab features` on a 5,000-account book of the same
#    simulator (what a team does on a sample before the warehouse run);
# 3. `churnlab sql --dialect duckdb` for those types at GRAIN;
# 4. benches/warehouse.py: the stages in DuckDB, on disk, 8 GB memory limit (on one
#    account in SHARE of the book, default every account), then
#    train.parquet (every snapshot of about 40,000 accounts: about train::FINAL_ROWS
#    labelled rows, the size the final refits use) and score.parquet (latest snapshot);
# 5. `churnlab train --table train.parquet --label label` (out of time on snapshot_date);
# 6. `churnlab score --table score.parquet`: every account scored and explained, the
#    list, drivers, forecast, report.html and at_risk.xlsx.
# Times go to WORK/times.txt; each step's log to WORK/<step>.log.
set -euo pipefail
bin=$(realpath "$1")
work=$2
accounts=${3:-1000000}
grain=${4:-monthly}
share=${5:-1}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
work=$(realpath "$work")

timed() { # timed NAME CMD...: runs CMD with its output in WORK/NAME.log
  local name=$1
  shift
  /usr/bin/time -f "$name: %e s wall, %M KB peak" -a -o "$work/times.txt" "$@" \
    >"$work/$name.log" 2>&1
  tail -1 "$work/times.txt"
}

if [ ! -d "$work/book" ]; then
  timed simulate "$bin" simulate --accounts "$accounts" --months 24 --seed 42 \
    --grain "$grain" --format parquet --out "$work/book"
fi
if [ ! -f "$work/sample/snap.csv" ]; then
  "$bin" -q simulate --accounts 5000 --months 24 --seed 7 --grain "$grain" \
    --format parquet --out "$work/sample"
  "$bin" -q features --data "$work/sample" --out "$work/sample/snap"
fi
types=$(head -1 "$work/sample/snap.csv" | tr , '\n' |
  sed -n 's/^usage\[\(.*\)\]\..*/\1/p' | awk '!seen[$0]++' | paste -sd, -)
echo "event types: $types"
rm -rf "$work/sql" "$work/wh" "$work/models" "$work/scored"
"$bin" -q sql --dialect duckdb --types "$types" --usage-grain "$grain" --out "$work/sql"
timed warehouse python3 "$here/warehouse.py" --sql "$work/sql" --data "$work/book" \
  --out "$work/wh" --memory-limit 8GB --threads 2 --sample-accounts 40000 \
  --account-share "$share"
timed train "$bin" -v train --table "$work/wh/train.parquet" --label label \
  --models "$work/models"
model=$(ls -d "$work"/models/*/ | tail -1)
timed score "$bin" -v score --model "$model" --table "$work/wh/score.parquet" \
  --out "$work/scored"
cat "$work/times.txt"
