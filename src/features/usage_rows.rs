//! The usage table as the features read it: its rows borrowed from the validated frame
//! ([`UsageRows`]), bucketed by account ([`ByAccount`]) so that a window of days is cut
//! out of one account's rows, and an account's sums over one snapshot's window.

use std::borrow::Cow;

use polars::prelude::*;

use super::window::pe;
use crate::error::{Error, Result};
use crate::input::load::Loaded;

/// The kept usage rows bucketed by account, each account's rows in table order, to cut
/// a window of days out of one account's rows: one counting pass instead of one filter
/// per snapshot. Rows without an account or a day are left out (no window holds them).
pub(super) struct ByAccount {
    /// Account a's rows are `rows[starts[a]..starts[a + 1]]`.
    starts: Vec<usize>,
    rows: Vec<u32>,
    /// Whether account a's rows, in table order, have non-decreasing days (then a window
    /// is one contiguous run of them, found by bisection).
    day_ordered: Vec<bool>,
    /// Each feature's first day of use, ascending (the features offered before t).
    first_use: Vec<i32>,
}

impl ByAccount {
    pub(super) fn of(u: &UsageRows) -> Self {
        let valid = |i: usize| u.kept(i) && u.account[i] != u32::MAX && u.day[i] != i32::MIN;
        let n_accounts = (0..u.len())
            .filter(|&i| valid(i))
            .map(|i| u.account[i] as usize + 1)
            .max()
            .unwrap_or(0);
        let mut starts = vec![0usize; n_accounts + 1];
        let mut first_use = vec![i32::MAX; u.feature_names.len()];
        for i in 0..u.len() {
            if valid(i) {
                starts[u.account[i] as usize + 1] += 1;
                if let Some(e) = first_use.get_mut(u.feature[i] as usize) {
                    *e = (*e).min(u.day[i]);
                }
            }
        }
        for a in 0..n_accounts {
            starts[a + 1] += starts[a];
        }
        let mut next = starts.clone();
        let mut rows = vec![0u32; starts[n_accounts]];
        let mut day_ordered = vec![true; n_accounts];
        let mut last_day = vec![i32::MIN; n_accounts];
        for i in 0..u.len() {
            if valid(i) {
                let a = u.account[i] as usize;
                rows[next[a]] = i as u32;
                next[a] += 1;
                if u.day[i] < last_day[a] {
                    day_ordered[a] = false;
                }
                last_day[a] = u.day[i];
            }
        }
        first_use.sort_unstable();
        ByAccount {
            starts,
            rows,
            day_ordered,
            first_use,
        }
    }

    /// Account a's rows with `lo <= day < hi`, in table order.
    pub(super) fn window<'s>(
        &'s self,
        u: &'s UsageRows,
        a: usize,
        lo: i64,
        hi: i64,
    ) -> impl Iterator<Item = usize> + 's {
        let all = self.rows_of(a);
        let day = |r: &u32| i64::from(u.day[*r as usize]);
        let ordered = self.day_ordered(a);
        let run = if ordered {
            let k0 = all.partition_point(|r| day(r) < lo);
            let k1 = all.partition_point(|r| day(r) < hi);
            &all[k0..k1.max(k0)]
        } else {
            all
        };
        run.iter()
            .filter(move |r| ordered || (lo <= day(r) && day(r) < hi))
            .map(|&r| r as usize)
    }

    /// Whether account a's rows, in table order, are in day order.
    pub(super) fn day_ordered(&self, a: usize) -> bool {
        self.day_ordered.get(a).copied().unwrap_or(true)
    }

    /// Account a's rows in table order.
    pub(super) fn rows_of(&self, a: usize) -> &[u32] {
        self.starts
            .get(a + 1)
            .map_or(&[], |&end| &self.rows[self.starts[a]..end])
    }

    /// Account a's last day of use before `t`.
    pub(super) fn last_day_before(&self, u: &UsageRows, a: usize, t: i64) -> Option<i32> {
        let before = self.window(u, a, i64::from(i32::MIN), t).map(|i| u.day[i]);
        if self.day_ordered(a) {
            // Days ascend: the last is the latest.
            before.last()
        } else {
            before.max()
        }
    }

    pub(super) fn features_before(&self, t: i64) -> usize {
        self.first_use.partition_point(|&d| i64::from(d) < t)
    }
}

/// The user code of a row without a user (or of every row without a user_id column).
pub(super) const NO_USER: u32 = u32::MAX;

