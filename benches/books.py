"""A second book generator, structurally unlike `churnlab simulate`, for books churnlab was
not designed for. It writes the data contract's tables (accounts, contracts, usage, and
tickets where the kind has them) plus `truth/accounts.csv` (each account's churn date and
mean latent risk) and `truth/account_months.csv` (at each month start, the latent risk and
the oracle probability that a term end in the next 90 days is a churn), in CSV.

    python3 benches/books.py --kind one-type|self-serve|many-types|ratio --out DIR
                             [--accounts N] [--seed S]

Kinds:
- one-type: churn is driven by the rate of one "negative" event type (`error_shown`) while
  the account's total volume of events does not change: a latent frustration moves events
  from the other seven types to that one. Weekly rows. Annual and monthly terms.
- self-serve: monthly plans, one user per account, a monthly churn hazard that falls with
  tenure and rises with a latent disengagement that thins out the core events; few
  tickets, no contacts. Daily rows.
- many-types: 30 event types with Zipf-like popularity, two of them relevant (`api_error`
  raises churn, `workflow_run` lowers it) and used by a minority of accounts; the other 28
  are noise. Monthly rows. Annual terms.
- ratio: churn is driven by the balance of two reaction types (`thumbs_down` against
  `thumbs_up`), while how much an account reacts at all varies tenfold between accounts
  and does not move with risk. Neither type's count nor its share of events carries the
  risk alone; their ratio does. Weekly rows. Annual and monthly terms.

Nothing here is shared with the Rust simulator: other vocabularies, grains, term mixes and
mechanisms. The hazard is a function of the latent state only, so the truth is known.
Needs numpy and pandas.
"""
import argparse
import os
from datetime import date, timedelta

import numpy as np
import pandas as pd

START = date(2024, 1, 1)
MONTHS = 27


def add_months(d, m):
    y, mo = divmod(d.month - 1 + m, 12)
    return date(d.year + y, mo + 1, 1)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Kind:
    """What differs between kinds: vocabulary, grain, terms and the hazard."""

    def __init__(self, name):
        self.name = name
        if name == "one-type":
            self.types = ["page_view", "search", "comment", "upload", "share",
                          "download", "edit", "error_shown"]
            self.weights = np.array([30, 14, 8, 6, 4, 5, 12, 2], float)
            self.grain_days = 7
            self.monthly_share = 0.3
            self.users = (2, 40)
        elif name == "self-serve":
            self.types = ["login", "create_doc", "edit_doc", "share_doc", "export", "invite"]
            self.weights = np.array([10, 3, 8, 1.5, 1, 0.3], float)
            self.grain_days = 1
            self.monthly_share = 1.0
            self.users = (1, 1)
        elif name == "many-types":
            self.types = [f"evt_{k:02d}" for k in range(28)] + ["api_error", "workflow_run"]
            w = 60.0 / np.arange(1, 29) ** 0.9
            self.weights = np.concatenate([w, [0.0, 0.0]])
            self.grain_days = 30
            self.monthly_share = 0.0
            self.users = (3, 60)
        elif name == "ratio":
            self.types = ["page_view", "search", "comment", "share", "thumbs_up",
                          "thumbs_down"]
            self.weights = np.array([30, 12, 6, 4, 0, 0], float)
            self.grain_days = 7
            self.monthly_share = 0.3
            self.users = (2, 40)
        else:
            raise SystemExit(f"unknown kind {name}")


def renewal_log_odds(kind, risk, monthly, tenure_m, relevant):
    """The truth: log-odds of churning at a term end, given the latent risk then."""
    if kind == "self-serve":
        return -2.3 - 0.12 * min(tenure_m, 24) + 1.3 * risk
    if kind in ("one-type", "ratio"):
        return (-3.3 if monthly else -1.3) + 1.5 * risk
    return -1.4 + 1.0 * (risk if relevant else 0.5 * risk)


