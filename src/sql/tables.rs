//! Stages 6 to 10: the smaller tables' windows per spine row (tickets, NPS, contacts, CS
//! activities, invoices), as the files of `features/` of the same names compute them.

use super::Plan;
use crate::input::schema::{PRIORITIES, ROLES};

/// `06_tickets.sql` (`cl_f_tickets`). Times are compared in milliseconds, as churnlab does.
pub fn tickets(p: &Plan) -> String {
    let d = p.dialect;
    const DAY: i64 = 86_400_000;
    let ago = |n: i64| format!("s.tms - {}", n * DAY);
    let csat = if p.has("tickets.csat") {
        d.float("x.csat")
    } else {
        "NULL".into()
    };
    let escalated = if p.has("tickets.escalated") {
        "CASE WHEN x.escalated THEN 1 ELSE 0 END".to_string()
    } else {
        "0".into()
    };
    format!(
        "-- Tickets per spine row: opened in the last 30/90 days and the 30 before, P1/P2, open
-- at t, P1/P2 open more than 10 days, the most opened in any 7 days of the last 90, the
-- resolution time and CSAT of tickets closed in the last 90 days, escalations.
{create}
WITH ticket_rows AS (
    SELECT x.account_id,
           {opened} AS opened,
           {closed} AS closed,
           CASE WHEN {priority} IN ('p1', 'p2') THEN 1 ELSE 0 END AS high,
           {csat} AS csat,
           {escalated} AS escalated
    FROM tickets x
    JOIN cl_accounts a ON a.account_id = x.account_id
    WHERE x.opened_at IS NOT NULL
),
spine_ms AS (
    SELECT account_id, t, {t_ms} AS tms FROM cl_spine
),
counts AS (
    SELECT s.account_id, s.t,
           SUM(CASE WHEN k.opened >= {t30} THEN 1 ELSE 0 END) AS tickets_30d,
           SUM(CASE WHEN k.opened >= {t60} AND k.opened < {t30} THEN 1 ELSE 0 END) AS tickets_prev_30d,
           SUM(CASE WHEN k.opened >= {t90} THEN 1 ELSE 0 END) AS tickets_90d,
           SUM(CASE WHEN k.opened >= {t30} AND k.high = 1 THEN 1 ELSE 0 END) AS high_priority_tickets_30d,
           SUM(CASE WHEN k.closed IS NULL OR k.closed >= s.tms THEN 1 ELSE 0 END) AS open_tickets,
           SUM(CASE WHEN (k.closed IS NULL OR k.closed >= s.tms) AND k.high = 1
                     AND k.opened < {t10} THEN 1 ELSE 0 END) AS p1p2_open_over_10d,
           AVG(CASE WHEN k.closed >= {t90} AND k.closed < s.tms
                    THEN (k.closed - k.opened) / 3600000.0 END) AS avg_resolution_hours_90d,
           SUM(CASE WHEN k.opened >= {t90} THEN k.escalated ELSE 0 END) AS escalations_90d,
           AVG(CASE WHEN k.closed >= {t90} AND k.closed < s.tms THEN k.csat END) AS csat_avg_90d
    FROM spine_ms s
    JOIN ticket_rows k ON k.account_id = s.account_id AND k.opened < s.tms
    GROUP BY s.account_id, s.t
),
spans AS (
    -- For each ticket of the last 90 days, the tickets opened in the 7 days up to it.
    SELECT s.account_id, s.t,
           COUNT(*) OVER (
               PARTITION BY s.account_id, s.t ORDER BY k.opened
               RANGE BETWEEN {week_less_1ms} PRECEDING AND CURRENT ROW
           ) AS n
    FROM spine_ms s
    JOIN ticket_rows k ON k.account_id = s.account_id
        AND k.opened >= {t90} AND k.opened < s.tms
),
spikes AS (
    SELECT account_id, t, MAX(n) AS max_tickets_7d_90d FROM spans GROUP BY account_id, t
)
SELECT c.*, COALESCE(sp.max_tickets_7d_90d, 0) AS max_tickets_7d_90d
FROM counts c
LEFT JOIN spikes sp ON sp.account_id = c.account_id AND sp.t = c.t;
",
        create = d.create("cl_f_tickets"),
        opened = d.epoch_ms("x.opened_at"),
        priority = super::canonical(d, "x.priority", &PRIORITIES),
        closed = d.epoch_ms("x.closed_at"),
        t_ms = d.epoch_ms("t"),
        t10 = ago(10),
        t30 = ago(30),
        t60 = ago(60),
        t90 = ago(90),
        week_less_1ms = 7 * DAY - 1,
    )
}