/// The usage rows as the windows read them, borrowed from the validated frame where its
/// columns are contiguous and without gaps (copied with a stand-in for a gap otherwise):
/// accounts, days, feature and user codes, events and minutes. A row without events is
/// skipped by every reader ([`UsageRows::kept`]).
pub(super) struct UsageRows<'a> {
    pub(super) account: Cow<'a, [u32]>,
    pub(super) day: Cow<'a, [i32]>,
    pub(super) feature: Cow<'a, [u32]>,
    /// Feature names by code.
    pub(super) feature_names: &'a [String],
    /// Whether each feature code is sticky (set by [`UsageRows::mark_sticky`]).
    pub(super) sticky: Vec<bool>,
    pub(super) events: Cow<'a, [f64]>,
    /// User codes ([`NO_USER`] on a row without one); None without a user_id column.
    pub(super) user: Option<Cow<'a, [u32]>>,
    /// Minutes (NaN on a row without them); None without a minutes column.
    pub(super) minutes: Option<Cow<'a, [f64]>>,
}

/// One account's sums over one snapshot's 90-day window: the usage features that count.
#[derive(Clone, Debug, Default)]
pub(super) struct WindowSums {
    pub(super) events_30d: f64,
    pub(super) events_prev_30d: f64,
    pub(super) events_90d: f64,
    pub(super) minutes_30d: f64,
    pub(super) features_30d: usize,
    pub(super) sticky_features_30d: usize,
    pub(super) users_30d: usize,
    pub(super) users_prev_30d: usize,
    pub(super) sticky_users_30d: usize,
    pub(super) days_30d: usize,
    /// Distinct (user, day) pairs: daily active users summed over the days.
    pub(super) user_days_30d: usize,
}

/// Distinct values seen, counted at the end.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) features: Vec<u32>,
    pub(super) sticky_features: Vec<u32>,
    pub(super) users: Vec<u32>,
    pub(super) users_prev: Vec<u32>,
    pub(super) sticky_users: Vec<u32>,
    pub(super) days: Vec<i32>,
    pub(super) user_days: Vec<(u32, i32)>,
}

impl Seen {
    pub(super) fn clear(&mut self) {
        self.features.clear();
        self.sticky_features.clear();
        self.users.clear();
        self.users_prev.clear();
        self.sticky_users.clear();
        self.days.clear();
        self.user_days.clear();
    }
}

fn distinct<T: Ord>(v: &mut Vec<T>) -> usize {
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// A numeric column as a slice: borrowed when it is one chunk without nulls, else copied
/// with `none` standing in for each null.
pub(super) fn slice<T: PolarsNumericType>(
    ca: &ChunkedArray<T>,
    none: T::Native,
) -> Cow<'_, [T::Native]> {
    match ca.cont_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(ca.iter().map(|v| v.unwrap_or(none)).collect()),
    }
}

impl<'a> UsageRows<'a> {
    pub(super) fn of(usage: &'a Loaded) -> Result<Self> {
        let u = &usage.frame;
        let column = |name: &str| u.column(name).map_err(pe);
        let optional = |name: &str| u.column(name).ok();
        let date = column("date")?;
        let day = match date.dtype() {
            DataType::Date => slice(date.date().map_err(pe)?.physical(), i32::MIN),
            _ => Cow::Owned(
                date.cast(&DataType::Int32)
                    .map_err(pe)?
                    .i32()
                    .map_err(pe)?
                    .iter()
                    .map(|d| d.unwrap_or(i32::MIN))
                    .collect(),
            ),
        };
        let feature_names = usage.names("feature").ok_or_else(|| {
            Error::Internal("the usage table's feature column is not coded".into())
        })?;
        Ok(UsageRows {
            account: slice(column("account_idx")?.u32().map_err(pe)?, u32::MAX),
            day,
            feature: slice(column("feature")?.u32().map_err(pe)?, u32::MAX),
            feature_names,
            sticky: vec![false; feature_names.len()],
            events: slice(column("events")?.f64().map_err(pe)?, 0.0),
            user: optional("user_id")
                .map(|c| c.u32().map(|c| slice(c, NO_USER)))
                .transpose()
                .map_err(pe)?,
            minutes: optional("minutes")
                .map(|c| c.f64().map(|c| slice(c, f64::NAN)))
                .transpose()
                .map_err(pe)?,
        })
    }

    pub(super) fn len(&self) -> usize {
        self.account.len()
    }

    /// Whether row `i` counts: it has events (a row of zero events is no use).
    pub(super) fn kept(&self, i: usize) -> bool {
        self.events[i] > 0.0
    }

    pub(super) fn user_of(&self, i: usize) -> u32 {
        self.user.as_ref().map_or(NO_USER, |u| u[i])
    }

    pub(super) fn minutes_of(&self, i: usize) -> Option<f64> {
        self.minutes.as_ref().map(|m| m[i]).filter(|m| !m.is_nan())
    }

    pub(super) fn is_sticky(&self, i: usize) -> bool {
        self.sticky
            .get(self.feature[i] as usize)
            .copied()
            .unwrap_or(false)
    }

    pub(super) fn mark_sticky(&mut self, sticky: &[String]) {
        self.sticky = self
            .feature_names
            .iter()
            .map(|f| sticky.contains(f))
            .collect();
    }

