//! A small deterministic random number generator (xoshiro256++ seeded by SplitMix64) and
//! the few distributions the simulator needs. Kept in-crate so the same seed gives the
//! same bytes across dependency upgrades (see docs/decisions.md).

#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
            ],
        }
    }

    /// An independent stream for `(seed, stream)`, e.g. one per account, so results do
    /// not depend on the order or the thread in which streams are used.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut x = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mixed = splitmix(&mut x);
        Rng::new(mixed ^ stream)
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in [0, n). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    pub fn range_i64(&mut self, lo: i64, hi_inclusive: i64) -> i64 {
        lo + self.below((hi_inclusive - lo + 1).max(1) as u64) as i64
    }

    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box-Muller, one value per call for simplicity).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-300);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn gauss(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.normal()
    }

    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson: Knuth's method for small means, a rounded normal for large ones.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 40.0 {
            return self.gauss(lambda, lambda.sqrt()).round().max(0.0) as u64;
        }
        let l = (-lambda).exp();
        let mut k = 0u64;
        let mut p = 1.0;
        loop {
            p *= self.f64();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }

    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n > 60 {
            let mean = n as f64 * p;
            let sd = (mean * (1.0 - p)).max(0.0).sqrt();
            return self.gauss(mean, sd).round().clamp(0.0, n as f64) as u64;
        }
        (0..n).filter(|_| self.bernoulli(p)).count() as u64
    }

    /// Index drawn with probability proportional to `weights`.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Positions of a seeded sample of whole groups (accounts) holding about `max_rows` of
/// the rows, whose groups are `groups`; None when there are no more rows than that.
pub fn sample_groups(groups: &[u32], max_rows: usize, seed: u64) -> Option<Vec<usize>> {
    if groups.len() <= max_rows {
        return None;
    }
    let rate = max_rows as f64 / groups.len() as f64;
    Some(
        (0..groups.len())
            .filter(|&i| Rng::stream(seed, u64::from(groups[i])).f64() < rate)
            .collect(),
    )
}

/// Positions of the rows whose group (account) falls in a seeded 15%: the rows held out
/// for early stopping, whole accounts at a time.
pub fn held_out_groups(groups: impl Iterator<Item = u32>, seed: u64) -> Vec<usize> {
    groups
        .enumerate()
        .filter(|&(_, g)| Rng::stream(seed ^ 0x5eed, u64::from(g)).f64() < 0.15)
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 1).next_u64()).collect();
        assert!(a.iter().all(|v| *v == a[0]));
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(7, 2).next_u64());
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(8, 1).next_u64());
    }

    #[test]
    fn moments_match_the_distributions() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        let p: f64 = (0..n).map(|_| r.poisson(3.5) as f64).sum::<f64>() / n as f64;
        assert!((p - 3.5).abs() < 0.03, "poisson mean {p}");
        let u: f64 = (0..n).map(|_| r.below(10) as f64).sum::<f64>() / n as f64;
        assert!((u - 4.5).abs() < 0.03, "below mean {u}");
    }
}
