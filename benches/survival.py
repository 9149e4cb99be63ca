#!/usr/bin/env python3
"""churnlab's account-month hazard beside two survival anchors, on the same accounts and
the same split: lifelines' Cox model and scikit-survival's random survival forest.

    python3 benches/survival.py --bin target/release/churnlab BOOK [BOOK ...] [--md OUT.md]

For each book:
1. `churnlab features` (the snapshot table) and `churnlab hazard --out` (the cut, and each
   test account's outcome and P(churn within 1..12 months) in hazard_test.csv);
2. the anchors are fitted on the same fit snapshots (every snapshot before the cut, each
   account's time to churn in months, censored at the cut) on the snapshot's numeric
   features (missing values at the fit median, standardised), and predict the test
   accounts (the snapshot at the cut) at months 1..12;
3. every model's predictions, churnlab's included, are scored here with scikit-survival:
   cumulative/dynamic ROC-AUC at 3, 6 and 12 months, Uno's concordance of P(churn within
   12 months), the integrated Brier score over months 1..12. churnlab's own figures
   (hazard.json) must agree with scikit-survival's on its predictions: the script checks.

Months: month k after a snapshot date t is [t + k-1 months, t + k months); a churn before
t (a lapsed account) falls in month 1, as in src/hazard/mod.rs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HORIZONS = [3, 6, 12]
MONTHS = list(range(1, 13))


def months_between(a, b):
    """Whole months from month start a to date b's month (b's month minus a's)."""
    return (b.dt.year - a.dt.year) * 12 + (b.dt.month - a.dt.month)


def churnlab(binary, *args):
    subprocess.run([binary, "-q", *args], check=True)


def metrics(y_train, y_test, within):
    """sksurv's metrics for P(churn within m months), `within[:, m-1]`."""
    from sksurv.metrics import (concordance_index_ipcw, cumulative_dynamic_auc,
                                integrated_brier_score)
    at = np.column_stack([within[:, h - 1] for h in HORIZONS])
    auc, mean_auc = cumulative_dynamic_auc(y_train, y_test, at, np.array(HORIZONS, float))
    c = concordance_index_ipcw(y_train, y_test, within[:, 11])[0]
    ibs = integrated_brier_score(y_train, y_test, 1 - within, np.array(MONTHS, float))
    return {"auc": list(map(float, auc)), "mean_auc": float(mean_auc), "uno_c": float(c),
            "ibs": float(ibs)}


def design(fit, test):
    skip = {"label", "label_next_renewal", "event", "time"}
    cols = [c for c in fit.columns
            if c not in skip and pd.api.types.is_numeric_dtype(fit[c])]
    med = fit[cols].median()
    xf, xt = fit[cols].fillna(med), test[cols].fillna(med)
    sd = xf.std()
    keep = [c for c in cols if sd[c] > 1e-9]
    mu = xf[keep].mean()
    return ((xf[keep] - mu) / sd[keep]).to_numpy(), ((xt[keep] - mu) / sd[keep]).to_numpy(), keep


