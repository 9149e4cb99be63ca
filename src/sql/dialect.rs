//! The four SQL dialects `churnlab sql` writes, and the few constructs in which they differ:
//! date arithmetic, month starts, a row of integers, timestamps in milliseconds, how a
//! stage's table is created and how an identifier with brackets is quoted. Everything else
//! the stages write is SQL that all four accept.

use std::fmt;
use std::str::FromStr;

/// A warehouse or engine the snapshot-table SQL is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB (run and tested here).
    DuckDb,
    /// Spark SQL 3.4+ (run and tested here in local mode).
    Spark,
    /// Google BigQuery Standard SQL (parse-checked with sqlglot; not run).
    BigQuery,
    /// Snowflake (parse-checked with sqlglot; not run).
    Snowflake,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [
        Dialect::DuckDb,
        Dialect::Spark,
        Dialect::BigQuery,
        Dialect::Snowflake,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
            Dialect::BigQuery => "bigquery",
            Dialect::Snowflake => "snowflake",
        }
    }

    /// `e + n` days, for a DATE `e` and an integer expression `n`.
    pub fn add_days(self, e: &str, n: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CAST({e} + ({n}) * INTERVAL 1 DAY AS DATE)"),
            Dialect::Spark => format!("date_add({e}, {n})"),
            Dialect::BigQuery => format!("DATE_ADD({e}, INTERVAL ({n}) DAY)"),
            Dialect::Snowflake => format!("DATEADD(day, {n}, {e})"),
        }
    }

    /// `e - n` days for a literal number of days.
    pub fn minus_days(self, e: &str, n: i64) -> String {
        self.add_days(e, &(-n).to_string())
    }

    /// `e + n` months.
    pub fn add_months(self, e: &str, n: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CAST({e} + ({n}) * INTERVAL 1 MONTH AS DATE)"),
            Dialect::Spark => format!("add_months({e}, {n})"),
            Dialect::BigQuery => format!("DATE_ADD({e}, INTERVAL ({n}) MONTH)"),
            Dialect::Snowflake => format!("DATEADD(month, {n}, {e})"),
        }
    }

    /// Days from DATE `b` to DATE `a` (`a - b`), as an integer.
    pub fn days_between(self, a: &str, b: &str) -> String {
        match self {
            Dialect::DuckDb => format!("date_diff('day', {b}, {a})"),
            Dialect::Spark => format!("datediff({a}, {b})"),
            Dialect::BigQuery => format!("DATE_DIFF({a}, {b}, DAY)"),
            Dialect::Snowflake => format!("DATEDIFF(day, {b}, {a})"),
        }
    }

    /// The first day of `e`'s month.
    pub fn month_start(self, e: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CAST(date_trunc('month', {e}) AS DATE)"),
            Dialect::Spark => format!("trunc({e}, 'MM')"),
            Dialect::BigQuery => format!("DATE_TRUNC({e}, MONTH)"),
            Dialect::Snowflake => format!("DATE_TRUNC('month', {e})"),
        }
    }

    /// The start of `e`'s day, ISO week (Monday) or month: the period of a roll-up.
    pub fn period_start(self, e: &str, unit: &str) -> String {
        match (self, unit) {
            (_, "day") => format!("CAST({e} AS DATE)"),
            (Dialect::BigQuery, "week") => format!("DATE_TRUNC(CAST({e} AS DATE), ISOWEEK)"),
            (Dialect::BigQuery, _) => format!("DATE_TRUNC(CAST({e} AS DATE), MONTH)"),
            (Dialect::DuckDb, _) => {
                format!("CAST(date_trunc('{unit}', CAST({e} AS DATE)) AS DATE)")
            }
            (Dialect::Spark, _) => format!("CAST(date_trunc('{unit}', CAST({e} AS DATE)) AS DATE)"),
            (Dialect::Snowflake, _) => format!("DATE_TRUNC('{unit}', CAST({e} AS DATE))"),
        }
    }

    /// A DATE (a timestamp floored to its day).
    pub fn date(self, e: &str) -> String {
        format!("CAST({e} AS DATE)")
    }

    /// Milliseconds since 1970-01-01 of a TIMESTAMP (a DATE is cast first).
    pub fn epoch_ms(self, e: &str) -> String {
        match self {
            Dialect::DuckDb => format!("epoch_ms(CAST({e} AS TIMESTAMP))"),
            Dialect::Spark => format!("unix_millis(CAST({e} AS TIMESTAMP))"),
            Dialect::BigQuery => format!("UNIX_MILLIS(CAST({e} AS TIMESTAMP))"),
            Dialect::Snowflake => {
                format!("DATE_PART(epoch_millisecond, CAST({e} AS TIMESTAMP_NTZ))")
            }
        }
    }

    /// A double-precision number (Snowflake divides integers into decimals otherwise).
    pub fn float(self, e: &str) -> String {
        match self {
            Dialect::BigQuery => format!("CAST({e} AS FLOAT64)"),
            _ => format!("CAST({e} AS DOUBLE)"),
        }
    }

    /// A text value.
    pub fn text(self, e: &str) -> String {
        match self {
            Dialect::BigQuery => format!("CAST({e} AS STRING)"),
            Dialect::Spark => format!("CAST({e} AS STRING)"),
            _ => format!("CAST({e} AS VARCHAR)"),
        }
    }

    /// A DATE literal.
    pub fn date_literal(self, d: chrono::NaiveDate) -> String {
        format!("DATE '{d}'")
    }

    /// `SELECT k` for k = 0, 1, ..., n - 1, as a table with one column `k`.
    pub fn integers(self, n: usize) -> String {
        let last = n.saturating_sub(1);
        match self {
            Dialect::DuckDb => format!("SELECT CAST(range AS INTEGER) AS k FROM range({n})"),
            Dialect::Spark => format!("SELECT explode(sequence(0, {last})) AS k"),
            Dialect::BigQuery => format!("SELECT k FROM UNNEST(GENERATE_ARRAY(0, {last})) AS k"),
            Dialect::Snowflake => format!(
                "SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1 AS k FROM TABLE(GENERATOR(ROWCOUNT => {n}))"
            ),
        }
    }

    /// The statement that makes a stage's result a table the next stages read.
    pub fn create(self, name: &str) -> String {
        match self {
            // Spark: a Parquet table per stage, so each stage is computed once (views
            // would inline every earlier stage into one plan); the session catalog does
            // not replace a v1 table in place, hence the drop.
            Dialect::Spark => {
                format!("DROP TABLE IF EXISTS {name};\nCREATE TABLE {name} USING parquet AS")
            }
            _ => format!("CREATE OR REPLACE TABLE {name} AS"),
        }
    }

    /// A column name as written: the per-type names hold brackets and a dot, so they are
    /// quoted. BigQuery allows neither in a column name; there they become underscores
    /// (`usage[api].events_30d` is `usage__api__events_30d`).
    pub fn column(self, name: &str) -> String {
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match self {
            _ if plain => name.to_string(),
            Dialect::BigQuery => bigquery_name(name),
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            Dialect::DuckDb | Dialect::Snowflake => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A string literal.
    pub fn string(self, s: &str) -> String {
        match self {
            Dialect::Spark | Dialect::BigQuery => {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
            _ => format!("'{}'", s.replace('\'', "''")),
        }
    }
}

/// BigQuery's spelling of a column name churnlab writes with brackets, dots or slashes.
pub fn bigquery_name(name: &str) -> String {
    name.replace('[', "__")
        .replace("].", "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unknown SQL dialect {s:?}: expected duckdb, spark, bigquery or snowflake")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_columns_are_quoted_per_dialect() {
        for d in Dialect::ALL {
            assert_eq!(d.name().parse::<Dialect>(), Ok(d));
        }
        assert!("postgres".parse::<Dialect>().is_err());
        let n = "usage[api].events_30d";
        assert_eq!(Dialect::DuckDb.column(n), "\"usage[api].events_30d\"");
        assert_eq!(Dialect::Spark.column(n), "`usage[api].events_30d`");
        assert_eq!(Dialect::BigQuery.column(n), "usage__api__events_30d");
        assert_eq!(
            Dialect::BigQuery.column("usage[a/b].ratio_90d"),
            "usage__a_b__ratio_90d"
        );
        assert_eq!(Dialect::Snowflake.column("arr"), "arr");
        assert_eq!(Dialect::DuckDb.string("it's"), "'it''s'");
        assert_eq!(Dialect::Spark.string("it's"), "'it\\'s'");
    }
}
