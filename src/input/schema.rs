//! The input contract: which tables exist, their columns, types and keys.
//! See `docs/data-contract.md` for the user-facing version.

/// How a column's text is parsed and checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A non-empty identifier, kept as text.
    Id,
    /// Free text, kept as written.
    Text,
    /// A category: lower-cased, with spaces and hyphens turned into underscores.
    Category,
    /// An ISO-8601 date (a timestamp is truncated to its UTC date).
    Date,
    /// An ISO-8601 timestamp with or without a zone, or a date (midnight UTC).
    Timestamp,
    /// A finite number within an inclusive range.
    Number { min: f64, max: f64 },
    /// true/false, yes/no, 1/0, t/f, y/n (any case).
    Bool,
    /// Ticket priority: p1..p4 or urgent/high/normal/low (also critical, medium, 1..4).
    Priority,
    /// Contact role: executive_sponsor, champion, admin, user or other.
    Role,
}

impl Kind {
    pub fn expected(&self) -> String {
        match self {
            Kind::Id => "a non-empty identifier".into(),
            Kind::Text => "text".into(),
            Kind::Category => "a category name".into(),
            Kind::Date => "an ISO-8601 date such as 2025-03-31".into(),
            Kind::Timestamp => {
                "an ISO-8601 timestamp such as 2025-03-31T14:05:00Z or a date".into()
            }
            Kind::Number { min, max } => format!("a number from {} to {}", show(*min), show(*max)),
            Kind::Bool => "true or false (also yes/no, 1/0)".into(),
            Kind::Priority => "a priority: p1, p2, p3, p4 or urgent, high, normal, low".into(),
            Kind::Role => "a role: executive_sponsor, champion, admin, user or other".into(),
        }
    }
}

/// The largest magnitude a count or an amount may have: a trillion. No ARR, seat count,
/// usage count or invoice in a CS book comes near it, and a value past it is an overflow or
/// a typo (`1e308`) that would turn sums and model fits into infinities and NaN.
/// A bound as a reader writes it: `1e12` rather than thirteen digits.
pub(crate) fn show(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

const ANY: f64 = 1e12;

#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// The column must be present in the file.
    pub required: bool,
    /// Empty cells are allowed (they become missing values).
    pub nullable: bool,
    /// Held as UInt32 codes into the table's dictionary of names
    /// ([`crate::input::load::Loaded::names`]), not as text: a usage table repeats a few
    /// feature names and user ids over millions of rows.
    pub coded: bool,
}

const fn col(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: true,
        nullable: false,
        coded: false,
    }
}
const fn nullable(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: true,
        nullable: true,
        coded: false,
    }
}
const fn optional(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required: false,
        nullable: true,
        coded: false,
    }
}
/// A column held as codes into a dictionary of its names (see [`ColumnSpec::coded`]).
const fn coded(c: ColumnSpec) -> ColumnSpec {
    ColumnSpec { coded: true, ..c }
}

/// A pair of columns where the second must not come before the first.
#[derive(Clone, Copy, Debug)]
pub struct Ordered {
    pub first: &'static str,
    pub then: &'static str,
}

#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub required: bool,
    pub columns: &'static [ColumnSpec],
    /// Column whose values must be unique, if any.
    pub key: Option<&'static str>,
    pub ordered: Option<Ordered>,
    /// The column that dates an observed event (used for the data's date range).
    pub event_date: Option<&'static str>,
    /// What the table feeds, as said to a user when it is missing.
    pub signal: &'static str,
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

pub const ACCOUNTS: TableSpec = TableSpec {
    name: "accounts",
    required: true,
    columns: &[
        col("account_id", Kind::Id),
        nullable("name", Kind::Text),
        col("segment", Kind::Category),
        col("created_date", Kind::Date),
        optional("industry", Kind::Category),
        optional("region", Kind::Category),
        optional("csm", Kind::Text),
        optional("parent_id", Kind::Text),
    ],
    key: Some("account_id"),
    ordered: None,
    event_date: Some("created_date"),
    signal: "accounts",
};

pub const CONTRACTS: TableSpec = TableSpec {
    name: "contracts",
    required: true,
    columns: &[
        col("account_id", Kind::Id),
        col("contract_id", Kind::Id),
        col("start_date", Kind::Date),
        col("end_date", Kind::Date),
        col("arr", Kind::Number { min: 0.0, max: ANY }),
        col("seats", Kind::Number { min: 0.0, max: ANY }),
        optional("plan", Kind::Category),
        optional(
            "discount",
            Kind::Number {
                min: 0.0,
                max: 100.0,
            },
        ),
    ],
    key: Some("contract_id"),
    ordered: Some(Ordered {
        first: "start_date",
        then: "end_date",
    }),
    event_date: Some("start_date"),
    signal: "commercial (contracts)",
};

pub(crate) const USAGE: TableSpec = TableSpec {
    name: "usage",
    required: false,
    columns: &[
        col("account_id", Kind::Id),
        col("date", Kind::Date),
        coded(col("feature", Kind::Category)),
        col("events", Kind::Number { min: 0.0, max: ANY }),
        coded(optional("user_id", Kind::Text)),
        optional("minutes", Kind::Number { min: 0.0, max: ANY }),
    ],
    key: None,
    ordered: None,
    event_date: Some("date"),
    signal: "adoption (product usage)",
};

