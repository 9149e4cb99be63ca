#!/usr/bin/env python3
"""Runs `churnlab sql`'s stage files on a real engine and compares the result with
`churnlab features`, row for row and feature for feature.

    python3 benches/sql_equal.py --engine duckdb --sql SQL_DIR --data BOOK_DIR \
        --features SNAP.parquet [--memory-limit 8GB] [--out table.parquet]

The book's tables (Parquet or CSV, as churnlab reads them) become the engine's tables
`accounts`, `contracts`, `usage`, ... ; the stage files run in order (01_usage_rollup only
when the book has raw `usage_events`); `snapshot_table` is then read back.

Equality: the same (account_id, snapshot_date) rows; text columns equal; a numeric column
whose churnlab values are all whole numbers (counts, flags, days, labels) equal exactly;
any other within 1e-9 relative (ratios, means, logs: the engines sum in another order).
Missing in one and not the other is a difference. Exit status 1 on any difference, with
the first ones printed.

Engines: duckdb (pip install duckdb), spark (pip install pyspark; Java 17; a local
SparkSession started and stopped here, session time zone UTC).
"""

import argparse
import math
import os
import sys
import time

TABLES = ["accounts", "contracts", "usage", "tickets", "nps", "contacts", "invoices", "activities"]


def table_files(data):
    found = {}
    for t in TABLES + ["usage_events"]:
        for ext in ("parquet", "csv"):
            p = os.path.join(data, f"{t}.{ext}")
            if os.path.exists(p):
                found[t] = p
                break
    return found


OPTIONAL_COLUMNS = {
    "usage": ["user_id", "minutes"],
    "tickets": ["csat", "escalated"],
    "accounts": ["industry", "region"],
    "contracts": ["plan"],
}


def without_of(data):
    """What `churnlab sql --without` should name for this folder: absent tables and
    absent optional columns."""
    files = table_files(data)
    out = [t for t in TABLES[2:] if t not in files]
    for t, cols in OPTIONAL_COLUMNS.items():
        if t not in files:
            continue
        p = files[t]
        if p.endswith(".parquet"):
            import pyarrow.parquet as pq

            have = pq.read_schema(p).names
        else:
            with open(p) as fh:
                have = fh.readline().strip().split(",")
        out += [f"{t}.{c}" for c in cols if c not in have]
    return out


def statements(text):
    """A stage file's statements: comment lines dropped, split at the `;` ending a line."""
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("--")]
    body = "\n".join(lines)
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]


def stage_files(sql_dir, raw_events):
    files = sorted(f for f in os.listdir(sql_dir) if f.endswith(".sql"))
    return [f for f in files if raw_events or not f.startswith("01_")]


def run_stages(sql_dir, raw_events, execute, on_stage=None):
    """Runs the stage files in order, each statement through `execute`; each stage's
    (file, seconds), also handed to `on_stage` as it ends."""
    timings = []
    for f in stage_files(sql_dir, raw_events):
        start = time.time()
        with open(os.path.join(sql_dir, f)) as fh:
            for s in statements(fh.read()):
                execute(s)
        timings.append((f, time.time() - start))
        if on_stage:
            on_stage(*timings[-1])
    return timings


def run_duckdb(sql_dir, data, memory_limit, threads):
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    files = table_files(data)
    for t, p in files.items():
        reader = "read_parquet" if p.endswith(".parquet") else "read_csv_auto"
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM {reader}('{p}')")
    timings = run_stages(sql_dir, "usage_events" in files, con.execute)
    return con.execute("SELECT * FROM snapshot_table").df(), timings, con


def run_spark(sql_dir, data):
    import tempfile

    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="churnlab-spark-")

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("churnlab-sql-equal")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "3g")
        .config("spark.sql.warehouse.dir", warehouse)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        files = table_files(data)
        for t, p in files.items():
            if p.endswith(".parquet"):
                df = spark.read.parquet(p)
            else:
                df = spark.read.option("header", True).option("inferSchema", True).csv(p)
            df.createOrReplaceTempView(t)
        timings = run_stages(sql_dir, "usage_events" in files, spark.sql)
        out = spark.sql("SELECT * FROM snapshot_table").toPandas()
        return out, timings
    finally:
        spark.stop()
        import shutil

        shutil.rmtree(warehouse, ignore_errors=True)


