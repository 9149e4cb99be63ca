//! Penalised logistic regression with sample weights, fitted by Newton's method.
//!
//! Minimises `sum_i w_i * logloss_i / sum_i w_i + l2 / 2 * |beta|^2 + l1 * |beta|_1` (the
//! intercept is not penalised). The design is small (tens to a few hundred columns), so
//! each Newton step builds the dense (p + 1) x (p + 1) Hessian. With `l1 = 0` the step
//! solves that system exactly (Cholesky); with `l1 > 0` it is a proximal Newton step, as in
//! liblinear's newGLMNET: coordinate descent on the quadratic model plus the L1 term, which
//! sets coefficients exactly to zero. A step that does not lower the objective enough is
//! halved. Either way the method converges in a handful of steps, to the same optimum
//! whatever the thread count.

use ndarray::{ArrayView2, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::math::sigmoid;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub l2: f64,
    /// The L1 strength (0 for a pure L2 fit; models saved before L1 existed read as 0).
    #[serde(default)]
    pub l1: f64,
    pub intercept: f64,
    pub coef: Vec<f64>,
    pub iterations: usize,
}

/// The penalty on the coefficients (never on the intercept).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalty {
    pub l2: f64,
    pub l1: f64,
}

impl Penalty {
    /// A pure L2 penalty.
    pub fn l2(l2: f64) -> Penalty {
        Penalty { l2, l1: 0.0 }
    }

    /// The penalty's value at coefficients `b`.
    fn of(&self, b: &[f64]) -> f64 {
        0.5 * self.l2 * b.iter().map(|c| c * c).sum::<f64>()
            + self.l1 * b.iter().map(|c| c.abs()).sum::<f64>()
    }
}

/// Rows per block when accumulating the Hessian (bounds the scratch memory).
const BLOCK: usize = 4096;
/// Rows per parallel task: a fixed partition of the rows, so that the partial sums, added
/// in task order, are the same whatever the thread count.
const TASK: usize = 16 * BLOCK;
/// Columns per block of the Hessian's product: only the blocks on and above the diagonal
/// are multiplied (the Hessian is symmetric), about 56% of the full product at 250 columns.
const COLS: usize = 32;

/// Sums `f(start, end)` over the fixed row tasks of `0..n`, in parallel, adding the
/// partial results in task order.
fn sum_tasks<T: Send>(
    n: usize,
    f: impl Fn(usize, usize) -> T + Sync,
    add: impl Fn(&mut T, T),
) -> Option<T> {
    let parts: Vec<T> = (0..n.div_ceil(TASK))
        .into_par_iter()
        .map(|t| f(t * TASK, ((t + 1) * TASK).min(n)))
        .collect();
    let mut it = parts.into_iter();
    let mut acc = it.next()?;
    for p in it {
        add(&mut acc, p);
    }
    Some(acc)
}

fn objective(
    x: ArrayView2<f64>,
    y: &[f64],
    w: &[f64],
    sw: f64,
    b0: f64,
    b: &[f64],
    pen: Penalty,
) -> f64 {
    let part = |start: usize, end: usize| {
        let mut loss = 0.0;
        for i in start..end {
            let z = b0 + x.row(i).iter().zip(b).map(|(a, c)| a * c).sum::<f64>();
            // log(1 + e^z) - y z, computed stably.
            let softplus = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            loss += w[i] * (softplus - y[i] * z);
        }
        loss
    };
    let loss = sum_tasks(x.nrows(), part, |a, b| *a += b).unwrap_or(0.0);
    loss / sw + pen.of(b)
}