pub(crate) const TICKETS: TableSpec = TableSpec {
    name: "tickets",
    required: false,
    columns: &[
        col("account_id", Kind::Id),
        col("ticket_id", Kind::Id),
        col("opened_at", Kind::Timestamp),
        nullable("closed_at", Kind::Timestamp),
        col("priority", Kind::Priority),
        optional("csat", Kind::Number { min: 1.0, max: 5.0 }),
        optional("escalated", Kind::Bool),
    ],
    key: Some("ticket_id"),
    ordered: Some(Ordered {
        first: "opened_at",
        then: "closed_at",
    }),
    event_date: Some("opened_at"),
    signal: "support (tickets)",
};

pub const NPS: TableSpec = TableSpec {
    name: "nps",
    required: false,
    columns: &[
        col("account_id", Kind::Id),
        col("date", Kind::Date),
        col(
            "score",
            Kind::Number {
                min: 0.0,
                max: 10.0,
            },
        ),
        optional("contact_id", Kind::Text),
    ],
    key: None,
    ordered: None,
    event_date: Some("date"),
    signal: "sentiment (NPS)",
};

pub(crate) const CONTACTS: TableSpec = TableSpec {
    name: "contacts",
    required: false,
    columns: &[
        col("account_id", Kind::Id),
        col("contact_id", Kind::Id),
        col("role", Kind::Role),
        nullable("start_date", Kind::Date),
        nullable("end_date", Kind::Date),
    ],
    key: None,
    ordered: Some(Ordered {
        first: "start_date",
        then: "end_date",
    }),
    event_date: Some("start_date"),
    signal: "relationship (sponsors, champions)",
};

pub(crate) const INVOICES: TableSpec = TableSpec {
    name: "invoices",
    required: false,
    columns: &[
        col("account_id", Kind::Id),
        col("invoice_id", Kind::Id),
        col("due_date", Kind::Date),
        col(
            "amount",
            Kind::Number {
                min: -ANY,
                max: ANY,
            },
        ),
        nullable("paid_date", Kind::Date),
    ],
    key: Some("invoice_id"),
    ordered: None,
    event_date: Some("paid_date"),
    signal: "commercial (invoices, payment)",
};

pub(crate) const ACTIVITIES: TableSpec = TableSpec {
    name: "activities",
    required: false,
    columns: &[
        col("account_id", Kind::Id),
        col("date", Kind::Date),
        col("type", Kind::Category),
    ],
    key: None,
    ordered: None,
    event_date: Some("date"),
    signal: "CS activities (plays)",
};

/// Every table of the contract, required ones first.
pub const TABLES: [TableSpec; 8] = [
    ACCOUNTS, CONTRACTS, USAGE, TICKETS, NPS, CONTACTS, INVOICES, ACTIVITIES,
];

pub(crate) fn normalize_category(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.trim().chars() {
        match ch {
            ' ' | '-' | '/' => out.push('_'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The priorities and the (normalised) words that mean each.
pub const PRIORITIES: [(&str, &[&str]); 4] = [
    ("p1", &["p1", "1", "urgent", "critical", "highest", "sev1"]),
    ("p2", &["p2", "2", "high", "sev2"]),
    ("p3", &["p3", "3", "normal", "medium", "sev3"]),
    ("p4", &["p4", "4", "low", "lowest", "sev4"]),
];

/// The contact roles and the (normalised) words that mean each.
pub const ROLES: [(&str, &[&str]); 5] = [
    (
        "executive_sponsor",
        &[
            "executive_sponsor",
            "exec_sponsor",
            "sponsor",
            "executive",
            "economic_buyer",
        ],
    ),
    ("champion", &["champion"]),
    ("admin", &["admin", "administrator"]),
    ("user", &["user", "end_user"]),
    ("other", &["other"]),
];

/// The canonical word of `s` in a vocabulary of (word, synonyms).
fn canonical(s: &str, vocabulary: &[(&'static str, &[&str])]) -> Option<&'static str> {
    let n = normalize_category(s);
    vocabulary
        .iter()
        .find(|(_, words)| words.contains(&n.as_str()))
        .map(|(word, _)| *word)
}

pub(crate) fn parse_priority(s: &str) -> Option<&'static str> {
    canonical(s, &PRIORITIES)
}

pub(crate) fn parse_role(s: &str) -> Option<&'static str> {
    canonical(s, &ROLES)
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
        "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_codes_normalise() {
        assert_eq!(normalize_category(" Mid-Market "), "mid_market");
        assert_eq!(parse_priority("Urgent"), Some("p1"));
        assert_eq!(parse_priority("P3"), Some("p3"));
        assert_eq!(parse_priority("blocker"), None);
        assert_eq!(parse_role("Executive Sponsor"), Some("executive_sponsor"));
        assert_eq!(parse_role("janitor"), None);
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }
}