def as_float(v):
    if v is None:
        return math.nan
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def compare(ours, theirs, max_report=20):
    """Differences between churnlab's table (ours) and the engine's (theirs)."""
    import pandas as pd

    problems = []
    for df in (ours, theirs):
        df["account_id"] = df["account_id"].astype(str)
        df["snapshot_date"] = pd.to_datetime(df["snapshot_date"]).dt.strftime("%Y-%m-%d")
    key = ["account_id", "snapshot_date"]
    missing_cols = [c for c in ours.columns if c not in theirs.columns]
    if missing_cols:
        problems.append(f"columns missing from the SQL table: {missing_cols}")
    extra_cols = [c for c in theirs.columns if c not in ours.columns]
    if extra_cols:
        problems.append(f"columns only in the SQL table: {extra_cols}")
    a = ours.set_index(key)
    b = theirs.set_index(key)
    only_a = a.index.difference(b.index)
    only_b = b.index.difference(a.index)
    if len(only_a):
        problems.append(f"{len(only_a)} rows only in churnlab's table, e.g. {list(only_a[:5])}")
    if len(only_b):
        problems.append(f"{len(only_b)} rows only in the SQL table, e.g. {list(only_b[:5])}")
    both = a.index.intersection(b.index)
    a = a.loc[both]
    b = b.loc[both]
    checked = 0
    for c in ours.columns:
        if c in key or c not in b.columns:
            continue
        x, y = a[c], b[c]
        if c in ("status", "segment", "industry", "region", "plan", "churn_date", "renewal_date"):
            xs = [None if pd.isna(v) else str(v)[:10] for v in x]
            ys = [None if pd.isna(v) else str(v)[:10] for v in y]
            bad = [(i, p, q) for i, p, q in zip(both, xs, ys) if p != q]
        else:
            xf = [as_float(v) for v in x]
            yf = [as_float(v) for v in y]
            whole = all(math.isnan(v) or v == round(v) for v in xf)
            bad = []
            for i, p, q in zip(both, xf, yf):
                if math.isnan(p) and math.isnan(q):
                    continue
                if math.isnan(p) != math.isnan(q):
                    bad.append((i, p, q))
                elif whole and p != q:
                    bad.append((i, p, q))
                elif abs(p - q) > 1e-9 * max(1.0, abs(p), abs(q)):
                    bad.append((i, p, q))
        checked += 1
        if bad:
            problems.append(f"{c}: {len(bad)} of {len(both)} rows differ, e.g. {bad[:3]}")
        if len(problems) > max_report:
            break
    return problems, checked, len(both)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    ap.add_argument("--sql")
    ap.add_argument("--data", required=True)
    ap.add_argument("--print-without", action="store_true",
                    help="print the --without list for the book's folder and stop")
    ap.add_argument("--features", help="churnlab features' Parquet file to compare with")
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--threads", default=None)
    ap.add_argument("--out", help="write the SQL table here (Parquet)")
    args = ap.parse_args()
    if args.print_without:
        print(",".join(without_of(args.data)))
        return 0
    if not args.sql:
        ap.error("--sql is required")

    start = time.time()
    if args.engine == "duckdb":
        table, timings, con = run_duckdb(args.sql, args.data, args.memory_limit, args.threads)
    else:
        table, timings = run_spark(args.sql, args.data)
    for f, secs in timings:
        print(f"{args.engine}: {f} {secs:.1f} s")
    print(f"{args.engine}: snapshot_table {len(table)} rows x {table.shape[1]} columns in {time.time() - start:.1f} s")
    if args.out:
        table.to_parquet(args.out, index=False)
    if not args.features:
        return 0
    import pandas as pd

    ours = pd.read_parquet(args.features)
    problems, checked, rows = compare(ours, table)
    if problems:
        print(f"DIFFERENT ({rows} common rows, {checked} columns checked):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"EQUAL: {rows} rows, {checked} columns (whole numbers exactly, others within 1e-9 relative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
