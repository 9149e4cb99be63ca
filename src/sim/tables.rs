//! The simulated rows as tables of the data contract (and the truth's), written a chunk
//! of accounts at a time.

use chrono::NaiveDate;

use super::odds::{DRIVER_WEIGHTS, PLAY_EFFECTS};
use super::rows::AccountOut;
use super::world::{FEATURES, SEGMENTS};
use crate::common::dates::to_days;
use crate::error::Result;
use crate::input::io::TableWriter;
use crate::input::table::{Column, Table};

const PRIORITIES: [&str; 4] = ["p1", "p2", "p3", "p4"];

fn account_id(idx: usize) -> String {
    format!("A{idx:06}")
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn day(d: NaiveDate) -> Option<i32> {
    Some(to_days(d))
}

pub(super) struct Chunk<'a>(&'a [AccountOut]);

impl Chunk<'_> {
    fn accounts(&self) -> Table {
        let a = self.0;
        Table::new()
            .with(
                "account_id",
                Column::Str(a.iter().map(|x| s(account_id(x.idx))).collect()),
            )
            .with(
                "name",
                Column::Str(a.iter().map(|x| s(x.name.clone())).collect()),
            )
            .with(
                "segment",
                Column::Str(a.iter().map(|x| s(SEGMENTS[x.segment].name)).collect()),
            )
            .with(
                "industry",
                Column::Str(a.iter().map(|x| s(x.industry)).collect()),
            )
            .with(
                "region",
                Column::Str(a.iter().map(|x| s(x.region)).collect()),
            )
            .with(
                "csm",
                Column::Str(a.iter().map(|x| s(x.csm.clone())).collect()),
            )
            .with(
                "created_date",
                Column::Date(a.iter().map(|x| day(x.created)).collect()),
            )
            .with(
                "parent_id",
                Column::Str(a.iter().map(|x| x.parent.map(account_id)).collect()),
            )
    }

    fn rows<R>(&self, get: impl Fn(&AccountOut) -> &Vec<R>) -> Vec<(usize, &R)> {
        self.0
            .iter()
            .flat_map(|a| get(a).iter().map(move |r| (a.idx, r)))
            .collect()
    }

    /// Like [`Chunk::rows`], with each row's number within its account (for ids).
    fn numbered<R>(&self, get: impl Fn(&AccountOut) -> &Vec<R>) -> Vec<(usize, usize, &R)> {
        self.0
            .iter()
            .flat_map(|a| get(a).iter().enumerate().map(move |(k, r)| (a.idx, k, r)))
            .collect()
    }

    fn contracts(&self) -> Table {
        let r = self.rows(|a| &a.contracts);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "contract_id",
                Column::Str(
                    r.iter()
                        .map(|(i, c)| s(format!("C{i:06}-{:02}", c.id)))
                        .collect(),
                ),
            )
            .with(
                "start_date",
                Column::Date(r.iter().map(|(_, c)| day(c.start)).collect()),
            )
            .with(
                "end_date",
                Column::Date(r.iter().map(|(_, c)| day(c.end)).collect()),
            )
            .with(
                "arr",
                Column::Float(r.iter().map(|(_, c)| Some(c.arr)).collect()),
            )
            .with(
                "seats",
                Column::Int(r.iter().map(|(_, c)| Some(c.seats as i64)).collect()),
            )
            .with(
                "plan",
                Column::Str(r.iter().map(|(_, c)| s(c.plan)).collect()),
            )
            .with(
                "discount",
                Column::Float(
                    r.iter()
                        .map(|(_, c)| Some((c.discount * 1000.0).round() / 1000.0))
                        .collect(),
                ),
            )
    }

    fn usage(&self) -> Table {
        let r = self.rows(|a| &a.usage);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, u)| day(u.date)).collect()),
            )
            .with(
                "feature",
                Column::Str(
                    r.iter()
                        .map(|(_, u)| s(FEATURES[u.feature as usize].0))
                        .collect(),
                ),
            )
            .with(
                "user_id",
                Column::Str(
                    r.iter()
                        .map(|(i, u)| s(format!("U{i:06}-{:04}", u.user)))
                        .collect(),
                ),
            )
            .with(
                "events",
                Column::Int(r.iter().map(|(_, u)| Some(u.events as i64)).collect()),
            )
            .with(
                "minutes",
                Column::Int(r.iter().map(|(_, u)| Some(u.minutes as i64)).collect()),
            )
    }

    fn tickets(&self) -> Table {
        let r = self.numbered(|a| &a.tickets);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _, _)| s(account_id(*i))).collect()),
            )
            .with(
                "ticket_id",
                Column::Str(
                    r.iter()
                        .map(|(i, k, _)| s(format!("T{i:06}-{k:04}")))
                        .collect(),
                ),
            )
            .with(
                "opened_at",
                Column::Timestamp(r.iter().map(|(_, _, t)| Some(t.opened)).collect()),
            )
            .with(
                "closed_at",
                Column::Timestamp(r.iter().map(|(_, _, t)| t.closed).collect()),
            )
            .with(
                "priority",
                Column::Str(
                    r.iter()
                        .map(|(_, _, t)| s(PRIORITIES[t.priority as usize]))
                        .collect(),
                ),
            )
            .with(
                "csat",
                Column::Int(r.iter().map(|(_, _, t)| t.csat.map(i64::from)).collect()),
            )
            .with(
                "escalated",
                Column::Bool(r.iter().map(|(_, _, t)| Some(t.escalated)).collect()),
            )
    }

    fn nps(&self) -> Table {
        let r = self.rows(|a| &a.nps);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, n)| day(n.date)).collect()),
            )
            .with(
                "score",
                Column::Int(r.iter().map(|(_, n)| Some(n.score as i64)).collect()),
            )
            .with(
                "contact_id",
                Column::Str(
                    r.iter()
                        .map(|(i, n)| s(format!("P{i:06}-{:03}", n.contact)))
                        .collect(),
                ),
            )
    }

    fn contacts(&self) -> Table {
        let r = self.rows(|a| &a.contacts);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "contact_id",
                Column::Str(
                    r.iter()
                        .map(|(i, c)| s(format!("P{i:06}-{:03}", c.id)))
                        .collect(),
                ),
            )
            .with(
                "role",
                Column::Str(r.iter().map(|(_, c)| s(c.role)).collect()),
            )
            .with(
                "start_date",
                Column::Date(r.iter().map(|(_, c)| day(c.start)).collect()),
            )
            .with(
                "end_date",
                Column::Date(r.iter().map(|(_, c)| c.end.map(to_days)).collect()),
            )
    }

    fn invoices(&self) -> Table {
        let r = self.numbered(|a| &a.invoices);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _, _)| s(account_id(*i))).collect()),
            )
            .with(
                "invoice_id",
                Column::Str(
                    r.iter()
                        .map(|(i, k, _)| s(format!("I{i:06}-{k:03}")))
                        .collect(),
                ),
            )
            .with(
                "due_date",
                Column::Date(r.iter().map(|(_, _, v)| day(v.due)).collect()),
            )
            .with(
                "amount",
                Column::Float(r.iter().map(|(_, _, v)| Some(v.amount)).collect()),
            )
            .with(
                "paid_date",
                Column::Date(r.iter().map(|(_, _, v)| v.paid.map(to_days)).collect()),
            )
    }

    fn activities(&self) -> Table {
        let r = self.rows(|a| &a.activities);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, a)| day(a.date)).collect()),
            )
            .with(
                "type",
                Column::Str(
                    r.iter()
                        .map(|(_, a)| s(PLAY_EFFECTS[a.play as usize].0))
                        .collect(),
                ),
            )
    }

    fn truth_months(&self) -> Table {
        let r = self.rows(|a| &a.truth);
        let mut t = Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "snapshot_date",
                Column::Date(r.iter().map(|(_, m)| day(m.date)).collect()),
            )
            .with(
                "p_churn_90d",
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.p90 * 1e6).round() / 1e6))
                        .collect(),
                ),
            )
            .with(
                "renewal_in_horizon",
                Column::Bool(r.iter().map(|(_, m)| Some(m.renewal_in_horizon)).collect()),
            );
        for (k, (name, _)) in PLAY_EFFECTS.iter().enumerate() {
            t = t.with(
                &format!("effect_{name}_90d"),
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.play_effect_90d[k] * 1e6).round() / 1e6))
                        .collect(),
                ),
            );
        }
        for (k, (name, _)) in PLAY_EFFECTS.iter().enumerate() {
            t = t.with(
                &format!("caused_{name}_90d"),
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.caused_90d[k] * 1e6).round() / 1e6))
                        .collect(),
                ),
            );
        }
        for (k, (name, _, _)) in DRIVER_WEIGHTS.iter().enumerate() {
            t = t.with(
                &format!("{name}_risk"),
                Column::Float(
                    r.iter()
                        .map(|(_, m)| Some((m.risks[k] * 1e4).round() / 1e4))
                        .collect(),
                ),
            );
        }
        t
    }

    fn truth_accounts(&self) -> Table {
        let a = self.0;
        Table::new()
            .with(
                "account_id",
                Column::Str(a.iter().map(|x| s(account_id(x.idx))).collect()),
            )
            .with(
                "fit",
                Column::Float(
                    a.iter()
                        .map(|x| Some((x.fit * 1e4).round() / 1e4))
                        .collect(),
                ),
            )
            .with(
                "churn_date",
                Column::Date(a.iter().map(|x| x.churn.map(|c| to_days(c.0))).collect()),
            )
            .with(
                "churn_driver",
                Column::Str(a.iter().map(|x| x.churn.map(|c| c.1.to_string())).collect()),
            )
    }

    fn truth_events(&self) -> Table {
        let r = self.rows(|a| &a.events);
        Table::new()
            .with(
                "account_id",
                Column::Str(r.iter().map(|(i, _)| s(account_id(*i))).collect()),
            )
            .with(
                "date",
                Column::Date(r.iter().map(|(_, e)| day(e.0)).collect()),
            )
            .with(
                "event",
                Column::Str(r.iter().map(|(_, e)| s(e.1)).collect()),
            )
    }
}

pub(super) fn write_chunk(
    outs: &[AccountOut],
    writers: &mut [TableWriter],
    truth_writers: &mut [TableWriter],
) -> Result<()> {
    let c = Chunk(outs);
    let tables = [
        c.accounts(),
        c.contracts(),
        c.usage(),
        c.tickets(),
        c.nps(),
        c.contacts(),
        c.invoices(),
        c.activities(),
    ];
    for (w, t) in writers.iter_mut().zip(tables.iter()) {
        w.write(t)?;
    }
    let truth = [c.truth_months(), c.truth_accounts(), c.truth_events()];
    for (w, t) in truth_writers.iter_mut().zip(truth.iter()) {
        w.write(t)?;
    }
    Ok(())
}