/// `07_nps.sql` (`cl_f_nps`).
pub fn nps(p: &Plan) -> String {
    let d = p.dialect;
    format!(
        "-- NPS per spine row: the latest response before t and the one before it (the higher
-- score first on a day with two), the days since, and the responses, promoters (9-10)
-- and detractors (0-6) of the last 180 days.
{create}
WITH nps_rows AS (
    SELECT x.account_id, CAST(x.date AS DATE) AS day, {score} AS score
    FROM nps x
    JOIN cl_accounts a ON a.account_id = x.account_id
    WHERE x.date IS NOT NULL
),
ranked AS (
    SELECT s.account_id, s.t, n.day, n.score,
           ROW_NUMBER() OVER (
               PARTITION BY s.account_id, s.t ORDER BY n.day DESC, n.score DESC
           ) AS k
    FROM cl_spine s
    JOIN nps_rows n ON n.account_id = s.account_id AND n.day < s.t
)
SELECT account_id, t,
       MAX(CASE WHEN k = 1 THEN score END) AS nps_last,
       MAX(CASE WHEN k = 2 THEN score END) AS nps_prev,
       {since} AS days_since_nps,
       {responses} AS nps_responses_180d,
       SUM(CASE WHEN day >= {t180} AND score >= 9 THEN 1 ELSE 0 END) AS promoters_180d,
       SUM(CASE WHEN day >= {t180} AND score <= 6 THEN 1 ELSE 0 END) AS detractors_180d
FROM ranked
GROUP BY account_id, t;
",
        create = d.create("cl_f_nps"),
        score = d.float("x.score"),
        since = d.days_between("t", "MAX(day)"),
        t180 = d.minus_days("t", 180),
        responses = d.float(&format!(
            "SUM(CASE WHEN day >= {} AND score IS NOT NULL THEN 1 ELSE 0 END)",
            d.minus_days("t", 180)
        )),
    )
}

/// `08_contacts.sql` (`cl_f_contacts`).
pub fn contacts(p: &Plan) -> String {
    let d = p.dialect;
    let t90 = d.minus_days("s.t", 90);
    let active =
        "(c.start_day IS NULL OR c.start_day < s.t) AND (c.end_day IS NULL OR c.end_day >= s.t)";
    let left = format!("c.end_day >= {t90} AND c.end_day < s.t");
    format!(
        "-- Contacts per spine row: an executive sponsor or champion in role at t, one who left
-- in the last 90 days, the days since a sponsor last left, the contacts in role.
{create}
WITH contact_rows AS (
    SELECT x.account_id, {role} AS role,
           CAST(x.start_date AS DATE) AS start_day,
           CAST(x.end_date AS DATE) AS end_day
    FROM contacts x
    JOIN cl_accounts a ON a.account_id = x.account_id
)
SELECT s.account_id, s.t,
       MAX(CASE WHEN {active} AND c.role = 'executive_sponsor' THEN 1 ELSE 0 END) AS sponsor_present,
       MAX(CASE WHEN {active} AND c.role = 'champion' THEN 1 ELSE 0 END) AS champion_present,
       MAX(CASE WHEN {left} AND c.role = 'executive_sponsor' THEN 1 ELSE 0 END) AS sponsor_left_90d,
       MAX(CASE WHEN {left} AND c.role = 'champion' THEN 1 ELSE 0 END) AS champion_left_90d,
       {since_sponsor} AS days_since_sponsor_left,
       SUM(CASE WHEN {active} AND c.role IS NOT NULL THEN 1 ELSE 0 END) AS active_contacts
FROM cl_spine s
JOIN contact_rows c ON c.account_id = s.account_id
GROUP BY s.account_id, s.t;
",
        create = d.create("cl_f_contacts"),
        role = super::canonical(d, "x.role", &ROLES),
        since_sponsor = d.days_between(
            "s.t",
            "MAX(CASE WHEN c.role = 'executive_sponsor' AND c.end_day < s.t THEN c.end_day END)"
        ),
    )
}

