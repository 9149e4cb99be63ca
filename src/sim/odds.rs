//! A renewal's odds of churn: the weight of each latent risk driver, the true effects of
//! the CS plays and how long they last, the first renewal's extra risk.

use chrono::NaiveDate;

use super::world::Segment;

/// Log-odds of churning at a renewal per unit of each standardised latent risk driver.
pub(crate) const DRIVER_WEIGHTS: [(&str, f64, &str); 5] = [
    (
        "adoption",
        1.20,
        "(0.59 - adoption) / 0.22; adoption is the latent share of value realised (0..1)",
    ),
    (
        "relationship",
        0.85,
        "(R - 0.36) / 0.45; R rises when the executive sponsor (1.6) or champion (1.0) leaves, decaying over ~5 months, plus 0.6 with no sponsor",
    ),
    (
        "support",
        0.70,
        "(pain - 0.30) / 0.45; pain jumps with incidents (ticket storms), decays 20% a month and multiplies the ticket rate",
    ),
    (
        "sentiment",
        0.45,
        "-(sentiment + 0.07) / 1.16; sentiment is an AR(1) of fit, adoption, pain and relationship",
    ),
    (
        "commercial",
        0.30,
        "(distress - 0.23) / 0.315; distress is the customer's financial stress",
    ),
];

/// Direct effect of a CS play on the renewal log-odds, for renewals within
/// [`PLAY_EFFECT_DAYS`] after the play.
pub(crate) const PLAY_EFFECTS: [(&str, f64); 6] = [
    ("onboarding", -0.40),
    ("qbr", -0.15),
    ("ebr", -0.45),
    ("training", -0.30),
    ("success_plan", -0.35),
    ("exec_outreach", -0.50),
];
pub(crate) const PLAY_EFFECT_DAYS: i64 = 180;
/// The truth's treatment: a play in the month before a month start (the pipeline's
/// plays analysis asks the same of each snapshot: a play since the one before).
pub(crate) const TREATMENT_MONTHS: i32 = 1;
/// Extra log-odds at an account's first renewal.
pub(crate) const FIRST_RENEWAL: f64 = 0.35;
/// The truth's churn horizon (days), as the pipeline's default.
pub(crate) const HORIZON_DAYS: i64 = 90;

pub(super) fn renewal_logit(
    seg: &Segment,
    monthly: bool,
    risks: &[f64; 5],
    first_renewal: bool,
) -> f64 {
    let base = if monthly {
        seg.base_monthly
    } else {
        seg.base_annual
    };
    let drivers: f64 = DRIVER_WEIGHTS
        .iter()
        .zip(risks)
        .map(|((_, w, _), r)| w * r)
        .sum();
    base + drivers + if first_renewal { FIRST_RENEWAL } else { 0.0 }
}

/// Sum of the effects of `plays` (date, kind) active for a renewal on day `e` and known
/// by `known_by` (plays of one kind do not add up), leaving out the plays `skip` says.
pub(super) fn play_effect(
    plays: &[(NaiveDate, usize)],
    e: NaiveDate,
    known_by: NaiveDate,
    skip: impl Fn(NaiveDate, usize) -> bool,
) -> f64 {
    let mut active = [false; 6];
    for (d, p) in plays {
        if *d <= known_by && *d <= e && (e - *d).num_days() <= PLAY_EFFECT_DAYS && !skip(*d, *p) {
            active[*p] = true;
        }
    }
    (0..6)
        .filter(|p| active[*p])
        .map(|p| PLAY_EFFECTS[p].1)
        .sum()
}
