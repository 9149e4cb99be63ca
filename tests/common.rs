//! Helpers shared by integration tests: read any table file into rows of text.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use churnlab::input::io;

pub type Rows = Vec<HashMap<String, String>>;

/// Reads a CSV or Parquet file into rows of text (missing cells are absent from the map).
pub fn read_rows(path: &Path) -> Rows {
    let df = io::read_text_frame(path).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let cols: Vec<Vec<Option<String>>> = df
        .columns()
        .iter()
        .map(|c| {
            c.str()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        })
        .collect();
    (0..df.height())
        .map(|i| {
            names
                .iter()
                .zip(&cols)
                .filter_map(|(n, c)| c[i].clone().map(|v| (n.clone(), v)))
                .collect()
        })
        .collect()
}

/// `<dir>/<name>.csv` or `.parquet`, whichever exists.
pub fn table_path(dir: &Path, name: &str) -> PathBuf {
    let csv = dir.join(format!("{name}.csv"));
    if csv.exists() {
        csv
    } else {
        dir.join(format!("{name}.parquet"))
    }
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// ROC-AUC by the rank-sum (Mann-Whitney) formula with average ranks for ties.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[idx[k]] = r;
        }
        i = j + 1;
    }
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    let sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    (sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// The Pearson correlation of two latent risk drivers over the truth's account-months
/// (`truth/account_months`, columns `<driver>_risk`).
#[allow(dead_code)]
pub fn truth_risk_correlation(months: &Rows, a: &str, b: &str) -> f64 {
    let risk = |c: &str| -> Vec<f64> {
        months
            .iter()
            .map(|r| r[&format!("{c}_risk")].parse::<f64>().unwrap())
            .collect()
    };
    let (a, b) = (risk(a), risk(b));
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}