/// `09_activities.sql` (`cl_f_activities`).
pub fn activities(p: &Plan) -> String {
    let d = p.dialect;
    format!(
        "-- CS activities per spine row: days since the last touch and the last executive touch
-- (an EBR or executive outreach), touches in the last 90 days.
{create}
WITH activity_rows AS (
    SELECT x.account_id, CAST(x.date AS DATE) AS day, {kind} AS type
    FROM activities x
    JOIN cl_accounts a ON a.account_id = x.account_id
    WHERE x.date IS NOT NULL
)
SELECT s.account_id, s.t,
       {since} AS days_since_cs_touch,
       {since_exec} AS days_since_exec_touch,
       SUM(CASE WHEN a.day >= {t90} THEN 1 ELSE 0 END) AS cs_touches_90d
FROM cl_spine s
JOIN activity_rows a ON a.account_id = s.account_id AND a.day < s.t
GROUP BY s.account_id, s.t;
",
        create = d.create("cl_f_activities"),
        kind = super::normalized("x.type"),
        since = d.days_between("s.t", "MAX(a.day)"),
        since_exec = d.days_between(
            "s.t",
            "MAX(CASE WHEN a.type IN ('ebr', 'exec_outreach') THEN a.day END)"
        ),
        t90 = d.minus_days("s.t", 90),
    )
}

/// `10_invoices.sql` (`cl_f_invoices`).
pub fn invoices(p: &Plan) -> String {
    let d = p.dialect;
    let unpaid = "(i.paid IS NULL OR i.paid >= s.t)";
    format!(
        "-- Invoices per spine row (invoices due before t): more than 30 days past due and
-- unpaid at t, their amount, and the mean days late of invoices due in the last 365 days
-- (to payment, or to t while unpaid).
{create}
WITH invoice_rows AS (
    SELECT x.account_id,
           CAST(x.due_date AS DATE) AS due,
           {amount} AS amount,
           CAST(x.paid_date AS DATE) AS paid
    FROM invoices x
    JOIN cl_accounts a ON a.account_id = x.account_id
    WHERE x.due_date IS NOT NULL
)
SELECT s.account_id, s.t,
       SUM(CASE WHEN i.due < {t30} AND {unpaid} THEN 1 ELSE 0 END) AS overdue_invoices_30d,
       SUM(CASE WHEN i.due < {t30} AND {unpaid} THEN i.amount ELSE 0 END) AS overdue_amount_30d,
       AVG(CASE WHEN i.due >= {t365}
                THEN {late} END) AS avg_days_late_365d
FROM cl_spine s
JOIN invoice_rows i ON i.account_id = s.account_id AND i.due < s.t
GROUP BY s.account_id, s.t;
",
        create = d.create("cl_f_invoices"),
        amount = d.float("x.amount"),
        t30 = d.minus_days("s.t", 30),
        t365 = d.minus_days("s.t", 365),
        late = d.float(&d.days_between(
            &format!("CASE WHEN {unpaid} THEN s.t ELSE i.paid END"),
            "i.due"
        )),
    )
}
