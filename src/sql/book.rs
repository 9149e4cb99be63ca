//! Stages 1 and 2: the usage roll-up, and the book (accounts, terms, the as-of date, the
//! snapshot dates, and coverage spells), as `book/retention.rs` and `book/snapshot.rs`
//! build them.

use super::Plan;
use crate::features::UsageGrain;

/// `01_usage_rollup.sql`: raw product events (table `usage_events`: account_id, user_id,
/// feature, event_time, events, minutes) rolled up to the contract's usage table at the
/// plan's grain. Run it only when the events are raw; the later stages read `usage`.
pub fn usage_rollup(p: &Plan) -> String {
    let d = p.dialect;
    let unit = match p.grain {
        UsageGrain::Daily => "day",
        UsageGrain::Weekly => "week",
        UsageGrain::Monthly => "month",
    };
    format!(
        "-- Rolls raw product events (table usage_events: account_id, user_id, feature,
-- event_time as a TIMESTAMP or DATE, events, minutes) up to churnlab's usage table: one
-- row per account, user, feature and {unit}, dated on the LAST day in the period with an
-- event. That date lies inside the period, and no row holds an event later than its own
-- date, so a snapshot on any day sees only what had happened before it. Skip this file
-- when the usage table is already rolled up; for another grain, pass --usage-grain.
{create}
SELECT
    account_id,
    user_id,
    feature,
    MAX(CAST(event_time AS DATE)) AS date,
    SUM(events) AS events,
    SUM(minutes) AS minutes
FROM usage_events
GROUP BY account_id, user_id, feature, {period};
",
        create = d.create("usage"),
        period = d.period_start("event_time", unit),
    )
}

/// `02_book.sql`: the accounts, their contract terms, the as-of date and first snapshot
/// (`cl_params`), the snapshot dates (`cl_dates`) and the coverage spells (`cl_spells`).
pub fn book(p: &Plan) -> String {
    let d = p.dialect;
    let events = [
        "usage:date",
        "tickets:opened_at",
        "nps:date",
        "activities:date",
    ];
    let observed = [
        "accounts:created_date",
        "contracts:start_date",
        "usage:date",
        "tickets:opened_at",
        "nps:date",
        "contacts:start_date",
        "invoices:paid_date",
        "activities:date",
    ];
    let extreme = |agg: &str, cols: &[&str]| -> String {
        let parts: Vec<String> = cols
            .iter()
            .filter_map(|tc| tc.split_once(':'))
            .filter(|(table, _)| p.has(table))
            .map(|(table, col)| {
                format!("    SELECT {agg}(CAST({col} AS DATE)) AS day FROM {table}")
            })
            .collect();
        if parts.is_empty() {
            format!("    SELECT {} AS day", d.date("NULL"))
        } else {
            parts.join("\n    UNION ALL\n")
        }
    };
    let as_of = match p.as_of {
        Some(a) => d.date_literal(a),
        None => d.add_days(
            &format!(
                "(SELECT MAX(day) FROM (\n{}\n) observed)",
                extreme("MAX", &observed)
            ),
            "1",
        ),
    };
    let first_event = format!(
        "COALESCE((SELECT MIN(day) FROM (\n{}\n) events), (SELECT MIN(CAST(start_date AS DATE)) FROM contracts))",
        extreme("MIN", &events)
    );
    let start = match p.snap.start {
        Some(s) => d.date_literal(s),
        None => d.add_days("first_event", &p.snap.warmup_days.to_string()),
    };
    let d0 = d.month_start("start_day");
    let cadence = p.snap.cadence_months.max(1);
    let union = if d == super::Dialect::BigQuery {
        "UNION DISTINCT"
    } else {
        "UNION"
    };
    let grace = p.grace_days;
    format!(
        "-- The book: accounts, contract terms, the as-of date, the snapshot dates and the
-- coverage spells (terms merged across gaps of at most grace_days = {grace}).

-- Accounts (the accounts table is the list of the book).
{create_accounts}
SELECT account_id, CAST(created_date AS DATE) AS created
FROM accounts
WHERE account_id IS NOT NULL;

-- Contract terms of known accounts; start and end are both covered days.
{create_terms}
SELECT c.account_id,
       CAST(c.start_date AS DATE) AS start_date,
       CAST(c.end_date AS DATE) AS end_date,
       {arr} AS arr,
       {seats} AS seats
FROM contracts c
JOIN cl_accounts a ON a.account_id = c.account_id
WHERE c.start_date IS NOT NULL AND c.end_date IS NOT NULL;

-- as_of: the day after the latest observed event in any table (contract end dates are
-- not events); the first snapshot: warmup_days = {warmup} after the first behavioural
-- event (usage, tickets, NPS, activities; else the first contract start).
{create_params}
SELECT as_of, first_start AS start_day
FROM (
    SELECT {as_of} AS as_of,
           {start_first} AS first_start
    FROM (SELECT {first_event} AS first_event) fe
) params;

-- Snapshot dates: the first of every {cadence}. month from the first snapshot up to
-- as_of, and as_of itself (the scoring date).
{create_dates}
WITH first_cadence AS (
    SELECT as_of,
           CASE WHEN {d0} < start_day THEN {d0_next} ELSE {d0} END AS d0
    FROM cl_params
),
steps AS (
    {integers}
)
SELECT {step} AS t
FROM first_cadence f
CROSS JOIN steps k
WHERE {step} <= f.as_of
{union}
SELECT as_of AS t FROM cl_params;

-- Coverage spells: terms ordered by (start, end) open a new spell when they start more
-- than grace_days after every earlier term ended. A spell has churned when it ended more
-- than grace_days before as_of, is active when it runs to as_of or later, and pending
-- in between.
{create_spells}
WITH ordered AS (
    SELECT account_id, start_date, end_date,
           MAX(end_date) OVER (
               PARTITION BY account_id ORDER BY start_date, end_date
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS earlier_end
    FROM cl_terms
),
marked AS (
    SELECT account_id, start_date, end_date,
           CASE WHEN earlier_end IS NOT NULL AND start_date <= {earlier_plus_grace}
                THEN 0 ELSE 1 END AS opens
    FROM ordered
),
numbered AS (
    SELECT account_id, start_date, end_date,
           SUM(opens) OVER (
               PARTITION BY account_id ORDER BY start_date, end_date
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS spell
    FROM marked
),
spells AS (
    SELECT account_id, spell, MIN(start_date) AS spell_start, MAX(end_date) AS spell_end
    FROM numbered
    GROUP BY account_id, spell
)
SELECT s.account_id, s.spell, s.spell_start, s.spell_end,
       CASE WHEN s.spell_end < p.as_of AND {end_plus_grace} < p.as_of THEN 1 ELSE 0 END AS churned
FROM spells s
CROSS JOIN cl_params p;
",
        create_accounts = d.create("cl_accounts"),
        create_terms = d.create("cl_terms"),
        create_params = d.create("cl_params"),
        create_dates = d.create("cl_dates"),
        create_spells = d.create("cl_spells"),
        arr = d.float("c.arr"),
        seats = d.float("c.seats"),
        warmup = p.snap.warmup_days,
        start_first = start,
        d0_next = d.add_months(&d0, "1"),
        integers = d.integers(100 * 12 / cadence as usize + 2),
        step = d.add_months("f.d0", &format!("k.k * {cadence}")),
        earlier_plus_grace = d.add_days("earlier_end", &grace.to_string()),
        end_plus_grace = d.add_days("s.spell_end", &grace.to_string()),
    )
}
