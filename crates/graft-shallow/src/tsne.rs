//! t-distributed stochastic neighbour embedding into two dimensions, for looking at feature
//! matrices (source against target, before and after adaptation), and the trustworthiness of
//! an embedding.
//!
//! The optimiser is scikit-learn's `TSNE(method="exact")` step for step: perplexity-calibrated
//! affinities by binary search, early exaggeration with momentum 0.5, then momentum 0.8, the
//! delta-bar-delta gains, the `auto` learning rate and the PCA initialisation. The embedding is
//! not the same numbers as scikit-learn's (the PCA signs and the floating-point order differ,
//! and t-SNE amplifies any difference), but it is as good: the tests compare trustworthiness
//! and the final KL divergence with scikit-learn's on the same data.
//!
//! ```
//! use graft_shallow::tsne::{trustworthiness, Tsne};
//! use graft_shallow::Matrix;
//!
//! // Two well separated groups of points in 3-D.
//! let rows: Vec<[f64; 3]> = (0..40)
//!     .map(|i| {
//!         let c = if i < 20 { 0.0 } else { 10.0 };
//!         let f = i as f64;
//!         [c + (f * 0.37).sin(), c + (f * 0.91).cos(), (f * 1.3).sin()]
//!     })
//!     .collect();
//! let x = Matrix::from_rows(&rows)?;
//! let e = Tsne { perplexity: 5.0, ..Default::default() }.fit(&x)?;
//! assert_eq!((e.points.rows(), e.points.cols()), (40, 2));
//! assert!(trustworthiness(&x, &e.points, 5)? > 0.9);
//! # Ok::<(), graft_shallow::LinalgError>(())
//! ```

use crate::align::{Domains, Pca};
use crate::error::{LinalgError, Result};
use crate::kernel::sq_distances;
use crate::matrix::Matrix;
use crate::validate;
use rayon::prelude::*;

/// Smallest probability kept, as scikit-learn's `MACHINE_EPSILON` (float64 epsilon).
const MACHINE_EPSILON: f64 = f64::EPSILON;
/// Iterations between convergence checks (scikit-learn's `_N_ITER_CHECK`).
const CHECK_EVERY: usize = 50;

/// van der Maaten & Hinton 2008 (JMLR 9:2579), t-SNE: minimise KL(P || Q) (eq. 2) between
/// Gaussian input affinities of a given perplexity and Student-t (one degree of freedom)
/// affinities of the 2-D points, by gradient descent with the exact gradient (eq. 5).
/// `Default` is scikit-learn's `TSNE()` (perplexity 30, early exaggeration 12 for 250
/// iterations, 1000 iterations in all, `learning_rate="auto"`, `init="pca"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Tsne {
    /// Effective number of neighbours each point's Gaussian covers; must be below the row count.
    pub perplexity: f64,
    /// Factor on P while the clusters form (the paper's "early exaggeration").
    pub early_exaggeration: f64,
    /// Iterations with exaggeration and momentum 0.5; the rest run with momentum 0.8.
    pub exaggeration_iter: usize,
    /// Total iterations (at least `exaggeration_iter`).
    pub max_iter: usize,
    /// `None`: scikit-learn's `auto`, `max(n / early_exaggeration / 4, 50)` (Belkina et al.
    /// 2019).
    pub learning_rate: Option<f64>,
    /// Stop when the gradient's norm falls to this.
    pub min_grad_norm: f64,
    /// Stop after this many iterations without a lower KL divergence (checked every 50).
    pub n_iter_without_progress: usize,
}

impl Default for Tsne {
    fn default() -> Self {
        Tsne {
            perplexity: 30.0,
            early_exaggeration: 12.0,
            exaggeration_iter: 250,
            max_iter: 1000,
            learning_rate: None,
            min_grad_norm: 1e-7,
            n_iter_without_progress: 300,
        }
    }
}

/// A 2-D embedding with the objective it reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// `n x 2`, one row per input row.
    pub points: Matrix,
    /// KL(P || Q) at the end (without exaggeration).
    pub kl_divergence: f64,
    /// Iterations run.
    pub n_iter: usize,
}