    /// Account a's sums over `[t - 90, t)`; None when it has no row there. Rows are read
    /// in table order, so each sum adds in the order a filter would. `seen` is scratch
    /// space, reused between calls.
    pub(super) fn window_sums(
        &self,
        by: &ByAccount,
        a: usize,
        t: i64,
        daily: bool,
        seen: &mut Seen,
    ) -> Option<WindowSums> {
        seen.clear();
        let mut w = WindowSums::default();
        let mut any = false;
        for i in by.window(self, a, t - 90, t) {
            any = true;
            let d = self.day[i];
            let e = self.events[i];
            let user = self.user_of(i);
            let sticky = self.is_sticky(i);
            w.events_90d += e;
            if i64::from(d) >= t - 30 {
                w.events_30d += e;
                if let Some(m) = self.minutes_of(i) {
                    w.minutes_30d += m;
                }
                seen.features.push(self.feature[i]);
                if sticky {
                    seen.sticky_features.push(self.feature[i]);
                }
                if user != NO_USER {
                    seen.users.push(user);
                    if sticky {
                        seen.sticky_users.push(user);
                    }
                }
                if daily {
                    seen.days.push(d);
                    seen.user_days.push((user, d));
                }
            } else if i64::from(d) >= t - 60 {
                w.events_prev_30d += e;
                if user != NO_USER {
                    seen.users_prev.push(user);
                }
            }
        }
        if !any {
            return None;
        }
        w.features_30d = distinct(&mut seen.features);
        w.sticky_features_30d = distinct(&mut seen.sticky_features);
        w.users_30d = distinct(&mut seen.users);
        w.users_prev_30d = distinct(&mut seen.users_prev);
        w.sticky_users_30d = distinct(&mut seen.sticky_users);
        w.days_30d = distinct(&mut seen.days);
        w.user_days_30d = distinct(&mut seen.user_days);
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six rows in table order; account 0's are out of day order, row 4 has no events.
    fn rows(names: &[String]) -> UsageRows<'_> {
        UsageRows {
            account: Cow::Owned(vec![0, 1, 0, 1, 0, 1]),
            day: Cow::Owned(vec![10, 5, 3, 20, 50, 25]),
            feature: Cow::Owned(vec![0, 1, 1, 0, 0, 0]),
            feature_names: names,
            sticky: vec![false, false],
            events: Cow::Owned(vec![1.0, 2.0, 4.0, 8.0, 0.0, 16.0]),
            user: Some(Cow::Owned(vec![0, 1, 1, 0, 0, 2])),
            minutes: None,
        }
    }

    #[test]
    fn windows_read_each_accounts_rows_in_table_order() {
        let names = vec!["reports".to_string(), "exports".to_string()];
        let u = rows(&names);
        let by = ByAccount::of(&u);
        assert_eq!(by.day_ordered, vec![false, true]);
        let window = |a, lo, hi| by.window(&u, a, lo, hi).collect::<Vec<_>>();
        // Account 0 (days 10, 3): filtered, in table order; its zero-event row is out.
        assert_eq!(window(0, 0, 100), vec![0, 2]);
        assert_eq!(window(0, 4, 11), vec![0]);
        // Account 1 (days 5, 20, 25): a bisected run.
        assert_eq!(window(1, 6, 26), vec![3, 5]);
        assert_eq!(window(1, 26, 90), Vec::<usize>::new());
        assert_eq!(window(7, 0, 100), Vec::<usize>::new());
        assert_eq!(by.last_day_before(&u, 0, 11), Some(10));
        assert_eq!(by.last_day_before(&u, 0, 10), Some(3));
        assert_eq!(by.last_day_before(&u, 0, 3), None);
        assert_eq!(by.last_day_before(&u, 1, 21), Some(20));
        // First use: "exports" on day 3, "reports" on day 10 (day 50 has no events).
        assert_eq!(by.features_before(4), 1);
        assert_eq!(by.features_before(11), 2);
        // Account 1 at t = 26: all three rows in the 90 days, in the 30 days [-4, 26).
        let mut seen = Seen::default();
        let w = u.window_sums(&by, 1, 26, false, &mut seen).unwrap();
        assert_eq!(
            (w.events_90d, w.events_30d, w.events_prev_30d),
            (26.0, 26.0, 0.0)
        );
        assert_eq!((w.features_30d, w.users_30d), (2, 3));
        // At t = 60: days 5 and 20 fall in [0, 30) (the prior 30 days), 25 too.
        let w = u.window_sums(&by, 1, 60, false, &mut seen).unwrap();
        assert_eq!(
            (w.events_30d, w.events_prev_30d, w.users_prev_30d),
            (0.0, 26.0, 3)
        );
        assert!(u.window_sums(&by, 1, 200, false, &mut seen).is_none());
    }
}
