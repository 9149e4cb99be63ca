//! The logistic link, in one place: probabilities to log-odds and back.

/// Probabilities closer to 0 or 1 than this are clamped before taking the logit, so a
/// model's certainty never becomes an infinite log-odds.
pub(crate) const LOGIT_CLAMP: f64 = 1e-9;

/// Log-odds of `p`, clamped to [`LOGIT_CLAMP`, 1 - `LOGIT_CLAMP`].
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(LOGIT_CLAMP, 1.0 - LOGIT_CLAMP);
    (p / (1.0 - p)).ln()
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_inverts_sigmoid_and_clamps() {
        for x in [-5.0, -0.3, 0.0, 1.7, 6.0] {
            assert!((logit(sigmoid(x)) - x).abs() < 1e-9);
        }
        // ln(1e-9 / (1 - 1e-9)) = -20.7232...
        assert!((logit(0.0) + 20.723_265_835_946_41).abs() < 1e-9);
        // 1 - (1 - 1e-9) is 1e-9 only to about 1e-7 relative in binary floating point.
        assert!((logit(1.0) - 20.723_265_835_946_41).abs() < 1e-6);
    }
}