impl Tsne {
    /// Embeds the rows of `x`. Deterministic: the start is the PCA projection of `x`.
    pub fn fit(&self, x: &Matrix) -> Result<Embedding> {
        self.check(x)?;
        self.fit_from(x, &pca_layout(x)?)
    }

    /// Embeds the rows of `x` from `layout` (one 2-D point per row, e.g. a PCA projection of
    /// `x` the caller has already computed), scaled as `init="pca"` scales its start.
    pub fn fit_from(&self, x: &Matrix, layout: &Matrix) -> Result<Embedding> {
        self.check(x)?;
        if layout.rows() != x.rows() || layout.cols() != 2 {
            return Err(LinalgError::param(
                "tsne: start layout",
                format!("{}x{}", layout.rows(), layout.cols()),
                "one 2-D point per row of the samples",
            ));
        }
        validate::matrix("tsne: start layout", layout)?;
        let n = x.rows();
        let p = joint_probabilities(x, self.perplexity)?;
        let mut y = scaled_start(layout);
        let lr = self
            .learning_rate
            .unwrap_or_else(|| (n as f64 / self.early_exaggeration / 4.0).max(50.0));
        let mut p = p;
        let exaggeration = self.early_exaggeration as f32;
        p.iter_mut().for_each(|v| *v *= exaggeration);
        let explore = self.exaggeration_iter.min(self.max_iter);
        let (mut it, _) = Descent::new(n).run(
            &p,
            &mut y,
            Stage {
                momentum: 0.5,
                learning_rate: lr,
                from: 0,
                to: explore,
                min_grad_norm: self.min_grad_norm,
                without_progress: self.exaggeration_iter,
            },
        );
        p.iter_mut().for_each(|v| *v /= exaggeration);
        let mut kl = kl_divergence(&p, &y);
        if self.max_iter > explore {
            (it, kl) = Descent::new(n).run(
                &p,
                &mut y,
                Stage {
                    momentum: 0.8,
                    learning_rate: lr,
                    from: it,
                    to: self.max_iter,
                    min_grad_norm: self.min_grad_norm,
                    without_progress: self.n_iter_without_progress,
                },
            );
        }
        Ok(Embedding {
            points: Matrix::new(n, 2, y)?,
            kl_divergence: kl,
            n_iter: it,
        })
    }

    fn check(&self, x: &Matrix) -> Result<()> {
        validate::matrix("tsne: samples", x)?;
        if x.rows() < 2 {
            return Err(LinalgError::param(
                "tsne: samples",
                format!("{} row", x.rows()),
                "at least 2 rows",
            ));
        }
        if !(self.perplexity > 0.0 && self.perplexity < x.rows() as f64) {
            return Err(LinalgError::param(
                "tsne.perplexity",
                self.perplexity,
                "a number > 0 and below the number of rows",
            ));
        }
        validate::positive("tsne.early_exaggeration", self.early_exaggeration)?;
        if let Some(lr) = self.learning_rate {
            validate::positive("tsne.learning_rate", lr)?;
        }
        if self.max_iter < self.exaggeration_iter {
            return Err(LinalgError::param(
                "tsne.max_iter",
                self.max_iter,
                "at least exaggeration_iter",
            ));
        }
        Ok(())
    }
}

/// The symmetric joint probabilities `p_ij = (p_j|i + p_i|j) / 2n` (eq. 1 and section 3.1) as
/// a full `n x n` row-major matrix with a zero diagonal, computed in `f64` and kept in `f32`
/// (the gradient's pair loops read it every iteration).
fn joint_probabilities(x: &Matrix, perplexity: f64) -> Result<Vec<f32>> {
    let n = x.rows();
    let mut p = sq_distances(x, x)?.into_data();
    p.par_chunks_mut(n)
        .enumerate()
        .for_each(|(i, row)| conditional_row(row, i, perplexity));
    // Symmetrise in place: p_ij = p_ji = (p_j|i + p_i|j) / sum.
    let mut sum = 0.0;
    for i in 0..n {
        for j in (i + 1)..n {
            let s = p[i * n + j] + p[j * n + i];
            p[i * n + j] = s;
            p[j * n + i] = s;
            sum += 2.0 * s;
        }
    }
    let sum = sum.max(MACHINE_EPSILON);
    Ok(p.par_chunks(n)
        .enumerate()
        .flat_map_iter(|(i, row)| {
            row.iter().enumerate().map(move |(j, v)| {
                if i == j {
                    0.0
                } else {
                    (v / sum).max(MACHINE_EPSILON) as f32
                }
            })
        })
        .collect())
}

