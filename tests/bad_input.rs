//! One test per class of bad input: each asserts the file, line, column and message.

use std::fs;
use std::path::Path;

use churnlab::error::Error;
use churnlab::input::io::{self, Format};
use churnlab::input::load::{self, Limits};
use churnlab::input::table::{Column, Table};

const ACCOUNTS: &str = "account_id,name,segment,created_date\n\
A1,Acme,enterprise,2023-01-15\n\
A2,Beta,SMB,2023-06-01\n";
const CONTRACTS: &str = "account_id,contract_id,start_date,end_date,arr,seats\n\
A1,C1,2024-01-01,2024-12-31,1000,10\n\
A2,C2,2024-02-01,2025-01-31,500,5\n";

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn errors(dir: &Path) -> String {
    match load::load_book(dir) {
        Ok(_) => panic!("expected the folder to be rejected"),
        Err(e) => e.to_string(),
    }
}

fn with_contracts(contracts: &str) -> String {
    let d = folder(&[("accounts.csv", ACCOUNTS), ("contracts.csv", contracts)]);
    errors(d.path())
}

#[test]
fn a_valid_minimal_folder_loads_and_names_missing_signals() {
    let d = folder(&[("accounts.csv", ACCOUNTS), ("contracts.csv", CONTRACTS)]);
    let book = load::load_book(d.path()).unwrap();
    assert_eq!(book.rows("accounts"), 2);
    assert_eq!(book.rows("contracts"), 2);
    let accounts = book.accounts();
    assert_eq!(accounts[1].segment, "smb", "categories are normalised");
    let missing: Vec<&str> = book.missing_signals().iter().map(|m| m.0).collect();
    assert_eq!(
        missing,
        [
            "usage",
            "tickets",
            "nps",
            "contacts",
            "invoices",
            "activities"
        ]
    );
    // Latest event is the 2024-02-01 contract start, so "now" is the day after.
    assert_eq!(book.as_of().unwrap().to_string(), "2024-02-02");
    assert!(book.warnings.is_empty(), "{:?}", book.warnings);
}

/// An account with no contract loads (it may be a prospect) but is named in a warning
/// with a count and an example: it is never active, so never scored.
#[test]
fn accounts_without_contracts_are_warned_about() {
    let accounts = format!("{ACCOUNTS}A3,Gamma,smb,2023-07-01\nA4,Delta,smb,2023-08-01\n");
    let d = folder(&[("accounts.csv", &accounts), ("contracts.csv", CONTRACTS)]);
    let book = load::load_book(d.path()).unwrap();
    assert_eq!(
        book.warnings,
        vec![
            "accounts.csv: 2 accounts have no contract in the contracts table (for example A3); they are never active, so neither scored nor counted in retention"
                .to_string()
        ]
    );
}

#[test]
fn missing_required_file() {
    let d = folder(&[("accounts.csv", ACCOUNTS)]);
    let e = errors(d.path());
    assert!(
        e.contains("contracts.csv: required table 'contracts' is missing"),
        "{e}"
    );
    assert!(
        e.contains("expected contracts.csv or contracts.parquet"),
        "{e}"
    );
}

#[test]
fn missing_folder() {
    let e = errors(Path::new("/no/such/folder"));
    assert!(e.contains("/no/such/folder: no such folder"), "{e}");
}

#[test]
fn missing_column() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,seats\nA1,C1,2024-01-01,2024-12-31,10\n",
    );
    assert!(e.contains("contracts.csv: missing required column 'arr' (a number from 0 to 1e12); the header has: account_id, contract_id, start_date, end_date, seats"), "{e}");
}

#[test]
fn wrong_type() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,2024-01-01,2024-12-31,1000,10\nA2,C2,2024-02-01,2025-01-31,lots,5\n",
    );
    assert!(
        e.contains(
            "contracts.csv, line 3, column 'arr': expected a number from 0 to 1e12, found \"lots\""
        ),
        "{e}"
    );
}

