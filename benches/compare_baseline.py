"""churnlab beside the generic per-type baseline (benches/baseline.py), backtest style: for
each book, cut at a date whose 90-day horizon has played out, train on the book as it was
then, score every account in it at the cut, and compare with what happened in the next 90
days. Both models score the same accounts and are judged on the same outcomes (the ones
churnlab's backtest resolves from the full book).

    python3 benches/compare_baseline.py --bin target/release/churnlab \
        --book NAME=DIR[@CUT] [--book ...] [--work DIR] [--markdown FILE]

CUT defaults to the first of the month at least 120 days before the book's last usage row.
Prints one line per book: accounts, churners, ROC-AUC of churnlab, of the baseline's L1
logistic and gradient boosting, and the paired bootstrap difference churnlab - best
baseline with its 95% interval (1,000 resamples of accounts, seed 0).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))


def default_cut(book):
    for ext in ("parquet", "csv"):
        p = os.path.join(book, f"usage.{ext}")
        if os.path.exists(p):
            u = pd.read_parquet(p, columns=["date"]) if ext == "parquet" else pd.read_csv(p, usecols=["date"])
            last = pd.to_datetime(u["date"], utc=True).dt.tz_localize(None).max()
            t = last - pd.Timedelta(days=120)
            return pd.Timestamp(t.year, t.month, 1).strftime("%Y-%m-%d")
    raise SystemExit(f"{book}: no usage table")


def paired(y, a, b, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    d = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        d.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
    return np.percentile(d, [2.5, 97.5])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="churnlab")
    ap.add_argument("--book", action="append", required=True)
    ap.add_argument("--work", default="baseline-work")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    lines = ["| book | cut | accounts | churned | churnlab | baseline L1 logistic | baseline HGB | churnlab - best baseline [95% CI] |",
             "|---|---|---|---|---|---|---|---|"]
    for spec in a.book:
        name, rest = spec.split("=", 1)
        book, _, cut = rest.partition("@")
        cut = cut or default_cut(book)
        out = os.path.join(a.work, name)
        subprocess.run([a.bin, "backtest", "--data", book, "--at", cut, "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        ours = pd.read_csv(os.path.join(out, "backtest_scores.csv"))
        ours = ours[ours["churned"].notna()]
        scores = os.path.join(a.work, f"{name}_baseline.csv")
        subprocess.run([sys.executable, os.path.join(HERE, "baseline.py"), "--data", book,
                        "--cut", cut, "--out", scores], check=True)
        base = pd.read_csv(scores)
        m = ours.merge(base, on="account_id", how="left")
        # An account the baseline's spine left out gets its base rate.
        for c in ("p_logistic", "p_hgb"):
            m[c] = m[c].fillna(m[c].mean())
        y = m["churned"].astype(float).to_numpy()
        auc = {c: roc_auc_score(y, m[c]) for c in ("churn_probability", "p_logistic", "p_hgb")}
        best = max(("p_logistic", "p_hgb"), key=lambda c: auc[c])
        lo, hi = paired(y, m["churn_probability"].to_numpy(), m[best].to_numpy())
        diff = auc["churn_probability"] - auc[best]
        line = (f"| {name} | {cut} | {len(m)} | {int(y.sum())} | {auc['churn_probability']:.3f} | "
                f"{auc['p_logistic']:.3f} | {auc['p_hgb']:.3f} | {diff:+.3f} [{lo:+.3f}, {hi:+.3f}] |")
        print(line, flush=True)
        lines.append(line)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