/// Gradient and Hessian of [`objective`] at `(b0, b)` over the augmented design
/// `[1, x]` (row-major, (p + 1) x (p + 1)), accumulated in blocks of rows, the row tasks
/// in parallel.
fn grad_hess(
    x: ArrayView2<f64>,
    y: &[f64],
    w: &[f64],
    sw: f64,
    b0: f64,
    b: &[f64],
    l2: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = x.dim();
    let d = p + 1;
    let part = |task_start: usize, task_end: usize| {
        let mut g = vec![0.0; d];
        let mut h = vec![0.0; d * d];
        for start in (task_start..task_end).step_by(BLOCK) {
            let end = (start + BLOCK).min(task_end);
            let xb = x.slice(s![start..end, ..]);
            let z = xb.dot(&ndarray::ArrayView1::from(b));
            let mut hw = ndarray::Array1::<f64>::zeros(end - start);
            for (k, i) in (start..end).enumerate() {
                let pi = sigmoid(b0 + z[k]);
                let r = w[i] * (pi - y[i]) / sw;
                g[0] += r;
                for (j, v) in xb.row(k).iter().enumerate() {
                    g[j + 1] += r * v;
                }
                hw[k] = w[i] * pi * (1.0 - pi) / sw;
            }
            // x' diag(hw) x, block by block on and above the diagonal, plus the
            // intercept row and column.
            let xw = &xb * &hw.view().insert_axis(Axis(1));
            let colsum = xw.sum_axis(Axis(0));
            h[0] += hw.sum();
            for j in 0..p {
                h[j + 1] += colsum[j];
            }
            for a in (0..p).step_by(COLS) {
                let a_end = (a + COLS).min(p);
                let left = xw.slice(s![.., a..a_end]);
                for c in (a..p).step_by(COLS) {
                    let c_end = (c + COLS).min(p);
                    let block = left.t().dot(&xb.slice(s![.., c..c_end]));
                    for (j, row) in block.outer_iter().enumerate() {
                        let at = (a + j + 1) * d + c + 1;
                        for (cell, v) in h[at..at + row.len()].iter_mut().zip(row) {
                            *cell += v;
                        }
                    }
                }
            }
        }
        (g, h)
    };
    let add = |acc: &mut (Vec<f64>, Vec<f64>), p: (Vec<f64>, Vec<f64>)| {
        acc.0.iter_mut().zip(&p.0).for_each(|(a, b)| *a += b);
        acc.1.iter_mut().zip(&p.1).for_each(|(a, b)| *a += b);
    };
    let (mut g, mut h) =
        sum_tasks(n, part, add).unwrap_or_else(|| (vec![0.0; d], vec![0.0; d * d]));
    // The lower triangle (and the intercept column) mirror the upper.
    for j in 0..d {
        for k in 0..j {
            h[j * d + k] = h[k * d + j];
        }
    }
    for j in 0..p {
        g[j + 1] += l2 * b[j];
        h[(j + 1) * d + j + 1] += l2;
    }
    h[0] += 1e-12;
    (g, h)
}

/// Solves `a x = g` for a symmetric positive definite `a` (row-major, n x n) by Cholesky.
fn solve_spd(a: &[f64], g: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        let s = g[i] - (0..i).map(|k| l[i * n + k] * z[k]).sum::<f64>();
        z[i] = s / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s = z[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>();
        x[i] = s / l[i * n + i];
    }
    Some(x)
}

