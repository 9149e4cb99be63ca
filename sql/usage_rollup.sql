-- usage_rollup.sql: rolls raw product events up to churnlab's usage table.
--
-- Run it where the events live (Spark SQL, Snowflake, DuckDB, Postgres, BigQuery with the
-- change noted below), export the result as usage.parquet or usage.csv into the book's
-- folder, and churnlab reads it like any other usage table.
--
-- Input: a table or view named usage_events, one row per event (or per a finer grain than
-- the one asked for):
--   account_id   the account
--   user_id      the user (may be NULL; then churnlab computes no user-level features)
--   feature      the product feature used
--   event_time   TIMESTAMP or DATE of the event
--   events       how many events the row stands for (1 for a raw event)
--   minutes      time spent (may be NULL)
--
-- Output: one row per account, user, feature and period (here: the calendar month), with
-- the events and minutes summed, dated on the LAST day in the period with an event. That
-- date lies inside the period, as the contract asks, and no row holds an event later
-- than its own date, so a snapshot on any day sees only what had happened before it.
--
-- Another grain: change the unit of DATE_TRUNC below to week (ISO weeks) or day.
-- BigQuery spells it DATE_TRUNC(DATE(event_time), MONTH).
SELECT
    account_id,
    user_id,
    feature,
    MAX(CAST(event_time AS DATE)) AS date,
    SUM(events) AS events,
    SUM(minutes) AS minutes
FROM usage_events
GROUP BY
    account_id,
    user_id,
    feature,
    DATE_TRUNC('month', CAST(event_time AS DATE))
ORDER BY account_id, user_id, feature, date