#[test]
fn unparseable_date() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,01/31/2024,2024-12-31,1000,10\n",
    );
    assert!(e.contains("contracts.csv, line 2, column 'start_date': expected an ISO-8601 date such as 2025-03-31, found \"01/31/2024\""), "{e}");
}

#[test]
fn duplicate_key() {
    let accounts = "account_id,name,segment,created_date\nA1,Acme,enterprise,2023-01-15\nA2,Beta,smb,2023-06-01\nA1,Acme again,smb,2023-07-01\n";
    let d = folder(&[("accounts.csv", accounts), ("contracts.csv", CONTRACTS)]);
    let e = errors(d.path());
    assert!(e.contains("accounts.csv, line 4, column 'account_id': duplicate account_id 'A1' (first seen on line 2)"), "{e}");
}

#[test]
fn negative_arr() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,2024-01-01,2024-12-31,-5,10\n",
    );
    assert!(
        e.contains(
            "contracts.csv, line 2, column 'arr': -5 is below the allowed 0; expected a number from 0 to 1e12"
        ),
        "{e}"
    );
}

#[test]
fn an_absurd_or_non_finite_number_is_refused_before_it_reaches_a_model() {
    // The fuzzer's case: a usage count of 1e308 made sums infinite and a model's
    // coefficients NaN. Counts and amounts are bounded by 1e12, and inf/NaN are not numbers.
    let usage = "account_id,date,feature,events\n\
A1,2024-03-01,reports,1e308\n\
A1,2024-03-02,reports,inf\n\
A2,2024-03-01,reports,NaN\n\
A2,2024-03-02,reports,999999999999\n";
    let d = folder(&[
        ("accounts.csv", ACCOUNTS),
        ("contracts.csv", CONTRACTS),
        ("usage.csv", usage),
    ]);
    let e = errors(d.path());
    assert!(e.contains("the input has 3 problems"), "{e}");
    assert!(
        e.contains(
            "usage.csv, line 2, column 'events': 1e308 is above the allowed 1e12; expected a number from 0 to 1e12"
        ),
        "{e}"
    );
    assert!(
        e.contains(
            "usage.csv, line 3, column 'events': expected a number from 0 to 1e12, found \"inf\""
        ),
        "{e}"
    );
    assert!(
        e.contains(
            "usage.csv, line 4, column 'events': expected a number from 0 to 1e12, found \"NaN\""
        ),
        "{e}"
    );
}

#[test]
fn end_before_start() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,2024-01-01,2023-12-31,100,10\n",
    );
    assert!(
        e.contains("contracts.csv, line 2, column 'end_date': end_date is before start_date"),
        "{e}"
    );
}

#[test]
fn rows_for_unknown_accounts() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,2024-01-01,2024-12-31,100,10\nZZZ,C9,2024-01-01,2024-12-31,100,10\n",
    );
    assert!(
        e.contains(
            "contracts.csv, line 3, column 'account_id': account 'ZZZ' is not in the accounts table"
        ),
        "{e}"
    );
}

#[test]
fn empty_table() {
    let e = with_contracts("account_id,contract_id,start_date,end_date,arr,seats\n");
    assert!(
        e.contains("contracts.csv: the table is empty (a header but no rows)"),
        "{e}"
    );
}

#[test]
fn empty_required_cell() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats\nA1,C1,2024-01-01,,100,10\n",
    );
    assert!(
        e.contains("contracts.csv, line 2, column 'end_date': is empty; expected an ISO-8601 date"),
        "{e}"
    );
}

#[test]
fn nps_out_of_range_and_bad_priority_and_closed_before_opened() {
    let nps = "account_id,date,score\nA1,2024-03-01,11\n";
    let tickets = "account_id,ticket_id,opened_at,closed_at,priority\nA1,T1,2024-03-01T10:00:00Z,2024-03-01T09:00:00Z,p1\nA1,T2,2024-03-02T10:00:00Z,,blocker\n";
    let d = folder(&[
        ("accounts.csv", ACCOUNTS),
        ("contracts.csv", CONTRACTS),
        ("nps.csv", nps),
        ("tickets.csv", tickets),
    ]);
    let e = errors(d.path());
    assert!(e.contains("nps.csv, line 2, column 'score': 11 is above the allowed 10; expected a number from 0 to 10"), "{e}");
    assert!(
        e.contains("tickets.csv, line 2, column 'closed_at': closed_at is before opened_at"),
        "{e}"
    );
    assert!(e.contains("tickets.csv, line 3, column 'priority': expected a priority: p1, p2, p3, p4 or urgent, high, normal, low, found \"blocker\""), "{e}");
    assert!(e.starts_with("the input has 3 problems"), "{e}");
}

