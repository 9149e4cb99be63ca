//! Stage 3: the snapshot spine (`cl_spine`), as `book::snapshot::spine` builds it: who is
//! in the book at each snapshot date t, judged from what was known the day before, with
//! the labels (which look ahead) and the contract facts at t.

use super::Plan;
use crate::book::snapshot::NEW_ACCOUNT_DAYS;

pub fn spine(p: &Plan) -> String {
    let d = p.dialect;
    let days = |a: &str, b: &str| d.days_between(a, b);
    format!(
        "-- The spine: one row per account in the book at snapshot date t (active, new in its
-- first {new} days, or lapsed: its last term ended within grace_days = {grace} with no
-- renewal known before t), with its labels and the contract facts at t.
{create}
WITH pairs AS (
    SELECT a.account_id, a.created, dt.t, {before} AS before
    FROM cl_accounts a
    CROSS JOIN cl_dates dt
),
in_force AS (
    -- Terms covering the day before t (a term starting on t is not yet visible).
    SELECT p.account_id, p.t, COUNT(*) AS n
    FROM pairs p
    JOIN cl_terms x ON x.account_id = p.account_id
        AND x.start_date <= p.before AND x.end_date >= p.before
    GROUP BY p.account_id, p.t
),
ended AS (
    SELECT p.account_id, p.t, MAX(x.end_date) AS last_end
    FROM pairs p
    JOIN cl_terms x ON x.account_id = p.account_id AND x.end_date < p.before
    GROUP BY p.account_id, p.t
),
member AS (
    -- The reference day: the day before t, or (lapsed) the last covered day.
    SELECT p.account_id, p.created, p.t, p.before,
           CASE WHEN f.n IS NULL THEN 1 ELSE 0 END AS lapsed,
           CASE WHEN f.n IS NULL THEN e.last_end ELSE p.before END AS reference,
           CASE WHEN f.n IS NULL THEN {lapsed_days} ELSE 0 END AS days_lapsed
    FROM pairs p
    LEFT JOIN in_force f ON f.account_id = p.account_id AND f.t = p.t
    LEFT JOIN ended e ON e.account_id = p.account_id AND e.t = p.t
    WHERE f.n IS NOT NULL
       OR (e.last_end IS NOT NULL AND {since_end} <= {grace})
),
at_reference AS (
    -- ARR and seats: the terms covering the reference day; the current term is the one
    -- ending first (the earliest start among equals).
    SELECT m.account_id, m.t, x.start_date, x.end_date, x.arr, x.seats,
           ROW_NUMBER() OVER (
               PARTITION BY m.account_id, m.t ORDER BY x.end_date, x.start_date
           ) AS k
    FROM member m
    JOIN cl_terms x ON x.account_id = m.account_id
        AND x.start_date <= m.reference AND x.end_date >= m.reference
),
facts AS (
    SELECT account_id, t,
           SUM(arr) AS arr,
           SUM(seats) AS seats,
           MAX(CASE WHEN k = 1 THEN end_date END) AS renewal_date,
           MAX(CASE WHEN k = 1 THEN {term_days} END) AS term_days
    FROM at_reference
    GROUP BY account_id, t
),
spell AS (
    -- The coverage spell holding the reference day: its end gives the labels.
    SELECT m.account_id, m.t, sp.spell_start, sp.spell_end, sp.churned
    FROM member m
    JOIN cl_spells sp ON sp.account_id = m.account_id
        AND sp.spell_start <= m.reference AND sp.spell_end >= m.reference
),
first_term AS (
    SELECT account_id, MIN(start_date) AS first_start
    FROM cl_terms
    GROUP BY account_id
),
started AS (
    -- Terms of the spell started before t, and the latest renewal among them.
    SELECT sp.account_id, sp.t, sp.spell_start,
           COUNT(*) AS n,
           MAX(CASE WHEN x.start_date > sp.spell_start THEN x.start_date END) AS latest
    FROM spell sp
    JOIN cl_terms x ON x.account_id = sp.account_id
        AND x.start_date >= sp.spell_start AND x.start_date < sp.t
    GROUP BY sp.account_id, sp.t, sp.spell_start
),
renewal AS (
    -- ARR on the latest renewal's first day, and on the day before it (inside a bridged
    -- gap: on the last covered day of the spell before it).
    SELECT r.account_id, r.t, r.latest,
           SUM(CASE WHEN x.start_date <= r.latest AND x.end_date >= r.latest
                    THEN x.arr ELSE 0 END) AS arr_after,
           SUM(CASE WHEN x.start_date <= {eve} AND x.end_date >= {eve}
                    THEN x.arr ELSE 0 END) AS arr_eve,
           SUM(CASE WHEN x.start_date <= {eve} AND x.end_date >= {eve}
                    THEN 1 ELSE 0 END) AS n_eve,
           MAX(CASE WHEN x.end_date < {eve} AND x.end_date >= r.spell_start
                    THEN x.end_date END) AS gap_from
    FROM started r
    JOIN cl_terms x ON x.account_id = r.account_id
    WHERE r.latest IS NOT NULL
    GROUP BY r.account_id, r.t, r.latest
),
gap AS (
    SELECT r.account_id, r.t, SUM(x.arr) AS arr
    FROM renewal r
    JOIN cl_terms x ON x.account_id = r.account_id
        AND x.start_date <= r.gap_from AND x.end_date >= r.gap_from
    WHERE r.n_eve = 0
    GROUP BY r.account_id, r.t
),
rows_ AS (
    SELECT m.account_id, m.t, m.lapsed, m.days_lapsed,
           {tenure} AS tenure_days,
           f.arr, f.seats, f.renewal_date, f.term_days,
           sp.spell_end, sp.churned,
           st.n AS started_before,
           CASE WHEN r.latest IS NULL THEN NULL
                ELSE CASE WHEN r.n_eve > 0 THEN r.arr_eve ELSE COALESCE(g.arr, 0) END
           END AS arr_eve,
           r.arr_after
    FROM member m
    JOIN facts f ON f.account_id = m.account_id AND f.t = m.t
    JOIN spell sp ON sp.account_id = m.account_id AND sp.t = m.t
    JOIN first_term ft ON ft.account_id = m.account_id
    LEFT JOIN started st ON st.account_id = m.account_id AND st.t = m.t
    LEFT JOIN renewal r ON r.account_id = m.account_id AND r.t = m.t
    LEFT JOIN gap g ON g.account_id = m.account_id AND g.t = m.t
)
SELECT x.account_id,
       x.t,
       CASE WHEN x.lapsed = 1 THEN 'lapsed'
            WHEN x.tenure_days < {new} THEN 'new'
            ELSE 'active' END AS status,
       x.days_lapsed,
       -- label: churn (the spell ends, with no new term within grace) by t + horizon;
       -- unknown when t + horizon reaches as_of or the churn is still pending.
       CASE WHEN {horizon_end} >= p.as_of THEN NULL
            WHEN x.spell_end <= {horizon_end} THEN CASE WHEN x.churned = 1 THEN 1 END
            ELSE 0 END AS label,
       -- label_next_renewal: churn at the end of the current term.
       CASE WHEN x.spell_end > x.renewal_date THEN 0
            WHEN x.churned = 1 THEN 1 END AS label_next_renewal,
       CASE WHEN x.churned = 1 THEN x.spell_end END AS churn_date,
       x.renewal_date,
       x.arr,
       x.seats,
       x.tenure_days,
       CASE WHEN {to_renewal} > 0 THEN {to_renewal} ELSE 0 END AS days_to_renewal,
       CASE WHEN COALESCE(x.started_before, 0) <= 1 THEN 1 ELSE 0 END AS first_renewal_ahead,
       CASE WHEN x.arr_eve > 0 THEN x.arr_after / x.arr_eve - 1 END AS arr_change_last_renewal,
       {term_days_float} / 30.44 AS term_months
FROM rows_ x
CROSS JOIN cl_params p
WHERE x.tenure_days >= {min_tenure};
",
        create = d.create("cl_spine"),
        new = NEW_ACCOUNT_DAYS,
        grace = p.grace_days,
        before = d.add_days("dt.t", "-1"),
        lapsed_days = days("p.before", "e.last_end"),
        since_end = days("p.t", "e.last_end"),
        term_days = days("end_date", "start_date"),
        eve = d.add_days("r.latest", "-1"),
        tenure = days(
            "m.t",
            "CASE WHEN m.created < ft.first_start THEN m.created ELSE ft.first_start END"
        ),
        horizon_end = d.add_days("x.t", &p.snap.horizon_days.to_string()),
        to_renewal = days("x.renewal_date", "x.t"),
        term_days_float = d.float("x.term_days"),
        min_tenure = p.snap.min_tenure_days,
    )
}
