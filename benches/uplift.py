#!/usr/bin/env python3
"""The next best play against the simulator's truth: uplift (Qini) curves, AUUC, the ARR
saved by the top k accounts by estimated effect against the oracle's top k, and the ARR
that `best_play` saves against the rule-based `suggested_play`.

A simulated book's truth (`truth/account_months.parquet`) holds, per account and month
start, the true change in the 90-day churn probability had each play been run on that
date (`effect_<play>_90d`). The truth has no row for the month after the book ends, so
run churnlab with `--as-of` on a month start inside the book:

    churnlab simulate --accounts 20000 --months 24 --seed 42 --format parquet --out /tmp/b20000
    churnlab run --data /tmp/b20000 --out /tmp/asof --models /tmp/asof-models --as-of 2026-10-01
    python3 benches/uplift.py --out /tmp/asof --truth /tmp/b20000/truth --date 2026-10-01

Benefit means fewer churns: the negative of an effect. Per play, accounts are ranked by
estimated benefit (from `play_effects.csv`); Q(k) is the true benefit summed over the
first k. AUUC is the mean of Q(k)/N over k = 1..N; a random order gives about
total/2, the oracle (ranked by true benefit) the most. The normalised Qini is
(model - random) / (oracle - random): 1 for the oracle's order, 0 for a random one.

`suggested_play` is a rule's sentence; the mapping below names the simulator's play each
rule calls for (rules with no simulated play, such as a support escalation, save 0).
Where `best_play` is empty the account follows its suggested play, as the report tells
CSMs to.
"""
import argparse
import json
import sys

import numpy as np
import pandas as pd

RULE_TO_PLAY = {
    "Executive outreach: re-establish an executive sponsor": "exec_outreach",
    "Executive business review (EBR)": "ebr",
    "CSM check-in and success plan review": "success_plan",
    "Adoption review: usage plan, training for inactive users": "training",
    "Value review before the renewal": "qbr",
    "Find and enable a new champion": "exec_outreach",
}


def auuc(order_benefit: np.ndarray) -> float:
    """Mean over k of the cumulative true benefit of the first k, per account."""
    n = len(order_benefit)
    return float(np.cumsum(order_benefit).sum() / n / n) if n else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="the run's output folder")
    ap.add_argument("--truth", required=True, help="the book's truth folder")
    ap.add_argument("--date", required=True, help="the run's --as-of (a month start)")
    ap.add_argument("--top", type=int, default=200, help="k of the top-k comparison")
    ap.add_argument("--json", help="write the figures here too")
    a = ap.parse_args()

    eff = pd.read_csv(f"{a.out}/play_effects.csv")
    scored = pd.read_csv(f"{a.out}/scored_accounts.csv")
    truth = pd.read_parquet(f"{a.truth}/account_months.parquet")
    truth["snapshot_date"] = pd.to_datetime(truth["snapshot_date"]).dt.strftime("%Y-%m-%d")
    truth = truth[truth["snapshot_date"] == a.date].set_index("account_id")
    if truth.empty:
        print(f"no truth rows at {a.date}: pass a month start inside the book", file=sys.stderr)
        return 2
    plays = sorted(eff["play"].unique())
    eff = eff[eff["account_id"].isin(truth.index)]
    result = {"date": a.date, "plays": {}, "top": a.top}
    print(f"| play | accounts | supported | normalised Qini | AUUC model | random | oracle "
          f"| ARR saved, top {a.top} by estimate | top {a.top} by truth | random {a.top} |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for p in plays:
        e = eff[eff["play"] == p].copy()
        e["true_benefit"] = -truth.loc[e["account_id"], f"effect_{p}_90d"].to_numpy()
        est = -e["estimated_effect"].to_numpy()
        tb = e["true_benefit"].to_numpy()
        arr = e["arr"].fillna(0).to_numpy()
        model = auuc(tb[np.argsort(-est, kind="stable")])
        oracle = auuc(np.sort(tb)[::-1])
        random = float(tb.mean()) / 2 * (1 + 1 / max(len(tb), 1))
        q = (model - random) / (oracle - random) if oracle > random else float("nan")
        k = min(a.top, len(tb))
        saved_est = float((tb * arr)[np.argsort(-est * arr, kind="stable")][:k].sum())
        saved_oracle = float(np.sort(tb * arr)[::-1][:k].sum())
        saved_random = float((tb * arr).mean() * k)
        result["plays"][p] = dict(
            accounts=len(tb), supported=bool(e["supported"].iloc[0]), qini=q, auuc=model,
            auuc_random=random, auuc_oracle=oracle, saved_top=saved_est,
            saved_oracle=saved_oracle, saved_random=saved_random,
            est_mean=float(est.mean()), true_mean=float(tb.mean()),
        )
        print(f"| {p} | {len(tb)} | {'yes' if e['supported'].iloc[0] else 'no'} | {q:.3f} "
              f"| {model * 100:.3f} | {random * 100:.3f} | {oracle * 100:.3f} "
              f"| {saved_est:,.0f} | {saved_oracle:,.0f} | {saved_random:,.0f} |")

    # best_play against suggested_play, account by account, on the true effects.
    s = scored[scored["account_id"].isin(truth.index) & scored["arr"].notna()].copy()
    rule = s["suggested_play"].map(RULE_TO_PLAY)
    best = s["best_play"].where(s["best_play"].notna() & (s["best_play"] != ""), rule)

    def saved(choice: pd.Series) -> float:
        total = 0.0
        for acc, play, arr in zip(s["account_id"], choice, s["arr"]):
            if isinstance(play, str) and f"effect_{play}_90d" in truth.columns:
                total += -truth.at[acc, f"effect_{play}_90d"] * arr
        return total

    oracle_best = sum(
        max(0.0, max(-truth.at[acc, f"effect_{p}_90d"] for p in plays)) * arr
        for acc, arr in zip(s["account_id"], s["arr"])
    )
    policy = dict(
        accounts=len(s),
        best_play_set=int((s["best_play"].notna() & (s["best_play"] != "")).sum()),
        rule_maps_to_a_play=int(rule.notna().sum()),
        saved_best_play=saved(best),
        saved_suggested_play=saved(rule),
        saved_oracle=oracle_best,
    )
    result["policy"] = policy
    print()
    print(f"Every account at {a.date} with ARR ({policy['accounts']}), one play each, "
          f"true ARR saved within 90 days:")
    print(f"- best_play (the rule where empty; {policy['best_play_set']} set): "
          f"{policy['saved_best_play']:,.0f}")
    print(f"- suggested_play (the rule; {policy['rule_maps_to_a_play']} map to a simulated play): "
          f"{policy['saved_suggested_play']:,.0f}")
    print(f"- oracle (each account's truly best play): {policy['saved_oracle']:,.0f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
