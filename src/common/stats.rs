//! Small statistics shared by the stages: medians, bootstrap percentile intervals.

/// The median (the mean of the middle two for an even count); None for no values. Sorts
/// `v` in place.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The 95% percentile interval of bootstrap values (nearest rank: the values at ranks
/// `round(0.025 (n - 1))` and `round(0.975 (n - 1))` of the sorted finite values); NaN
/// when none is finite.
pub fn percentile_ci(mut v: Vec<f64>) -> (f64, f64) {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // 0..=100: ranks round(2.5) = 3 (halves round away from zero) and
        // round(97.5) = 98.
        let v: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(percentile_ci(v), (3.0, 98.0));
        let (lo, hi) = percentile_ci(vec![f64::NAN]);
        assert!(lo.is_nan() && hi.is_nan());
    }
}