/// The proximal Newton step with an L1 term: the `step` (subtracted from `(b0, b)`, like
/// a Newton step) that minimises the quadratic model `-g's + s'Hs / 2` plus
/// `l1 * |b - s|_1`, by cyclic coordinate descent (`h` row-major, (p + 1) x (p + 1), the
/// intercept first and unpenalised). Each coordinate's minimiser is a soft threshold, so
/// coefficients land exactly on zero. Sweeps stop when no coordinate moves by more than
/// 1e-10 of the largest, or after 200 sweeps (a sweep is (p + 1)^2 multiply-adds, small
/// against the Hessian's n (p + 1)^2).
fn lasso_step(h: &[f64], g: &[f64], b0: f64, b: &[f64], l1: f64) -> Vec<f64> {
    let d = b.len() + 1;
    // Work in the new point u = current - step, with hs = H (current - u).
    let mut u: Vec<f64> = std::iter::once(b0).chain(b.iter().copied()).collect();
    let current = u.clone();
    let mut hs = vec![0.0; d];
    for _ in 0..200 {
        let mut moved = 0.0f64;
        let mut largest = 0.0f64;
        for j in 0..d {
            let a = h[j * d + j].max(1e-12);
            // The model's gradient in u_j: g_j - (H (current - u))_j.
            let q = g[j] - hs[j];
            let target = u[j] - q / a;
            let new = if j == 0 {
                target
            } else {
                target.signum() * (target.abs() - l1 / a).max(0.0)
            };
            let delta = new - u[j];
            if delta != 0.0 {
                // current - u falls by delta in coordinate j.
                for (k, cell) in hs.iter_mut().enumerate() {
                    *cell -= h[k * d + j] * delta;
                }
                u[j] = new;
                moved = moved.max(delta.abs());
            }
            largest = largest.max(new.abs());
        }
        if moved <= 1e-10 * largest.max(1.0) {
            break;
        }
    }
    current.iter().zip(&u).map(|(c, n)| c - n).collect()
}

impl Logistic {
    /// An L2 fit from the null model.
    pub fn fit(x: ArrayView2<f64>, y: &[f64], w: Option<&[f64]>, l2: f64) -> Logistic {
        Self::fit_from(x, y, w, Penalty::l2(l2), None)
    }

    /// A fit with penalty `pen` from a starting intercept and coefficients (ignored unless
    /// there is one per column): with `l2 > 0` the objective is strictly convex, so the
    /// optimum is the same; a start near it takes fewer Newton steps.
    pub fn fit_from(
        x: ArrayView2<f64>,
        y: &[f64],
        w: Option<&[f64]>,
        pen: Penalty,
        start: Option<(f64, Vec<f64>)>,
    ) -> Logistic {
        let (n, p) = x.dim();
        let ones = vec![1.0; n];
        let w = w.unwrap_or(&ones);
        let sw: f64 = w.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let ybar = (y.iter().zip(w).map(|(y, w)| y * w).sum::<f64>() / sw).clamp(1e-6, 1.0 - 1e-6);
        let (mut b0, mut b) = match start {
            Some((b0, b)) if b.len() == p && b0.is_finite() && b.iter().all(|v| v.is_finite()) => {
                (b0, b)
            }
            _ => ((ybar / (1.0 - ybar)).ln(), vec![0.0; p]),
        };
        let pen = Penalty {
            l2: pen.l2.max(1e-10),
            l1: pen.l1.max(0.0),
        };
        let mut obj = objective(x, y, w, sw, b0, &b, pen);
        let mut iterations = 0;
        let d = p + 1;
        for _ in 0..100 {
            iterations += 1;
            let (g, h) = grad_hess(x, y, w, sw, b0, &b, pen.l2);
            let step = if pen.l1 > 0.0 {
                Some(lasso_step(&h, &g, b0, &b, pen.l1))
            } else {
                solve_spd(&h, &g, d)
            };
            let Some(step) = step else {
                break;
            };
            // The decrease a full step predicts (for L2, half the Newton decrement; with
            // L1, the linear term plus the change in the L1 norm, as newGLMNET's
            // sufficient-decrease test uses).
            let predicted = g.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>()
                - pen.l1
                    * b.iter()
                        .zip(&step[1..])
                        .map(|(c, s)| (c - s).abs() - c.abs())
                        .sum::<f64>();
            // The step, halved until the objective falls by a share of what it predicts
            // (for L2, until it does not rise).
            let sufficient = if pen.l1 > 0.0 { 0.01 } else { 0.0 };
            let mut t = 1.0;
            let mut improved = false;
            for _ in 0..30 {
                let nb0 = b0 - t * step[0];
                let nb: Vec<f64> = b.iter().zip(&step[1..]).map(|(c, s)| c - t * s).collect();
                let nobj = objective(x, y, w, sw, nb0, &nb, pen);
                if nobj <= obj - sufficient * t * predicted + 1e-15 {
                    b0 = nb0;
                    b = nb;
                    improved = obj - nobj > 1e-12 * obj.abs().max(1.0);
                    obj = nobj;
                    break;
                }
                t *= 0.5;
            }
            let size = step.iter().map(|s| s.abs()).fold(0.0, f64::max) * t;
            // A full step from a point this close: Newton's convergence is quadratic, so
            // the next step would gain about the square of this one's (relative) decrease,
            // under 1e-12; stop without building another Hessian.
            let converged = t == 1.0 && predicted < 1e-6 * obj.abs().max(1.0);
            if !improved || size < 1e-9 || converged {
                break;
            }
        }
        Logistic {
            l2: pen.l2,
            l1: pen.l1,
            intercept: b0,
            coef: b,
            iterations,
        }
    }