def simulate(kind, n, seed, out):
    rng = np.random.default_rng(seed)
    k = Kind(kind)
    end = add_months(START, MONTHS)
    days = (end - START).days
    acc, con, use, tic, truth, months = [], [], [], [], [], []
    T = len(k.types)
    for a in range(n):
        aid = f"C{a:05d}"
        # A third are customers before the data starts; the rest sign during it.
        if rng.random() < 0.35:
            created = START - timedelta(days=int(rng.integers(30, 700)))
        else:
            created = START + timedelta(days=int(rng.integers(0, days - 120)))
        seg = rng.choice(["smb", "mid_market", "enterprise"], p=[0.6, 0.3, 0.1])
        monthly = rng.random() < k.monthly_share
        term = 1 if monthly else 12
        lo, hi = k.users
        users = int(rng.integers(lo, hi + 1)) if hi > lo else 1
        seats = users if kind == "self-serve" else int(users * rng.uniform(1.0, 1.6))
        price = {"smb": 300, "mid_market": 600, "enterprise": 900}[seg]
        arr = round(seats * price * rng.uniform(0.8, 1.2), 2)
        # Events a day, all types (one user of a self-serve plan does a few).
        volume = users * rng.lognormal(0.2 if kind == "self-serve" else 2.5, 0.5)
        pref = rng.dirichlet(np.ones(T) * 5) * T  # the account's taste for each type
        # Latent risk: an AR(1) by day-block, with occasional shocks.
        x = rng.normal(0, 0.7)
        # Per kind, which accounts use the relevant rare types at all.
        uses_api = rng.random() < 0.35
        uses_wf = rng.random() < 0.3
        # How much an account reacts at all (ratio kind): tenfold between accounts.
        reacts = rng.lognormal(-1.6, 0.8)
        # Contracts and latent path, one grain period at a time.
        t = max(created, START - timedelta(days=400))
        term_start = created
        term_end = add_months(date(created.year, created.month, 1), term) - timedelta(days=1)
        if term_end < created:
            term_end = created + timedelta(days=27)
        acc.append((aid, f"Company {a}", seg, created.isoformat()))
        churn = None
        cid = 0
        tenure0 = created
        d = max(created, START)
        # Walk days before the data start quickly: only terms matter there.
        while term_end < START:
            con.append((aid, f"{aid}-{cid}", term_start.isoformat(), term_end.isoformat(),
                        arr, seats, "monthly" if monthly else "annual"))
            cid += 1
            term_start = term_end + timedelta(days=1)
            term_end = add_months(term_start, term) - timedelta(days=1)
        xs = []
        next_month = add_months(date(d.year, d.month, 1), 1) if d.day > 1 else d
        while d < end and churn is None:
            # The oracle at each month start: the chance that a term end in the next 90
            # days is a churn, at today's latent risk.
            while next_month <= d and next_month < end:
                p_stay, e = 1.0, term_end
                while e <= next_month + timedelta(days=90):
                    if e > next_month:
                        z = renewal_log_odds(kind, x, monthly, (e - tenure0).days / 30.4,
                                             uses_api or uses_wf)
                        p_stay *= 1.0 - sigmoid(z)
                    e = add_months(e + timedelta(days=1), term) - timedelta(days=1)
                months.append((aid, next_month.isoformat(), float(x), 1.0 - p_stay))
                next_month = add_months(next_month, 1)
            period_end = min(d + timedelta(days=k.grain_days), end)
            span = (period_end - d).days
            # Latent step.
            x = 0.97 * x + rng.normal(0, 0.18 * np.sqrt(span / 7))
            if rng.random() < 0.01 * span / 7:
                x += rng.uniform(0.8, 1.6)
            xs.append(x)
            w = k.weights * pref
            if kind == "one-type":
                neg = 0.03 + 0.35 * sigmoid(2.2 * x - 2.0)
                w = w / w[:-1].sum() * (1 - neg)
                w[-1] = neg
                lam = volume * span * w
            elif kind == "self-serve":
                engaged = np.exp(-0.9 * max(x, -1.0))
                w = w / w.sum()
                lam = volume * span * w * engaged
                if rng.random() < 0.01 * span:
                    tic.append((aid, f"T{len(tic):06d}", d.isoformat(),
                                (d + timedelta(days=int(rng.integers(0, 5)))).isoformat(),
                                rng.choice(["low", "normal", "high"])))
            elif kind == "ratio":
                w = w / w.sum()
                down = 0.1 + 0.6 * sigmoid(1.8 * x - 1.0)
                w[-2] = reacts * (1 - down)
                w[-1] = reacts * down
                lam = volume * span * w / (1 + reacts)
            else:
                w = w / w.sum()
                lam = volume * span * w * 0.5
                lam[-2] = volume * span * 0.02 * np.exp(1.3 * x) if uses_api else 0.0
                lam[-1] = volume * span * 0.03 * np.exp(-1.3 * x) if uses_wf else 0.0
            counts = rng.poisson(lam)
            if d >= START:
                day = d + timedelta(days=int(rng.integers(0, max(span, 1))))
                for j in np.nonzero(counts)[0]:
                    use.append((aid, day.isoformat(), k.types[j], int(counts[j]),
                                f"{aid}-u{int(rng.integers(0, users))}"))
            d = period_end
            # Renewal decisions at each term end passed.
            while term_end < d and churn is None:
                recent = np.mean(xs[-max(1, 28 // k.grain_days):])
                tenure_m = (term_end - tenure0).days / 30.4
                z = renewal_log_odds(kind, recent, monthly, tenure_m, uses_api or uses_wf)
                con.append((aid, f"{aid}-{cid}", term_start.isoformat(), term_end.isoformat(),
                            arr, seats, "monthly" if monthly else "annual"))
                cid += 1
                if rng.random() < sigmoid(z):
                    churn = term_end
                else:
                    term_start = term_end + timedelta(days=1)
                    term_end = add_months(term_start, term) - timedelta(days=1)
        if churn is None:
            con.append((aid, f"{aid}-{cid}", term_start.isoformat(), term_end.isoformat(),
                        arr, seats, "monthly" if monthly else "annual"))
        truth.append((aid, churn.isoformat() if churn else "", float(np.mean(xs)) if xs else 0.0))
    os.makedirs(os.path.join(out, "truth"), exist_ok=True)
    pd.DataFrame(acc, columns=["account_id", "name", "segment", "created_date"]).to_csv(
        os.path.join(out, "accounts.csv"), index=False)
    pd.DataFrame(con, columns=["account_id", "contract_id", "start_date", "end_date", "arr",
                               "seats", "plan"]).to_csv(os.path.join(out, "contracts.csv"),
                                                        index=False)
    u = pd.DataFrame(use, columns=["account_id", "date", "feature", "events", "user_id"])
    u.to_csv(os.path.join(out, "usage.csv"), index=False)
    if tic:
        pd.DataFrame(tic, columns=["account_id", "ticket_id", "opened_at", "closed_at",
                                   "priority"]).to_csv(os.path.join(out, "tickets.csv"),
                                                       index=False)
    pd.DataFrame(truth, columns=["account_id", "churn_date", "mean_risk"]).to_csv(
        os.path.join(out, "truth", "accounts.csv"), index=False)
    pd.DataFrame(months, columns=["account_id", "date", "risk", "p_churn_90d"]).to_csv(
        os.path.join(out, "truth", "account_months.csv"), index=False)
    print(f"{kind}: {n} accounts, {len(use)} usage rows, "
          f"{sum(1 for t in truth if t[1])} churned, into {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    simulate(a.kind, a.accounts, a.seed, a.out)


if __name__ == "__main__":
    main()
