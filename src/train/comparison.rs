//! What a challenger-against-champion comparison found, and the promotion rule
//! ([`super::compare`] computes it; the training report, the model card and the
//! registry record it).

use serde::{Deserialize, Serialize};

use crate::model::Family;
use crate::train::metrics::Metrics;

/// Paired bootstrap draws of the AUC difference.
pub const DRAWS: usize = 1000;
/// The lower bound of the 95% interval of AUC(challenger) - AUC(champion) must be above this.
pub const MIN_AUC_DELTA: f64 = -0.01;
/// The challenger's expected calibration error may exceed the champion's by at most this.
pub const MAX_CALIBRATION_WORSENING: f64 = 0.01;
/// The promotion rule in words (metrics.json, the model card and the report quote it).
pub const RULE: &str = "promote the challenger when the 95% paired-bootstrap interval of its ROC-AUC minus the champion's has a lower bound above -0.01 (not credibly worse by a point of AUC), and its calibration error is at most 0.01 above the champion's; a champion that cannot score the new data is replaced";

/// One model's figures on the compared rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub run_id: String,
    pub family: Family,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub brier: f64,
    pub calibration_error: f64,
    /// Share of the churned ARR held by the top 10% of rows by the model's score.
    pub churned_arr_capture_top_10: Option<f64>,
}

impl Side {
    pub(crate) fn new(run_id: &str, family: Family, m: &Metrics) -> Side {
        Side {
            run_id: run_id.to_string(),
            family,
            roc_auc: m.roc_auc,
            pr_auc: m.pr_auc,
            brier: m.brier,
            calibration_error: m.calibration_error,
            churned_arr_capture_top_10: m.top_10.arr_capture,
        }
    }
}

/// The challenger against the champion, and the decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The previous model's folder.
    pub champion_path: String,
    pub champion_run_id: String,
    /// Which rows were compared, in words.
    pub rows_basis: String,
    pub rows: usize,
    pub positives: usize,
    /// The champion was trained on (some of) the compared rows' labels.
    pub champion_in_sample: bool,
    pub challenger: Side,
    /// None when the champion could not score the rows (see `not_compared`).
    pub champion: Option<Side>,
    /// AUC(challenger) - AUC(champion) on the compared rows.
    pub auc_difference: Option<f64>,
    /// Its 95% paired-bootstrap interval.
    pub auc_difference_interval: Option<(f64, f64)>,
    pub draws: usize,
    /// Why the champion did not score the rows, when it did not.
    pub not_compared: Option<String>,
    pub promoted: bool,
    pub rule: String,
    /// The decision with its reason, in one sentence.
    pub decision: String,
}