    /// Like [`Logistic::fit`] (unit weights) with every coefficient constrained to be
    /// non-negative (the intercept is free): projected Newton. Each step solves the Newton
    /// system on the free coefficients (positive ones, and those at zero whose gradient
    /// points inward), projects the step onto the constraint and halves it until the
    /// objective falls. Used to fit health-score weights, which must stay positive.
    pub fn fit_nonnegative(x: ArrayView2<f64>, y: &[f64], l2: f64) -> Logistic {
        let (n, p) = x.dim();
        let w = vec![1.0; n];
        let sw = (n as f64).max(f64::MIN_POSITIVE);
        let ybar = (y.iter().sum::<f64>() / sw).clamp(1e-6, 1.0 - 1e-6);
        let mut b0 = (ybar / (1.0 - ybar)).ln();
        let mut b = vec![0.0; p];
        let l2 = l2.max(1e-10);
        let mut obj = objective(x, y, &w, sw, b0, &b, Penalty::l2(l2));
        let mut iterations = 0;
        let d = p + 1;
        for _ in 0..200 {
            iterations += 1;
            let (g, h) = grad_hess(x, y, &w, sw, b0, &b, l2);
            let free: Vec<usize> = (0..d)
                .filter(|&k| k == 0 || b[k - 1] > 0.0 || g[k] < 0.0)
                .collect();
            let f = free.len();
            let hf: Vec<f64> = free
                .iter()
                .flat_map(|&j| free.iter().map(move |&k| (j, k)))
                .map(|(j, k)| h[j * d + k])
                .collect();
            let gf: Vec<f64> = free.iter().map(|&j| g[j]).collect();
            let Some(step) = solve_spd(&hf, &gf, f) else {
                break;
            };
            let mut t = 1.0;
            let mut moved = 0.0f64;
            let mut improved = false;
            for _ in 0..40 {
                let mut nb0 = b0;
                let mut nb = b.clone();
                for (&j, s) in free.iter().zip(&step) {
                    if j == 0 {
                        nb0 = b0 - t * s;
                    } else {
                        nb[j - 1] = (b[j - 1] - t * s).max(0.0);
                    }
                }
                let nobj = objective(x, y, &w, sw, nb0, &nb, Penalty::l2(l2));
                if nobj <= obj + 1e-15 {
                    moved = (nb0 - b0).abs().max(
                        nb.iter()
                            .zip(&b)
                            .map(|(a, c)| (a - c).abs())
                            .fold(0.0, f64::max),
                    );
                    improved = obj - nobj > 1e-14 * obj.abs().max(1.0);
                    b0 = nb0;
                    b = nb;
                    obj = nobj;
                    break;
                }
                t *= 0.5;
            }
            if !improved || moved < 1e-10 {
                break;
            }
        }
        Logistic {
            l2,
            l1: 0.0,
            intercept: b0,
            coef: b,
            iterations,
        }
    }

    /// Log-odds of churn for each row.
    pub fn raw(&self, x: ArrayView2<f64>) -> Vec<f64> {
        x.dot(&ndarray::ArrayView1::from(&self.coef[..]))
            .iter()
            .map(|z| z + self.intercept)
            .collect()
    }
}