def one_book(binary, book, work, seed):
    from sksurv.util import Surv
    snap = os.path.join(work, "snap")
    churnlab(binary, "features", "--data", book, "--out", snap)
    hz = os.path.join(work, "hazard")
    start = time.time()
    churnlab(binary, "hazard", "--data", book, "--out", hz)
    churnlab_secs = time.time() - start
    with open(os.path.join(hz, "hazard.json")) as fh:
        own = json.load(fh)
    cut = pd.Timestamp(own["cut"])
    test = pd.read_csv(os.path.join(hz, "hazard_test.csv"), dtype={"account_id": str})
    df = pd.read_parquet(snap + ".parquet")
    df["snapshot_date"] = pd.to_datetime(df["snapshot_date"])
    df["churn_date"] = pd.to_datetime(df["churn_date"])
    fit = df[df["snapshot_date"] < cut].copy()
    observed = months_between(fit["snapshot_date"], pd.Series(cut, index=fit.index))
    k = months_between(fit["snapshot_date"], fit["churn_date"]).add(1).clip(lower=1)
    fit["event"] = fit["churn_date"].notna() & (k <= observed)
    fit["time"] = np.where(fit["event"], k, observed).astype(float)
    at_cut = df[df["snapshot_date"] == cut].set_index("account_id").loc[test["account_id"]]
    xf, xt, cols = design(fit, at_cut.reset_index())
    y_fit = Surv.from_arrays(fit["event"].to_numpy(), fit["time"].to_numpy())
    y_test = Surv.from_arrays(test["event"].astype(bool).to_numpy(), test["time"].to_numpy())
    within_own = test[[f"p_churn_{m}m" for m in MONTHS]].to_numpy()
    rows = {"churnlab hazard": (metrics(y_test, y_test, within_own), churnlab_secs)}
    check = rows["churnlab hazard"][0]
    for a, b, what in [(check["uno_c"], own["uno_c"], "Uno's C"),
                       (check["ibs"], own["integrated_brier"], "integrated Brier"),
                       (check["mean_auc"], own["mean_auc"], "mean AUC")]:
        if abs(a - b) > 1e-9:
            sys.exit(f"{book}: {what}: scikit-survival {a} vs churnlab {b}")

    # The list's outlook (the direct 90-day model for the first three months, the hazard
    # after them), as churnlab scored it: its metrics are churnlab's own, from the same
    # implementation checked just above.
    if own.get("spliced"):
        sp = own["spliced"]
        rows["churnlab list outlook (90-day model + hazard)"] = (
            {"auc": sp["auc"], "mean_auc": sp["mean_auc"], "uno_c": sp["uno_c"],
             "ibs": sp["integrated_brier"]}, churnlab_secs)

    from lifelines import CoxPHFitter
    start = time.time()
    frame = pd.DataFrame(xf, columns=[f"x{j}" for j in range(xf.shape[1])])
    frame["time"], frame["event"] = fit["time"].to_numpy(), fit["event"].to_numpy()
    cox = CoxPHFitter(penalizer=0.1)
    cox.fit(frame, duration_col="time", event_col="event")
    s = cox.predict_survival_function(
        pd.DataFrame(xt, columns=[f"x{j}" for j in range(xt.shape[1])]), times=MONTHS)
    rows["lifelines Cox (penalizer 0.1)"] = (
        metrics(y_test, y_test, 1 - s.to_numpy().T), time.time() - start)

    from sksurv.ensemble import RandomSurvivalForest
    start = time.time()
    rsf = RandomSurvivalForest(n_estimators=100, min_samples_leaf=20, max_features="sqrt",
                               n_jobs=2, random_state=seed)
    rsf.fit(xf, y_fit)
    surv = rsf.predict_survival_function(xt, return_array=True)
    times = rsf.unique_times_
    idx = np.searchsorted(times, MONTHS, side="right") - 1
    s = np.where(idx >= 0, surv[:, np.clip(idx, 0, None)], 1.0)
    rows["scikit-survival RSF (100 trees, leaf 20)"] = (
        metrics(y_test, y_test, 1 - s), time.time() - start)
    info = {"book": book, "cut": own["cut"], "fit_snapshots": int(len(fit)),
            "test_accounts": int(len(test)), "churned_12m": int(test["event"].sum()),
            "features": len(cols)}
    return info, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="a churnlab binary (release)")
    ap.add_argument("--md", help="also write the table as Markdown here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("books", nargs="+")
    args = ap.parse_args()
    lines = ["| book | model | AUC 3 m | AUC 6 m | AUC 12 m | Uno's C | IBS (1-12 m) | fit s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for book in args.books:
        with tempfile.TemporaryDirectory() as work:
            info, rows = one_book(os.path.abspath(args.bin), book, work, args.seed)
        print(f"{book}: cut {info['cut']}, {info['fit_snapshots']} fit snapshots, "
              f"{info['test_accounts']} test accounts ({info['churned_12m']} churned within "
              f"12 months), {info['features']} features", flush=True)
        for name, (m, secs) in rows.items():
            a = m["auc"]
            line = (f"| {os.path.basename(os.path.normpath(book))} | {name} | {a[0]:.4f} | "
                    f"{a[1]:.4f} | {a[2]:.4f} | {m['uno_c']:.4f} | {m['ibs']:.4f} | "
                    f"{secs:.1f} |")
            print(line, flush=True)
            lines.append(line)
    if args.md:
        with open(args.md, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
