//! Small statistics shared by the stages: medians, bootstrap percentile intervals.

/// The median (the mean of the middle two for an even count); None for no values.
/// Reorders `v` (a selection, linear time, not a sort; the values are those a sort
/// would put in the middle).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    let (below, &mut mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    Some(if n % 2 == 1 {
        mid
    } else {
        // The largest value below the middle one is the sorted order's previous one.
        let prev = below.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
        (prev + mid) / 2.0
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
    fn medians_by_selection_are_the_sorted_middle() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut [5.0, -1.0, 5.0, 2.0, 9.0]), Some(5.0));
        assert_eq!(median(&mut [1.0, 1.0, 7.0, 1.0]), Some(1.0));
        // Against a sort, on shuffled values with ties, odd and even counts.
        let mut rng = crate::common::rng::Rng::new(9);
        for n in [2usize, 3, 10, 11, 1000, 1001] {
            let v: Vec<f64> = (0..n).map(|_| (rng.f64() * 20.0).floor()).collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            };
            assert_eq!(median(&mut v.clone()), Some(want), "n = {n}");
        }
    }

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
