//! What a simulation is asked for: the book's size, period, seed, usage grain and file
//! format.

use chrono::NaiveDate;
use serde::Serialize;

use crate::input::io::Format;

/// How finely product usage is aggregated in the `usage` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Daily,
    Weekly,
    Monthly,
}

impl std::str::FromStr for Grain {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "daily" => Ok(Grain::Daily),
            "weekly" => Ok(Grain::Weekly),
            "monthly" => Ok(Grain::Monthly),
            o => Err(format!(
                "unknown grain '{o}': expected daily, weekly or monthly"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Accounts in the book: those live at the start plus those signing during it.
    pub accounts: usize,
    pub months: u32,
    /// First day of the simulated period (a month start).
    pub start: NaiveDate,
    pub seed: u64,
    pub grain: Grain,
    pub format: Format,
    /// Accounts simulated together before their rows are written.
    pub chunk: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            accounts: 2000,
            months: 24,
            start: NaiveDate::from_ymd_opt(2024, 11, 1).unwrap_or(NaiveDate::MIN),
            seed: 42,
            grain: Grain::Monthly,
            format: Format::Csv,
            chunk: 2000,
        }
    }
}