/// Replaces row `i` of squared distances by `p_j|i`, the Gaussian whose precision `beta` makes
/// the row's entropy `ln(perplexity)`, found by bisection as scikit-learn's
/// `_binary_search_perplexity` (100 steps at most, tolerance 1e-5 on the entropy).
fn conditional_row(row: &mut [f64], i: usize, perplexity: f64) {
    let target = perplexity.ln();
    let d: Vec<f64> = row.to_vec();
    let (mut beta, mut lo, mut hi) = (1.0f64, f64::NEG_INFINITY, f64::INFINITY);
    for _ in 0..100 {
        let mut sum = 0.0;
        for (j, (pj, &dj)) in row.iter_mut().zip(&d).enumerate() {
            *pj = if j == i { 0.0 } else { (-dj * beta).exp() };
            sum += *pj;
        }
        if sum == 0.0 {
            sum = 1e-8;
        }
        let mut dist_p = 0.0;
        for (pj, &dj) in row.iter_mut().zip(&d) {
            *pj /= sum;
            dist_p += dj * *pj;
        }
        let entropy = sum.ln() + beta * dist_p;
        let diff = entropy - target;
        if diff.abs() <= 1e-5 {
            break;
        }
        if diff > 0.0 {
            lo = beta;
            beta = if hi == f64::INFINITY {
                beta * 2.0
            } else {
                (beta + hi) / 2.0
            };
        } else {
            hi = beta;
            beta = if lo == f64::NEG_INFINITY {
                beta / 2.0
            } else {
                (beta + lo) / 2.0
            };
        }
    }
}

/// The first two principal components of the rows of `x` (one feature: itself and a zero
/// axis).
fn pca_layout(x: &Matrix) -> Result<Matrix> {
    let n = x.rows();
    if x.cols() >= 2 {
        // The joint PCA of two identical domains is the PCA of the rows.
        let labels = vec![0usize; n];
        return Ok(Pca { dim: 2 }.fit(&Domains::new(x, &labels, x))?.source);
    }
    let data = (0..n).flat_map(|i| [x.get(i, 0), 0.0]).collect();
    Matrix::new(n, 2, data)
}

