"""Fit time of every churnlab model family next to scikit-learn and LightGBM on the same
design matrix, in one run.

    python3 benches/compare_fit.py --table SNAPSHOTS.parquet [--bin PATH] [--work DIR]

SNAPSHOTS is a snapshot table written by `churnlab features` (label column `label`). The
script runs `churnlab bench-fit`, which builds churnlab's design matrix (median
imputation, missing flags, arcsinh, standardisation, one-hot), fits each family once with
fixed settings, times it, and exports the matrix; then it fits the same matrix with the
same settings in scikit-learn and LightGBM and prints the ratios. Python here is a
benchmark tool only; churnlab does not depend on it. Needs pandas, pyarrow, scikit-learn
and lightgbm.
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

NOT_FEATURES = "snapshot_date,label_next_renewal,churn_date,renewal_date"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True)
    ap.add_argument("--bin", default=os.environ.get("CHURNLAB_BIN", "churnlab"))
    ap.add_argument("--work", default="bench-work")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    matrix = os.path.join(a.work, "design.parquet")
    timings = os.path.join(a.work, "churnlab_fit.json")
    subprocess.run([a.bin, "bench-fit", "--table", a.table, "--label", "label",
                    "--id", "account_id", "--exclude", NOT_FEATURES,
                    "--matrix", matrix, "--json", timings], check=True)
    ours = json.load(open(timings))
    df = pd.read_parquet(matrix)
    y = df.pop("label").to_numpy()
    x = df.to_numpy()
    n, threads = len(y), ours["threads"]
    print(f"\n{n} rows x {x.shape[1]} columns, {threads} threads; churnlab prep {ours['prep_seconds']:.1f}s")
    p = {f["family"]: f["params"] for f in ours["fits"]}
    l2 = p["logistic"]["l2"]
    gb = p["gradient_boosting"]
    others = {
        "logistic": [("sklearn LogisticRegression(lbfgs)",
                      LogisticRegression(C=1.0 / (l2 * n), max_iter=1000, tol=1e-6))],
        "decision_tree": [("sklearn DecisionTreeClassifier",
                           DecisionTreeClassifier(max_depth=p["decision_tree"]["max_depth"],
                                                  min_samples_leaf=int(p["decision_tree"]["min_leaf"])))],
        "random_forest": [("sklearn RandomForestClassifier",
                           RandomForestClassifier(n_estimators=p["random_forest"]["trees"],
                                                  max_depth=p["random_forest"]["max_depth"],
                                                  min_samples_leaf=int(p["random_forest"]["min_leaf"]),
                                                  max_features="sqrt", n_jobs=threads, random_state=0))],
        "gradient_boosting": [
            ("sklearn HistGradientBoosting",
             HistGradientBoostingClassifier(max_iter=gb["max_trees"], max_depth=gb["max_depth"],
                                            max_leaf_nodes=2 ** gb["max_depth"],
                                            learning_rate=gb["learning_rate"], l2_regularization=gb["lambda"],
                                            min_samples_leaf=int(gb["min_leaf"]), early_stopping=False)),
        ],
    }
    try:
        import lightgbm as lgb
        others["gradient_boosting"].append(
            ("LightGBM", lgb.LGBMClassifier(n_estimators=gb["max_trees"], max_depth=gb["max_depth"],
                                            num_leaves=2 ** gb["max_depth"], learning_rate=gb["learning_rate"],
                                            reg_lambda=gb["lambda"], min_child_samples=int(gb["min_leaf"]),
                                            n_jobs=threads, verbose=-1)))
    except ImportError:
        print("(lightgbm not installed: skipped)")
    print(f"\n{'family':<18} {'churnlab s':>10} {'train AUC':>9}   {'other':<34} {'other s':>8} {'train AUC':>9} {'churnlab/other':>14}")
    for f in ours["fits"]:
        fam = f["family"]
        for name, model in others.get(fam, []):
            t = time.perf_counter()
            model.fit(x, y)
            secs = time.perf_counter() - t
            auc = roc_auc_score(y, model.predict_proba(x)[:, 1])
            print(f"{fam:<18} {f['seconds']:>10.1f} {f['train_roc_auc']:>9.4f}   {name:<34} {secs:>8.1f} {auc:>9.4f} {f['seconds'] / secs:>14.2f}")


if __name__ == "__main__":
    main()
