"""A generic per-event-type churn baseline, the kind a data team writes in its first
notebook (in the style of "Fighting Churn With Data"), kept to measure churnlab against.

    python3 benches/baseline.py --data BOOK --cut YYYY-MM-DD --out SCORES.csv

It reads the contract's `accounts`, `contracts` and `usage` tables (CSV or Parquet) as they
were known on the cut date (rows dated on or after it are ignored), and:
- takes monthly snapshots (month starts) from 90 days after the first usage row to the cut;
- an account is in snapshot t when a contract term covers t - 1;
- labels (t + 90 <= cut): 1 when a term ends in (t, t + 90] and no term starts within 30
  days after its end (known by the cut), 0 otherwise;
- features per event type (every value of `usage.feature`): the 28-day count, the 84-day
  count scaled by tenure (x 28 / min(84, tenure)), the trend ln((c28 + 1) / (c84 / 3 + 1))
  and the days since the type's last event (tenure when never); plus tenure, days to the
  end of the current term, the term's length, ARR and seats;
- models: L1 logistic regression (standardised, C = 0.1) and histogram gradient boosting
  (scikit-learn defaults), fitted on the labelled snapshots;
- scores every account in the book at the cut date.

It writes account_id, p_logistic, p_hgb. It reads no outcome after the cut. Needs pandas,
pyarrow and scikit-learn. The companion benches/compare_baseline.py runs it beside
churnlab's backtest.
"""
import argparse
import os

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read(book, name):
    for ext in ("parquet", "csv"):
        p = os.path.join(book, f"{name}.{ext}")
        if os.path.exists(p):
            return pd.read_parquet(p) if ext == "parquet" else pd.read_csv(p)
    raise SystemExit(f"{book}: no {name} table")


def day(s):
    return pd.to_datetime(s, utc=True, errors="coerce").dt.tz_localize(None).dt.normalize()


def month_starts(first, last):
    t = pd.Timestamp(first.year, first.month, 1)
    if t < first:
        t += pd.offsets.MonthBegin(1)
    out = []
    while t <= last:
        out.append(t)
        t += pd.offsets.MonthBegin(1)
    return out


def build(book, cut):
    acc = read(book, "accounts")
    con = read(book, "contracts")
    use = read(book, "usage")
    acc["created"] = day(acc["created_date"])
    con["start"] = day(con["start_date"])
    con["end"] = day(con["end_date"])
    con = con[con["start"] < cut].copy()
    use["day"] = day(use["date"])
    use = use[(use["day"] < cut) & (use["events"] > 0)].copy()
    types = sorted(use["feature"].astype(str).unique())
    use["feature"] = use["feature"].astype(str)
    first = use["day"].min() + pd.Timedelta(days=90)
    dates = month_starts(first, cut - pd.Timedelta(days=90)) + [cut]
    # Churn dates known by the cut: a term end with no start within 30 days after it.
    con = con.sort_values(["account_id", "start"])
    starts = con.groupby("account_id")["start"].apply(np.sort).to_dict()
    churn_end = []
    for r in con.itertuples():
        s = starts[r.account_id]
        later = s[(s > r.end) & (s <= r.end + pd.Timedelta(days=30))]
        resumed = ((s > r.start) & (s <= r.end + pd.Timedelta(days=30))).any()
        known = r.end + pd.Timedelta(days=30) < cut
        churn_end.append(r.end if (len(later) == 0 and not resumed and known) else pd.NaT)
    con["churn"] = churn_end
    first_start = con.groupby("account_id")["start"].min()
    churns = con[con["churn"].notna()].groupby("account_id")["churn"].apply(
        lambda c: c.to_numpy()).to_dict()
    rows = []
    for t in dates:
        live = con[(con["start"] <= t - pd.Timedelta(days=1)) & (con["end"] >= t - pd.Timedelta(days=1))]
        live = live.sort_values("start").groupby("account_id").tail(1)
        for r in live.itertuples():
            label = np.nan
            if t + pd.Timedelta(days=90) <= cut:
                ch = churns.get(r.account_id)
                label = 0.0 if ch is None else float(
                    ((ch > t) & (ch <= t + pd.Timedelta(days=90))).any())
            rows.append((r.account_id, t, label, r.end, r.start, r.arr, r.seats))
    spine = pd.DataFrame(rows, columns=["account_id", "t", "label", "end", "start", "arr", "seats"])
    spine["tenure"] = (spine["t"] - spine["account_id"].map(first_start)).dt.days.clip(lower=1)
    spine["days_to_end"] = (spine["end"] - spine["t"]).dt.days
    spine["term_days"] = (spine["end"] - spine["start"]).dt.days
    # Per type: counts in the 28 and 84 days before t, and the last day before t.
    feats = []
    u = use[["account_id", "day", "feature", "events"]]
    for t in dates:
        before = u[u["day"] < t]
        w84 = before[before["day"] >= t - pd.Timedelta(days=84)]
        w28 = w84[w84["day"] >= t - pd.Timedelta(days=28)]
        c28 = w28.pivot_table(index="account_id", columns="feature", values="events", aggfunc="sum")
        c84 = w84.pivot_table(index="account_id", columns="feature", values="events", aggfunc="sum")
        last = before.groupby(["account_id", "feature"])["day"].max().unstack()
        ids = pd.Index(spine.loc[spine["t"] == t, "account_id"].unique())
        made = {}
        for k in types:
            made[f"{k}_28"] = c28[k].reindex(ids) if k in c28 else np.nan
            made[f"{k}_84"] = c84[k].reindex(ids) if k in c84 else np.nan
            made[f"{k}_last"] = (t - last[k].reindex(ids)).dt.days if k in last else np.nan
        f = pd.DataFrame(made, index=ids)
        f["t"] = t
        feats.append(f.reset_index(names="account_id"))
    feats = pd.concat(feats, ignore_index=True)
    x = spine.merge(feats, on=["account_id", "t"], how="left")
    cols = ["tenure", "days_to_end", "term_days", "arr", "seats"]
    scale = 28.0 / np.minimum(84.0, x["tenure"])
    made = {}
    for k in types:
        c28 = x[f"{k}_28"].fillna(0.0)
        c84 = x[f"{k}_84"].fillna(0.0)
        made[f"{k}_28n"] = c28
        made[f"{k}_84s"] = c84 * scale
        made[f"{k}_trend"] = np.log((c28 + 1.0) / (c84 / 3.0 + 1.0))
        made[f"{k}_since"] = x[f"{k}_last"].fillna(x["tenure"])
    x = pd.concat([x, pd.DataFrame(made, index=x.index)], axis=1)
    cols += list(made)
    return x, cols


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--cut", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cut = pd.Timestamp(a.cut)
    x, cols = build(a.data, cut)
    train = x[x["label"].notna() & (x["t"] < cut)]
    now = x[x["t"] == cut]
    y = train["label"].to_numpy()
    logit = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                          LogisticRegression(l1_ratio=1.0, C=0.1, solver="liblinear",
                                             max_iter=1000))
    logit.fit(train[cols], y)
    hgb = HistGradientBoostingClassifier(random_state=0)
    hgb.fit(train[cols], y)
    out = pd.DataFrame({
        "account_id": now["account_id"].to_numpy(),
        "p_logistic": logit.predict_proba(now[cols])[:, 1],
        "p_hgb": hgb.predict_proba(now[cols])[:, 1],
    })
    out.to_csv(a.out, index=False)
    print(f"baseline: {len(train)} training rows ({int(y.sum())} churned), "
          f"{len(cols)} features, {len(out)} accounts scored at {a.cut}")


if __name__ == "__main__":
    main()