/// scikit-learn's `init="pca"` scaling: the layout shrunk so that its first axis has standard
/// deviation 1e-4 (a small start keeps the early iterations stable).
fn scaled_start(layout: &Matrix) -> Vec<f64> {
    let n = layout.rows();
    let first: Vec<f64> = (0..n).map(|i| layout.get(i, 0)).collect();
    let mean = first.iter().sum::<f64>() / n as f64;
    let sd = (first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let scale = if sd > 0.0 { 1e-4 / sd } else { 1.0 };
    layout.data().iter().map(|v| v * scale).collect()
}

/// One stage of gradient descent: its momentum and iteration range.
struct Stage {
    momentum: f64,
    learning_rate: f64,
    from: usize,
    to: usize,
    min_grad_norm: f64,
    without_progress: usize,
}

/// The optimiser's memory within one stage (each stage starts afresh, as scikit-learn's).
struct Descent {
    update: Vec<f64>,
    gains: Vec<f64>,
}

impl Descent {
    fn new(n: usize) -> Self {
        Descent {
            update: vec![0.0; 2 * n],
            gains: vec![1.0; 2 * n],
        }
    }

    /// scikit-learn's `_gradient_descent`: gains grow by 0.2 where the gradient's sign flips
    /// against the last update and shrink by 0.8 elsewhere (at least 0.01). Returns the
    /// iteration reached and the last KL divergence computed.
    fn run(&mut self, p: &[f32], y: &mut [f64], s: Stage) -> (usize, f64) {
        let mut best = (f64::INFINITY, s.from);
        let mut kl = f64::NAN;
        let mut i = s.from;
        while i < s.to {
            let grad = gradient(p, y);
            let mut norm = 0.0;
            for (k, &g0) in grad.iter().enumerate() {
                let u = self.update[k];
                let gain = &mut self.gains[k];
                *gain = if u * g0 < 0.0 {
                    *gain + 0.2
                } else {
                    *gain * 0.8
                }
                .max(0.01);
                let g = g0 * *gain;
                self.update[k] = s.momentum * u - s.learning_rate * g;
                y[k] += self.update[k];
                norm += g * g;
            }
            i += 1;
            // Every 50th iteration of the whole run, as scikit-learn checks.
            if i / CHECK_EVERY * CHECK_EVERY == i || i == s.to {
                kl = kl_divergence(p, y);
                if kl < best.0 {
                    best = (kl, i);
                } else if i - best.1 > s.without_progress {
                    break;
                }
                if norm.sqrt() <= s.min_grad_norm {
                    break;
                }
            }
        }
        (i, kl)
    }
}

/// Independent partial sums per row in the pair loop: one SIMD register of `f32` each, so that
/// the compiler vectorises it (floating-point sums are never reordered otherwise).
const LANES: usize = 4;

/// The embedding's coordinates as two `f32` columns, the pair loop's input.
fn columns(y: &[f64]) -> (Vec<f32>, Vec<f32>) {
    (
        y.iter().step_by(2).map(|&v| v as f32).collect(),
        y.iter().skip(1).step_by(2).map(|&v| v as f32).collect(),
    )
}

/// Row `i`'s sums over all `j` (the pair `(i, i)` included): `sum p w dx`, `sum p w dy`,
/// `sum w^2 dx`, `sum w^2 dy` and `sum w`, with `d = y_i - y_j` and `w = 1 / (1 + |d|^2)`.
/// Kept out of line so that its loop is vectorised on its own.
#[inline(never)]
fn row_sums(xi: f32, yi: f32, prow: &[f32], xs: &[f32], ys: &[f32]) -> [f64; 5] {
    let split = prow.len() / LANES * LANES;
    let mut acc = [[0f32; LANES]; 5];
    let chunks = prow[..split]
        .chunks_exact(LANES)
        .zip(xs[..split].chunks_exact(LANES))
        .zip(ys[..split].chunks_exact(LANES));
    for ((pc, xc), yc) in chunks {
        let dx: [f32; LANES] = std::array::from_fn(|l| xi - xc[l]);
        let dy: [f32; LANES] = std::array::from_fn(|l| yi - yc[l]);
        let w: [f32; LANES] = std::array::from_fn(|l| 1.0 / (1.0 + dx[l] * dx[l] + dy[l] * dy[l]));
        for l in 0..LANES {
            let (pw, ww) = (pc[l] * w[l], w[l] * w[l]);
            acc[0][l] += pw * dx[l];
            acc[1][l] += pw * dy[l];
            acc[2][l] += ww * dx[l];
            acc[3][l] += ww * dy[l];
            acc[4][l] += w[l];
        }
    }
    let mut r = acc.map(|a| a.iter().map(|&v| f64::from(v)).sum::<f64>());
    for j in split..prow.len() {
        let (dx, dy) = (f64::from(xi - xs[j]), f64::from(yi - ys[j]));
        let w = 1.0 / (1.0 + dx * dx + dy * dy);
        let (pw, ww) = (f64::from(prow[j]) * w, w * w);
        r[0] += pw * dx;
        r[1] += pw * dy;
        r[2] += ww * dx;
        r[3] += ww * dy;
        r[4] += w;
    }
    r
}

/// Eq. 5: `dC/dy_i = 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j)` with `w_ij = 1 / (1 + |y_i -
/// y_j|^2)` and `q_ij = w_ij / Z`, in one pass over the pairs: since `q_ij w_ij = w_ij^2 / Z`,
/// each row keeps `sum p w (y_i - y_j)`, `sum w^2 (y_i - y_j)` and `sum w`, and `Z` is known
/// at the end. Pairs run in `f32` lanes (scikit-learn's Barnes-Hut code runs in `f32` too);
/// each row's sums are added in `f64`.
fn gradient(p: &[f32], y: &[f64]) -> Vec<f64> {
    let n = y.len() / 2;
    let (xs, ys) = columns(y);
    let rows: Vec<[f64; 5]> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut r = row_sums(xs[i], ys[i], &p[i * n..(i + 1) * n], &xs, &ys);
            // The pair (i, i) added w = 1 to the normaliser and nothing else (p_ii = 0 and
            // y_i - y_i = 0): Z sums over j != i only.
            r[4] -= 1.0;
            r
        })
        .collect();
    let z: f64 = rows.iter().map(|r| r[4]).sum::<f64>().max(MACHINE_EPSILON);
    rows.iter()
        .flat_map(|r| [4.0 * (r[0] - r[2] / z), 4.0 * (r[1] - r[3] / z)])
        .collect()
}