#[test]
fn many_errors_in_one_file_are_reported_together_up_to_a_limit() {
    let mut c = String::from("account_id,contract_id,start_date,end_date,arr,seats\n");
    for i in 0..40 {
        c.push_str(&format!("A1,C{i},2024-01-01,2024-12-31,-{i},x\n"));
    }
    let d = folder(&[("accounts.csv", ACCOUNTS), ("contracts.csv", &c)]);
    match load::load_book_with(
        d.path(),
        Limits {
            per_file: 25,
            per_column: 5,
            ..Limits::default()
        },
    ) {
        Err(Error::Invalid(p)) => {
            // 39 negative ARRs (the first is -0, which is allowed) and 40 bad seats.
            assert_eq!(p.total(), 79);
            assert_eq!(p.items.len(), 10, "5 listed per column");
            assert_eq!(p.suppressed, 69);
            let text = p.to_string();
            assert!(text.contains("... and 69 more"), "{text}");
            assert!(
                text.contains("line 3, column 'arr'") && text.contains("line 2, column 'seats'"),
                "{text}"
            );
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn both_csv_and_parquet_is_ambiguous() {
    let d = folder(&[
        ("accounts.csv", ACCOUNTS),
        ("contracts.csv", CONTRACTS),
        ("nps.csv", "account_id,date,score\nA1,2024-03-01,9\n"),
        ("nps.parquet", ""),
    ]);
    let e = errors(d.path());
    assert!(e.contains("both nps.csv and nps.parquet are in"), "{e}");
}

/// A folder with the accounts CSV and a two-row `contracts.parquet` (accounts A1 and A2,
/// 10 and 5 seats) with the given start and end dates (epoch days) and ARR.
fn contracts_parquet(
    start: [Option<i32>; 2],
    end: [Option<i32>; 2],
    arr: [Option<f64>; 2],
) -> tempfile::TempDir {
    let d = folder(&[("accounts.csv", ACCOUNTS)]);
    let contracts = Table::new()
        .with(
            "account_id",
            Column::Str(vec![Some("A1".into()), Some("A2".into())]),
        )
        .with(
            "contract_id",
            Column::Str(vec![Some("C1".into()), Some("C2".into())]),
        )
        .with("start_date", Column::Date(start.to_vec()))
        .with("end_date", Column::Date(end.to_vec()))
        .with("arr", Column::Float(arr.to_vec()))
        .with("seats", Column::Int(vec![Some(10), Some(5)]));
    io::write_table(
        &d.path().join("contracts.parquet"),
        &contracts,
        Format::Parquet,
    )
    .unwrap();
    d
}

#[test]
fn parquet_tables_load_and_report_rows() {
    let d = contracts_parquet(
        [Some(19723), Some(19754)],
        [Some(20088), Some(19700)],
        [Some(1000.0), Some(500.0)],
    );
    let e = errors(d.path());
    assert!(
        e.contains("contracts.parquet, row 2, column 'end_date': end_date is before start_date"),
        "{e}"
    );
    assert!(
        !d.path().read_dir().unwrap().any(|f| f
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp")),
        "no temporary files left"
    );
}

#[test]
fn timestamps_with_zones_and_flexible_codes_are_accepted() {
    let tickets = "account_id,ticket_id,opened_at,closed_at,priority,escalated\n\
A1,T1,2024-03-01T10:00:00+02:00,2024-03-02 09:00:00,Urgent,yes\n\
A2,T2,2024-03-02,,P3,0\n";
    let contacts = "account_id,contact_id,role,start_date,end_date\nA1,P1,Executive Sponsor,2023-01-01,\nA1,P2,billing,2023-01-01,\n";
    let d = folder(&[
        ("accounts.csv", ACCOUNTS),
        ("contracts.csv", CONTRACTS),
        ("tickets.csv", tickets),
        ("contacts.csv", contacts),
    ]);
    let book = load::load_book(d.path()).unwrap();
    assert_eq!(book.rows("tickets"), 2);
    assert_eq!(book.warnings.len(), 1, "{:?}", book.warnings);
    assert!(book.warnings[0].contains("1 contact role(s)"));
}

/// Large files are read in chunks; line numbers, key checks and quoted fields that span
/// lines must come out as if the file were read whole.
#[test]
fn errors_in_later_chunks_keep_their_true_line_numbers() {
    let accounts = "account_id,name,segment,created_date\n\
A1,\"Acme,\nInc\",enterprise,2023-01-15\n\
A2,Beta,SMB,2023-06-01\n";
    let mut c = String::from("account_id,contract_id,start_date,end_date,arr,seats\n");
    for i in 0..300 {
        let arr = if i == 170 {
            "lots".to_string()
        } else {
            format!("{}", 100 + i)
        };
        let id = if i == 250 {
            "C3".to_string()
        } else {
            format!("C{i}")
        };
        c.push_str(&format!(
            "A{},{id},2024-01-01,2024-12-31,{arr},5\n",
            1 + i % 2
        ));
    }
    let d = folder(&[("accounts.csv", accounts), ("contracts.csv", &c)]);
    let small = Limits {
        chunk_bytes: 200,
        ..Limits::default()
    };
    let text = match load::load_book_with(d.path(), small) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    };
    // Data row i sits on line i + 2.
    assert!(
        text.contains("contracts.csv, line 172") && text.contains("\"lots\""),
        "{text}"
    );
    assert!(
        text.contains("contracts.csv, line 252") && text.contains("first seen on line 5"),
        "{text}"
    );
    assert_eq!(text.matches("contracts.csv, line").count(), 2, "{text}");
    // The quoted name with a comma and a newline survives chunking.
    let ok = folder(&[("accounts.csv", accounts), ("contracts.csv", CONTRACTS)]);
    let book = load::load_book_with(ok.path(), small).unwrap();
    let names = book
        .frame("accounts")
        .unwrap()
        .column("name")
        .unwrap()
        .clone();
    assert_eq!(names.str().unwrap().get(0), Some("Acme,\nInc"));
    assert_eq!(book.rows("accounts"), 2);
}

/// A header that names a column twice is refused (polars would rename the second copy and
/// the loader would silently read the first).
#[test]
fn duplicate_header_column() {
    let e = with_contracts(
        "account_id,contract_id,start_date,end_date,arr,seats,arr\n\
A1,C1,2024-01-01,2024-12-31,1000,10,2000\n",
    );
    assert!(
        e.contains(
            "contracts.csv: column 'arr' appears more than once in the header (line 1); keep one"
        ),
        "{e}"
    );
}

/// Parquet timestamps with a time zone (Arrow `timestamp[ms, tz=UTC]`, as pyarrow and our
/// own writer produce) are read as the instants they hold.
#[test]
fn zoned_parquet_timestamps_are_read() {
    let d = folder(&[("accounts.csv", ACCOUNTS), ("contracts.csv", CONTRACTS)]);
    // 2025-03-01 23:30 UTC and 2025-03-04 08:00 UTC, in milliseconds since the epoch.
    let opened = 1_740_871_800_000_i64;
    let closed = 1_741_075_200_000_i64;
    let t = Table::new()
        .with("account_id", Column::Str(vec![Some("A1".into())]))
        .with("ticket_id", Column::Str(vec![Some("T1".into())]))
        .with("opened_at", Column::Timestamp(vec![Some(opened)]))
        .with("closed_at", Column::Timestamp(vec![Some(closed)]))
        .with("priority", Column::Str(vec![Some("p2".into())]));
    io::write_table(&d.path().join("tickets.parquet"), &t, Format::Parquet).unwrap();
    let book = load::load_book(d.path()).unwrap();
    assert_eq!(book.rows("tickets"), 1);
    // The table's dates come from opened_at: 23:30 UTC is still the 1st, not the 2nd.
    let (first, last) = book.date_range("tickets").unwrap();
    assert_eq!(
        (first.to_string(), last.to_string()),
        ("2025-03-01".into(), "2025-03-01".into())
    );
}

const ACTIVITIES_HEAD: &str = "account_id,date,type\n";

#[test]
fn a_typo_year_is_located_against_the_books_span_or_skipped_with_a_warning() {
    // Contracts run 2024-01-01 to 2025-01-31: event dates may run from 2014-01-01 to about
    // 2027-01-31 (two years past the span for the dates that define "now").
    let acts = format!(
        "{ACTIVITIES_HEAD}A1,2024-03-01,qbr\nA1,0025-11-26,qbr\nA2,2205-01-10,ebr\nA2,2024-05-01,ebr\n"
    );
    let d = folder(&[
        ("accounts.csv", ACCOUNTS),
        ("contracts.csv", CONTRACTS),
        ("activities.csv", &acts),
    ]);
    let e = errors(d.path());
    assert!(
        e.contains(
            "activities.csv, line 3, column 'date': 0025-11-26 is outside the book's span of dates, \
             2014-01-01 to 2027-01-31"
        ),
        "{e}"
    );
    assert!(
        e.contains("activities.csv, line 4, column 'date': 2205-01-10 is outside"),
        "{e}"
    );
    assert!(e.contains("the input has 2 problems"), "{e}");
    // Skipped: the two rows are dropped, counted, and "now" stays in 2024.
    let skip = Limits {
        skip_out_of_span_dates: true,
        ..Limits::default()
    };
    let book = load::load_book_with(d.path(), skip).unwrap();
    assert_eq!(book.rows("activities"), 2);
    assert_eq!(book.as_of().unwrap().to_string(), "2024-05-02");
    assert!(
        book.warnings.iter().any(|w| w
            == "activities.csv: dropped 2 row(s) with a date outside the book's span \
                (skip_out_of_span_dates), for example line 3 (date = 0025-11-26)"),
        "{:?}",
        book.warnings
    );
}

#[test]
fn an_as_of_date_far_outside_the_book_is_refused_before_any_work() {
    let d = folder(&[("accounts.csv", ACCOUNTS), ("contracts.csv", CONTRACTS)]);
    let as_of = chrono::NaiveDate::from_ymd_opt(2205, 1, 1).unwrap();
    let e = churnlab::workflow::BookContext::open(d.path(), 30, Some(as_of))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "the as-of date 2205-01-01 is outside the book's span of dates, 2014-01-01 to 2027-01-31 (from the contracts)"
    );
}

#[test]
fn windows_1252_text_is_read_with_a_warning_and_damaged_utf8_is_located() {
    let mut latin = b"account_id,name,segment,created_date\nA1,Caf".to_vec();
    latin.extend_from_slice(b"\xE9 Ltd,enterprise,2023-01-15\nA2,Beta,SMB,2023-06-01\n");
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("accounts.csv"), &latin).unwrap();
    fs::write(d.path().join("contracts.csv"), CONTRACTS).unwrap();
    let book = load::load_book(d.path()).unwrap();
    assert_eq!(book.accounts()[0].name, "Café Ltd");
    assert!(
        book.warnings.iter().any(|w| w.starts_with(
            "accounts.csv: 1 line(s) are not UTF-8 (the first on line 2, column 'name')"
        )),
        "{:?}",
        book.warnings
    );
    // UTF-8 'é' and a stray 0xFF on one line: damage, not an encoding.
    let bad = b"account_id,name,segment,created_date\nA1,Acme,enterprise,2023-01-15\nA2,B\xC3\xA9ta,SMB\xFF,2023-06-01\n";
    fs::write(d.path().join("accounts.csv"), bad).unwrap();
    let e = errors(d.path());
    assert!(
        e.contains(
            "accounts.csv, line 3, column 'segment': byte 0xFF is not UTF-8 text, in a line that also holds UTF-8 characters"
        ),
        "{e}"
    );
}

#[test]
fn blank_lines_are_skipped_and_later_lines_keep_their_numbers() {
    let contracts = "account_id,contract_id,start_date,end_date,arr,seats\n\
A1,C1,2024-01-01,2024-12-31,1000,10\n\
\n\
A2,C2,2024-02-01,2025-01-31,lots,5\n\
\n";
    let e = with_contracts(contracts);
    assert!(
        e.contains("contracts.csv, line 4, column 'arr': expected a number"),
        "{e}"
    );
    assert!(e.contains("the input has 1 problem:"), "{e}");
    // Without the bad cell the same file loads: blank lines are not rows.
    let d = folder(&[
        ("accounts.csv", ACCOUNTS),
        ("contracts.csv", &contracts.replace("lots", "500")),
    ]);
    assert_eq!(load::load_book(d.path()).unwrap().rows("contracts"), 2);
}

#[test]
fn lines_after_a_quoted_newline_are_the_lines_an_editor_shows() {
    let accounts = "account_id,name,segment,created_date\n\
A1,\"Acme\nHoldings\",enterprise,2023-01-15\n\
A2,Beta,SMB,2023-13-01\n";
    let d = folder(&[("accounts.csv", accounts), ("contracts.csv", CONTRACTS)]);
    let e = errors(d.path());
    assert!(
        e.contains("accounts.csv, line 4, column 'created_date': expected an ISO-8601 date"),
        "{e}"
    );
}

/// Excel's "CSV UTF-8 (Comma delimited)": a byte-order mark, CRLF line ends, every field
/// quoted, a comma and a doubled quote inside values.
#[test]
fn excel_csv_utf8_with_a_bom_crlf_and_every_field_quoted_loads() {
    let quoted = |text: &str| -> Vec<u8> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        for line in text.lines() {
            let fields: Vec<String> = line.split('|').map(|f| format!("\"{f}\"")).collect();
            out.extend_from_slice(fields.join(",").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    };
    let d = folder(&[]);
    let accounts = quoted(
        "account_id|name|segment|created_date\n\
         A1|Acme, Inc.|enterprise|2023-01-15\n\
         A2|The \"\"Beta\"\" Co|SMB|2023-06-01\n",
    );
    let contracts = quoted(
        "account_id|contract_id|start_date|end_date|arr|seats\n\
         A1|C1|2024-01-01|2024-12-31|1000|10\n\
         A2|C2|2024-02-01|2025-01-31|500|5\n",
    );
    assert!(accounts.starts_with(b"\xEF\xBB\xBF\"account_id\",\"name\""));
    fs::write(d.path().join("accounts.csv"), &accounts).unwrap();
    fs::write(d.path().join("contracts.csv"), &contracts).unwrap();
    let book = load::load_book(d.path()).unwrap_or_else(|e| panic!("{e}"));
    let a = book.accounts();
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].id.as_str(), a[0].name.as_str()), ("A1", "Acme, Inc."));
    assert_eq!(a[1].name, "The \"Beta\" Co");
    assert_eq!(a[1].segment, "smb");
    assert_eq!(book.rows("contracts"), 2);
    assert!(book.warnings.is_empty(), "{:?}", book.warnings);
}

/// Parquet columns that the file already types as the contract wants (dates, numbers) are
/// checked without a round trip through text, with the same messages as CSV's.
#[test]
fn typed_parquet_cells_are_checked_as_text_cells_are() {
    let d = contracts_parquet(
        [None, Some(19754)],
        [Some(20088), Some(20119)],
        [Some(1000.0), Some(-5.0)],
    );
    let e = errors(d.path());
    assert!(
        e.contains(
            "contracts.parquet, row 2, column 'arr': -5 is below the allowed 0; expected a number from 0 to 1e12"
        ),
        "{e}"
    );
    assert!(
        e.contains("contracts.parquet, row 1, column 'start_date': is empty"),
        "{e}"
    );
}
