//! Cluster analysis: what kinds of accounts the book holds. k-means (linfa) on
//! standardised behavioural features of the accounts at the latest snapshot whose churn
//! is known; k chosen by silhouette; clusters named from their most distinctive
//! features; stability measured across seeds by the adjusted Rand index.

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray::{Array1, Array2};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::common::rng::Rng;
use crate::error::{Error, Result};
use crate::features::dataset::Dataset;
use crate::input::table::{Column, Table};
use crate::model::prep::NumericStep;

/// Behavioural features used when present, with the words a cluster name uses.
pub const FEATURES: [(&str, &str); 10] = [
    ("seat_utilisation_30d", "seat utilisation"),
    ("feature_breadth_30d", "feature breadth"),
    ("events_per_active_user_30d", "usage depth"),
    ("sticky_user_share_30d", "sticky-feature use"),
    ("tickets_per_10_seats_90d", "tickets per seat"),
    ("open_tickets", "open tickets"),
    ("nps_last", "NPS"),
    ("active_contacts", "contacts"),
    ("seats", "seats"),
    ("tenure_days", "tenure"),
];

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub k_min: usize,
    pub k_max: usize,
    /// Rows used for the silhouette (a seeded sample when there are more).
    pub silhouette_sample: usize,
    /// Extra seeds refitted to measure stability.
    pub stability_seeds: u64,
    /// k-means is fitted on a seeded sample of this many accounts when there are more
    /// (every account is then assigned to its nearest centroid).
    pub fit_sample: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            k_min: 2,
            k_max: 8,
            silhouette_sample: 2000,
            stability_seeds: 5,
            fit_sample: 20_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cluster {
    pub id: usize,
    pub name: String,
    pub accounts: usize,
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub arr: f64,
    pub churned: usize,
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub churn_rate: f64,
    /// Mean of each feature in original units (missing values at the median).
    #[serde(default, deserialize_with = "crate::common::nan::named")]
    pub centroid: Vec<(String, f64)>,
    /// The centroid in standard deviations from the book's mean.
    #[serde(default, deserialize_with = "crate::common::nan::named")]
    pub centroid_z: Vec<(String, f64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterReport {
    pub snapshot_date: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub rule: String,
    /// Mean silhouette for each k tried.
    #[serde(default, skip_deserializing)]
    pub silhouette: Vec<(usize, f64)>,
    pub k: usize,
    pub clusters: Vec<Cluster>,
    /// Adjusted Rand index of each other seed's clustering against the reported one.
    #[serde(default, deserialize_with = "crate::common::nan::many")]
    pub stability_ari: Vec<f64>,
    #[serde(deserialize_with = "crate::common::nan::f64")]
    pub stability_mean_ari: f64,
}

/// Clusters the accounts of the latest labelled snapshot of `ds`.
pub fn clusters(ds: &Dataset, cfg: &ClusterConfig, seed: u64) -> Result<ClusterReport> {
    let time = ds
        .time
        .as_ref()
        .ok_or_else(|| Error::Input("cluster analysis needs snapshot dates".into()))?;
    let labelled = ds.labelled();
    let last = labelled
        .iter()
        .map(|&i| time[i])
        .max()
        .ok_or_else(|| Error::Input("cluster analysis needs labelled snapshots".into()))?;
    let rows: Vec<usize> = labelled.into_iter().filter(|&i| time[i] == last).collect();
    let feats: Vec<(&str, &str)> = FEATURES
        .iter()
        .copied()
        .filter(|(f, _)| {
            ds.numeric_col(f)
                .is_some_and(|c| rows.iter().any(|&i| c.get(i).is_some()))
        })
        .collect();
    if feats.len() < 2 || rows.len() < 4 * cfg.k_max {
        return Err(Error::Input(format!(
            "cluster analysis needs at least 2 behavioural features and {} accounts; found {} and {}",
            4 * cfg.k_max,
            feats.len(),
            rows.len()
        )));
    }
    // The model's numeric preprocessing, fitted on these accounts: median imputation,
    // arcsinh for skewed non-negative features, z-scores.
    let n = rows.len();
    let p = feats.len();
    let mut orig = Array2::<f64>::zeros((n, p));
    let mut x = Array2::<f64>::zeros((n, p));
    for (j, (f, _)) in feats.iter().enumerate() {
        let Some(col) = ds.numeric_col(f) else {
            continue;
        };
        let Some(step) = NumericStep::fit(f, col, &rows) else {
            continue;
        };
        for (k, &i) in rows.iter().enumerate() {
            orig[[k, j]] = col.get(i).unwrap_or(step.median);
            x[[k, j]] = if step.value_column {
                step.standardise(col.get(i))
            } else {
                0.0
            };
        }
    }
    let sample = sample_rows(n, cfg.silhouette_sample, seed, 0xc1);
    let fit_rows = sample_rows(n, cfg.fit_sample, seed, 0xc2);
    let fit_x = if fit_rows.len() < n {
        x.select(ndarray::Axis(0), &fit_rows)
    } else {
        x.clone()
    };
    let kmeans = |k: usize, seed: u64| kmeans(&fit_x, &x, k, seed);
    let mut sil = Vec::new();
    let mut best: Option<(usize, f64, Array1<usize>)> = None;
    for k in cfg.k_min..=cfg.k_max {
        let labels = kmeans(k, seed)?;
        let s = silhouette(&x, &labels, &sample, k);
        sil.push((k, s));
        if best.as_ref().is_none_or(|b| s > b.1) {
            best = Some((k, s, labels));
        }
    }
    let Some((k, _, labels)) = best else {
        return Err(Error::Input("no k to try".into()));
    };
    let labels = relabel_by_size(&labels, k);
    let mut ari = Vec::new();
    for s in 1..=cfg.stability_seeds {
        let other = kmeans(k, seed.wrapping_add(1000 * s))?;
        ari.push(adjusted_rand(&labels, &other));
    }
    let label_of = |i: usize| ds.label[rows[i]].is_some_and(|l| l > 0.5);
    let mut out = Vec::new();
    for c in 0..k {
        let members: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
        let m = members.len().max(1) as f64;
        let churned = members.iter().filter(|&&i| label_of(i)).count();
        let arr: f64 = members
            .iter()
            .map(|&i| ds.arr.as_ref().map_or(0.0, |a| a[rows[i]]))
            .sum();
        let centroid: Vec<(String, f64)> = feats
            .iter()
            .enumerate()
            .map(|(j, (f, _))| {
                (
                    f.to_string(),
                    members.iter().map(|&i| orig[[i, j]]).sum::<f64>() / m,
                )
            })
            .collect();
        let z: Vec<f64> = (0..p)
            .map(|j| members.iter().map(|&i| x[[i, j]]).sum::<f64>() / m)
            .collect();
        out.push(Cluster {
            id: c + 1,
            name: name(&feats, &z),
            accounts: members.len(),
            arr,
            churned,
            churn_rate: churned as f64 / m,
            centroid,
            centroid_z: feats
                .iter()
                .zip(&z)
                .map(|((f, _), v)| (f.to_string(), *v))
                .collect(),
        });
    }
    Ok(ClusterReport {
        snapshot_date: crate::common::dates::from_days(last).to_string(),
        features: feats.iter().map(|f| f.0.to_string()).collect(),
        rule: format!(
            "k from {} to {} with the highest mean silhouette (on up to {} accounts); k-means++ with {} restarts, seeded, fitted on up to {} accounts and every account assigned to its nearest centroid",
            cfg.k_min, cfg.k_max, cfg.silhouette_sample, RESTARTS, cfg.fit_sample
        ),
        silhouette: sil,
        k,
        clusters: out,
        stability_mean_ari: ari.iter().sum::<f64>() / ari.len().max(1) as f64,
        stability_ari: ari,
    })
}

/// A seeded sample of `want` of the positions `0..n`, ascending (all of them when
/// `n <= want`).
fn sample_rows(n: usize, want: usize, seed: u64, stream: u64) -> Vec<usize> {
    if n <= want {
        return (0..n).collect();
    }
    let mut r = Rng::stream(seed, stream);
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..want {
        let j = i + r.below((n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut s = idx[..want].to_vec();
    s.sort_unstable();
    s
}

/// k-means fitted on `fit` (seeded), every row of `x` assigned to its nearest centroid.
/// Seeded k-means++ restarts per k (scikit-learn's default is now one; 10 took 9.9 s of
/// the 20,000-account run, 3 take 3.1 s, docs/decisions.md 35).
const RESTARTS: usize = 3;

fn kmeans(fit: &Array2<f64>, x: &Array2<f64>, k: usize, seed: u64) -> Result<Array1<usize>> {
    let data = DatasetBase::from(fit.clone());
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .n_runs(RESTARTS)
        .max_n_iterations(300)
        .tolerance(1e-6)
        .fit(&data)
        .map_err(|e| Error::Internal(format!("k-means: {e}")))?;
    Ok(model.predict(x))
}

/// Cluster ids ordered by size, largest first (ties by first member).
fn relabel_by_size(labels: &Array1<usize>, k: usize) -> Vec<usize> {
    let mut size = vec![(0usize, usize::MAX); k];
    for (i, &l) in labels.iter().enumerate() {
        size[l].0 += 1;
        size[l].1 = size[l].1.min(i);
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| size[b].0.cmp(&size[a].0).then(size[a].1.cmp(&size[b].1)));
    let mut map = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        map[old] = new;
    }
    labels.iter().map(|&l| map[l]).collect()
}

/// Mean silhouette over `sample` (distances to every sampled point).
pub fn silhouette(x: &Array2<f64>, labels: &Array1<usize>, sample: &[usize], k: usize) -> f64 {
    let dist = |a: usize, b: usize| {
        x.row(a)
            .iter()
            .zip(x.row(b).iter())
            .map(|(u, v)| (u - v) * (u - v))
            .sum::<f64>()
            .sqrt()
    };
    let mut total = 0.0;
    for &i in sample {
        let mut sum = vec![0.0; k];
        let mut cnt = vec![0usize; k];
        for &j in sample {
            if i != j {
                sum[labels[j]] += dist(i, j);
                cnt[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if cnt[own] == 0 {
            continue;
        }
        let a = sum[own] / cnt[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && cnt[c] > 0)
            .map(|c| sum[c] / cnt[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / sample.len().max(1) as f64
}

/// Adjusted Rand index of two labelings (Hubert and Arabie, 1985).
pub fn adjusted_rand(a: &[usize], b: &Array1<usize>) -> f64 {
    let ka = a.iter().copied().max().map_or(0, |m| m + 1);
    let kb = b.iter().copied().max().map_or(0, |m| m + 1);
    let mut table = vec![vec![0f64; kb]; ka];
    for (i, &x) in a.iter().enumerate() {
        table[x][b[i]] += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let n = a.len() as f64;
    let sum_ij: f64 = table.iter().flatten().map(|&v| c2(v)).sum();
    let sa: f64 = table.iter().map(|r| c2(r.iter().sum())).sum();
    let sb: f64 = (0..kb).map(|j| c2(table.iter().map(|r| r[j]).sum())).sum();
    let expected = sa * sb / c2(n);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (sum_ij - expected) / (max - expected)
}

/// "high seats, low seat utilisation, many tickets per seat": the (up to) three features
/// furthest from the book's mean, at least half a standard deviation away.
fn name(feats: &[(&str, &str)], z: &[f64]) -> String {
    let mut idx: Vec<usize> = (0..z.len()).filter(|&j| z[j].abs() >= 0.5).collect();
    idx.sort_by(|&a, &b| z[b].abs().total_cmp(&z[a].abs()).then(a.cmp(&b)));
    idx.truncate(3);
    if idx.is_empty() {
        return "typical accounts".into();
    }
    idx.iter()
        .map(|&j| format!("{} {}", if z[j] > 0.0 { "high" } else { "low" }, feats[j].1))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ClusterReport {
    pub fn to_table(&self) -> Table {
        let c = &self.clusters;
        let mut t = Table::new()
            .with(
                "cluster",
                Column::Int(c.iter().map(|x| Some(x.id as i64)).collect()),
            )
            .with(
                "name",
                Column::Str(c.iter().map(|x| Some(x.name.clone())).collect()),
            )
            .with(
                "accounts",
                Column::Int(c.iter().map(|x| Some(x.accounts as i64)).collect()),
            )
            .with(
                "arr",
                Column::Float(c.iter().map(|x| Some(x.arr)).collect()),
            )
            .with(
                "churned",
                Column::Int(c.iter().map(|x| Some(x.churned as i64)).collect()),
            )
            .with(
                "churn_rate",
                Column::Float(c.iter().map(|x| Some(x.churn_rate)).collect()),
            );
        for (j, f) in self.features.iter().enumerate() {
            t = t.with(
                f,
                Column::Float(c.iter().map(|x| Some(x.centroid[j].1)).collect()),
            );
        }
        t
    }
}
