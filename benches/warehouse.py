#!/usr/bin/env python3
"""The warehouse half of the "past one machine" loop, on DuckDB out of core: runs
`churnlab sql`'s stage files on a book's tables and exports, as Parquet,

- `train.parquet`: every snapshot of a sample of accounts (a hash of account_id, so an
  account's snapshots stay together), for `churnlab train --table`;
- `score.parquet`: every account of the latest snapshot date, for `churnlab score --table`.

    python3 benches/warehouse.py --sql SQL_DIR --data BOOK_DIR --out DIR \
        [--memory-limit 8GB] [--threads 2] [--sample-accounts 100000]

Prints each stage's wall time and the rows exported. DuckDB spills to DIR/duckdb.tmp
when a stage needs more than the memory limit. Peak memory: run it under
`/usr/bin/time -v` (benches/million.sh does).
"""

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sql_equal import run_stages, table_files  # noqa: E402


def peak_gb():
    """This process's peak resident memory so far (DuckDB runs in it), in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sql", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--memory-limit", default="8GB")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--sample-accounts", type=int, default=100_000,
                    help="about this many accounts' snapshots go to train.parquet")
    ap.add_argument("--account-share", type=int, default=1,
                    help="keep one account in N of every table (hash of account_id): a "
                         "smaller book drawn from a large one")
    args = ap.parse_args()

    import duckdb

    os.makedirs(args.out, exist_ok=True)
    db = os.path.join(args.out, "warehouse.duckdb")
    if os.path.exists(db):
        os.remove(db)
    con = duckdb.connect(db)
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute(f"SET threads = {int(args.threads)}")
    con.execute(f"SET temp_directory = '{os.path.join(args.out, 'duckdb.tmp')}'")
    con.execute("SET preserve_insertion_order = false")
    files = table_files(args.data)
    for t, p in files.items():
        reader = "read_parquet" if p.endswith(".parquet") else "read_csv_auto"
        keep = (f" WHERE hash(account_id) % {args.account_share} = 0"
                if args.account_share > 1 else "")
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM {reader}('{p}'){keep}")
    total = time.time()
    run_stages(args.sql, "usage_events" in files, con.execute,
               lambda f, secs: print(f"duckdb: {f} {secs:.1f} s, peak so far {peak_gb():.2f} GB",
                                     flush=True))
    rows, accounts = con.execute(
        "SELECT COUNT(*), COUNT(DISTINCT account_id) FROM snapshot_table"
    ).fetchone()
    print(f"duckdb: snapshot_table {rows} rows, {accounts} accounts", flush=True)

    start = time.time()
    modulus = max(1, round(accounts / max(1, args.sample_accounts)))
    train = os.path.join(args.out, "train.parquet")
    con.execute(
        f"COPY (SELECT * FROM snapshot_table WHERE hash(account_id) % {modulus} = 0) "
        f"TO '{train}' (FORMAT parquet)"
    )
    score = os.path.join(args.out, "score.parquet")
    con.execute(
        "COPY (SELECT * FROM snapshot_table WHERE snapshot_date = "
        "(SELECT MAX(snapshot_date) FROM snapshot_table)) "
        f"TO '{score}' (FORMAT parquet)"
    )
    n_train = con.execute(f"SELECT COUNT(*) FROM read_parquet('{train}')").fetchone()[0]
    n_score = con.execute(f"SELECT COUNT(*) FROM read_parquet('{score}')").fetchone()[0]
    print(f"duckdb: exported {n_train} training rows (1 account in {modulus}) and "
          f"{n_score} rows to score in {time.time() - start:.1f} s, peak {peak_gb():.2f} GB",
          flush=True)
    print(f"duckdb: total {time.time() - total:.1f} s")
    con.close()
    os.remove(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