/// Eq. 2: `KL(P || Q) = sum_ij p_ij ln(p_ij / q_ij)`, with `q_ij` kept at least float64
/// epsilon as scikit-learn does.
fn kl_divergence(p: &[f32], y: &[f64]) -> f64 {
    let n = y.len() / 2;
    let w_of = |i: usize, j: usize| {
        let (dx, dy) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
        1.0 / (1.0 + dx * dx + dy * dy)
    };
    let z: f64 = (0..n)
        .into_par_iter()
        .map(|i| (0..n).filter(|&j| j != i).map(|j| w_of(i, j)).sum::<f64>())
        .sum();
    (0..n)
        .into_par_iter()
        .map(|i| {
            (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let pij = f64::from(p[i * n + j]);
                    let q = (w_of(i, j) / z).max(MACHINE_EPSILON);
                    pij * (pij.max(MACHINE_EPSILON) / q).ln()
                })
                .sum::<f64>()
        })
        .sum()
}

/// Venna & Kaski 2001, trustworthiness (as scikit-learn's `manifold.trustworthiness`):
/// `1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in U_i^k} (r(i, j) - k)`, where `U_i^k` are the
/// `k` nearest neighbours of `i` in the embedding that are not among its `k` nearest in the
/// input and `r(i, j)` is `j`'s rank among `i`'s input neighbours. 1 means the embedding
/// invents no neighbourhoods.
pub fn trustworthiness(x: &Matrix, embedded: &Matrix, k: usize) -> Result<f64> {
    validate::matrix("trustworthiness: input", x)?;
    validate::matrix("trustworthiness: embedding", embedded)?;
    validate::length(
        "trustworthiness: embedding",
        embedded.rows(),
        "the input",
        x.rows(),
    )?;
    let n = x.rows();
    if k == 0 || 2 * k >= n {
        return Err(LinalgError::param(
            "trustworthiness: k",
            k,
            "at least 1 and below half the number of rows",
        ));
    }
    let dx = sq_distances(x, x)?;
    let de = sq_distances(embedded, embedded)?;
    let penalty: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let order = |d: &Matrix| {
                let row = d.row(i);
                let mut idx: Vec<usize> = (0..n).filter(|&j| j != i).collect();
                idx.sort_by(|&a, &b| row[a].total_cmp(&row[b]).then(a.cmp(&b)));
                idx
            };
            let mut rank = vec![0usize; n];
            for (r, j) in order(&dx).into_iter().enumerate() {
                rank[j] = r + 1;
            }
            order(&de)
                .into_iter()
                .take(k)
                .map(|j| rank[j].saturating_sub(k) as f64)
                .sum::<f64>()
        })
        .sum();
    let (n, k) = (n as f64, k as f64);
    Ok(1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scripts/reference/tsne_reference.py: 300 scikit-learn digits on their 20 leading
    /// principal axes, scikit-learn's exact t-SNE of them and its scores.
    #[derive(serde::Deserialize)]
    struct Fixture {
        x: Vec<Vec<f64>>,
        sklearn_embedding: Vec<Vec<f64>>,
        sklearn_trustworthiness: f64,
        sklearn_kl_divergence: f64,
        sklearn_n_iter: usize,
        perplexity: f64,
        k: usize,
    }

    fn fixture() -> Fixture {
        serde_json::from_str(include_str!("../tests/fixtures/tsne_digits.json")).unwrap()
    }

    #[test]
    fn as_trustworthy_as_scikit_learn_on_digits() {
        let f = fixture();
        let x = Matrix::from_rows(&f.x).unwrap();
        let sk = Matrix::from_rows(&f.sklearn_embedding).unwrap();
        // The metric itself is scikit-learn's.
        let t_sk = trustworthiness(&x, &sk, f.k).unwrap();
        assert!(
            (t_sk - f.sklearn_trustworthiness).abs() < 1e-12,
            "{t_sk} vs {}",
            f.sklearn_trustworthiness
        );
        let e = Tsne {
            perplexity: f.perplexity,
            ..Default::default()
        }
        .fit(&x)
        .unwrap();
        let t = trustworthiness(&x, &e.points, f.k).unwrap();
        assert!(
            t >= f.sklearn_trustworthiness - 0.02,
            "trustworthiness {t} vs scikit-learn's {}",
            f.sklearn_trustworthiness
        );
        // The same objective reached as far.
        assert!(
            e.kl_divergence <= f.sklearn_kl_divergence * 1.05 + 0.02,
            "KL {} vs scikit-learn's {}",
            e.kl_divergence,
            f.sklearn_kl_divergence
        );
        assert!(e.n_iter <= 1000 && f.sklearn_n_iter <= 1000);
        // A random scatter is far less trustworthy: the test can fail.
        let scatter: Vec<[f64; 2]> = (0..x.rows())
            .map(|i| {
                let v = i as f64;
                [(v * 12.9898).sin() * 43.7, (v * 78.233).sin() * 43.7]
            })
            .collect();
        let r = trustworthiness(&x, &Matrix::from_rows(&scatter).unwrap(), f.k).unwrap();
        assert!(r < t - 0.2, "random {r} vs t-SNE {t}");
    }

    #[test]
    fn affinities_meet_the_perplexity_and_sum_to_one() {
        let f = fixture();
        let x = Matrix::from_rows(&f.x[..100]).unwrap();
        let d = sq_distances(&x, &x).unwrap();
        for i in [0, 37, 99] {
            let mut row = d.row(i).to_vec();
            conditional_row(&mut row, i, 10.0);
            let h: f64 = -row
                .iter()
                .filter(|&&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>();
            assert!((h - 10f64.ln()).abs() < 1e-4, "row {i}: entropy {h}");
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12 && row[i] == 0.0);
        }
        let p = joint_probabilities(&x, 10.0).unwrap();
        assert!((p.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-5);
        assert_eq!(p[3 * 100 + 7], p[7 * 100 + 3]);
    }

    #[test]
    fn gradient_matches_finite_differences_of_the_kl_divergence() {
        let f = fixture();
        let x = Matrix::from_rows(&f.x[..30]).unwrap();
        let p = joint_probabilities(&x, 5.0).unwrap();
        let y: Vec<f64> = (0..60).map(|i| ((i as f64) * 0.7).sin()).collect();
        let g = gradient(&p, &y);
        for k in [0, 13, 59] {
            let h = 1e-6;
            let (mut a, mut b) = (y.clone(), y.clone());
            a[k] += h;
            b[k] -= h;
            let fd = (kl_divergence(&p, &a) - kl_divergence(&p, &b)) / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-4 * g[k].abs().max(1e-3),
                "coordinate {k}: {fd} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn deterministic_and_refuses_bad_input() {
        let f = fixture();
        let x = Matrix::from_rows(&f.x[..60]).unwrap();
        let t = Tsne {
            perplexity: 10.0,
            max_iter: 300,
            ..Default::default()
        };
        assert_eq!(t.fit(&x).unwrap(), t.fit(&x).unwrap());
        let e = Tsne {
            perplexity: 60.0,
            ..Default::default()
        }
        .fit(&x)
        .unwrap_err();
        assert!(e.to_string().contains("perplexity"), "{e}");
        let one = Matrix::from_rows(&[[1.0, 2.0]]).unwrap();
        assert!(Tsne::default().fit(&one).is_err());
        let mut bad = x.clone();
        bad.data_mut()[5] = f64::NAN;
        assert!(Tsne::default()
            .fit(&bad)
            .unwrap_err()
            .to_string()
            .contains("non-finite"));
        assert!(trustworthiness(&x, &x, 30).is_err());
    }
}
