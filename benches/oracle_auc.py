# Expected ROC-AUC of a scored list against the simulator's oracle 90-day churn
# probability on the scoring date: each account counts as a churner with weight p and as
# a stayer with weight 1 - p (truth/account_months.parquet). The oracle's latest month
# stands in for the scoring date when the truth ends before it.
#
#   python3 benches/oracle_auc.py BOOK OUT [OUT ...]
import sys, numpy as np, pandas as pd
book, *outs = sys.argv[1:]
truth = pd.read_parquet(f"{book}/truth/account_months.parquet")
for out in outs:
    s = pd.read_csv(f"{out}/scored_accounts.csv")
    s = s[s.churn_probability.notna()]
    day = truth.snapshot_date.max()
    t = truth[truth.snapshot_date == day][["account_id", "p_churn_90d"]]
    m = s.merge(t, on="account_id")
    order = np.argsort(m.churn_probability.values, kind="mergesort")
    p = m.p_churn_90d.values[order]
    score = m.churn_probability.values[order]
    # Weighted Mann-Whitney: each churner weight times the stayer weight scored below it
    # (half of the stayer weight at the same score), over the product of the totals.
    wpos, wneg = p, 1 - p
    df = pd.DataFrame({"s": score, "wp": wpos, "wn": wneg})
    g = df.groupby("s", sort=True).agg(wp=("wp", "sum"), wn=("wn", "sum"))
    below = g.wn.cumsum() - g.wn
    auc = float((g.wp * (below + 0.5 * g.wn)).sum() / (g.wp.sum() * g.wn.sum()))
    print(f"{out}: {len(m)} accounts scored on {day.date() if hasattr(day,'date') else day}, expected AUC vs oracle {auc:.4f}, spearman {pd.Series(m.churn_probability).corr(m.p_churn_90d, method='spearman'):.4f}")
