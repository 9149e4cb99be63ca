//! Categorical features from the accounts table (segment, industry, plan, region).

use crate::book::snapshot::SpineRow;
use crate::input::load::Book;

pub(super) fn categoricals(book: &Book, rows: &[SpineRow]) -> Vec<Vec<Option<String>>> {
    let text = |name: &str| -> Vec<Option<String>> {
        book.frame("accounts")
            .and_then(|df| df.column(name).ok())
            .and_then(|c| {
                c.str()
                    .ok()
                    .map(|s| s.iter().map(|v| v.map(str::to_string)).collect())
            })
            .unwrap_or_default()
    };
    let cols: Vec<Vec<Option<String>>> = ["segment", "industry", "region"]
        .iter()
        .map(|n| text(n))
        .collect();
    let plans = book.plans();
    let mut out: Vec<Vec<Option<String>>> =
        (0..4).map(|_| Vec::with_capacity(rows.len())).collect();
    for r in rows {
        let a = r.account as usize;
        for k in 0..3 {
            out[k].push(cols[k].get(a).cloned().flatten());
        }
        let plan = plans
            .get(&r.account)
            .and_then(|ps| {
                ps.iter()
                    .filter(|(start, _)| *start <= r.t)
                    .max_by_key(|(start, _)| *start)
            })
            .map(|(_, p)| p.clone());
        out[3].push(plan);
    }
    out
}
