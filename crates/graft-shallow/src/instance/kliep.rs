//! KLIEP: the density ratio that makes the reweighted source closest to the target in
//! Kullback-Leibler divergence.

use super::centres;
use super::input;
use super::ratio::{gemv, mat_t_vec, mat_vec, DensityRatio, Fitted, KernelRatio};
use super::weights::InstanceWeights;
use super::Reweighter;
use crate::cv::{self, CrossValidation};
use crate::error::{LinalgError, Result};
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use crate::validate;
use rayon::prelude::*;

/// numpy's `finfo(float).eps`, the floor ADAPT puts under `A alpha` and `b`.
const EPS: f64 = f64::EPSILON;

/// How the concave log-likelihood is maximised over `{alpha >= 0, b'alpha = 1}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KliepSolver {
    /// Frank-Wolfe with step `2 / (k + 2)` for `max_iter` steps (ADAPT's default, `algo="FW"`).
    FrankWolfe,
    /// Gradient ascent with the exact Euclidean projection onto the constraint set, best of
    /// the learning rates (`algo="PG"`).
    ProjectedGradient,
    /// The paper's pseudo code: gradient ascent, then the approximate projection (shift along
    /// `b`, clip at 0, rescale), best of the learning rates (`algo="original"`).
    Original,
}

/// Sugiyama et al. 2008 (NIPS 20; AISM 60), "Direct importance estimation with model selection
/// and its application to covariate shift adaptation", the KLIEP problem: `max sum_j
/// log(A alpha)_j` s.t. `b'alpha = 1`, `alpha >= 0`, `A_jl = k(xt_j, c_l)`, `b_l = mean_i
/// k(xs_i, c_l)`; the width chosen by their likelihood cross-validation over target folds.
/// Defaults are ADAPT's `KLIEP`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kliep {
    /// RBF widths (`exp(-gamma |x - c|^2)`); `None`: `1 / n_features`.
    pub gammas: Option<Vec<f64>>,
    /// Kernel centres: at most this many target rows (fewer when a centre is too far from
    /// every source row to matter, `b_l < eps`).
    pub max_centers: usize,
    /// Folds of the likelihood cross-validation, used when there are several widths.
    pub cv: CrossValidation,
    pub solver: KliepSolver,
    /// Learning rates tried by the gradient solvers.
    pub lr: Vec<f64>,
    /// Gradient solvers stop when the objective improves by at most this much.
    pub tol: f64,
    pub max_iter: usize,
    /// Seeds the choice of centres.
    pub seed: u64,
}

impl Default for Kliep {
    fn default() -> Self {
        Kliep {
            gammas: None,
            max_centers: 100,
            cv: CrossValidation { folds: 5, seed: 0 },
            solver: KliepSolver::FrankWolfe,
            lr: vec![0.001, 0.01, 0.1, 1.0, 10.0],
            tol: 1e-6,
            max_iter: 2000,
            seed: 0,
        }
    }
}

impl Reweighter for Kliep {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights> {
        Ok(self.fit(source, target)?.weights)
    }
}

/// Centres, their kernel values and the solution for one width.
struct Solution {
    centres: Matrix,
    /// `k(xs_i, c_l)`, `ns x m`.
    k_source: Matrix,
    alpha: Vec<f64>,
    note: Option<String>,
}

impl Kliep {
    /// The ratio function and the source weights.
    pub fn fit(&self, source: &Matrix, target: &Matrix) -> Result<Fitted<KernelRatio>> {
        input::domains(source, target)?;
        let gammas = input::gammas(self.gammas.as_deref(), source.cols())?;
        self.check()?;
        let mut notes = Vec::new();
        let gamma = if gammas.len() > 1 {
            let (g, score) = self.choose(source, target, &gammas)?;
            notes.push(format!(
                "{}-fold likelihood cross-validation: mean held-out log-ratio {score:.6}",
                self.cv.folds
            ));
            g
        } else {
            gammas[0]
        };
        let kernel = Kernel::Rbf { gamma };
        let sol = self.solve(kernel, source, target)?;
        notes.extend(sol.note);
        let weights = mat_vec(&sol.k_source, &sol.alpha);
        let mut w = InstanceWeights::new("kliep", weights).chose("gamma", gamma);
        w.notes = notes;
        Ok(Fitted {
            ratio: KernelRatio {
                kernel,
                centres: sol.centres,
                coef: sol.alpha,
            },
            weights: w,
        })
    }

    fn check(&self) -> Result<()> {
        if self.max_centers == 0 {
            return Err(LinalgError::param("max_centers", 0, "at least 1"));
        }
        if self.max_iter == 0 {
            return Err(LinalgError::param("max_iter", 0, "at least 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(LinalgError::param("tol", self.tol, "a finite number >= 0"));
        }
        if self.solver != KliepSolver::FrankWolfe {
            if self.lr.is_empty() {
                return Err(LinalgError::param("lr", "[]", "at least one learning rate"));
            }
            for &lr in &self.lr {
                validate::positive("lr", lr)?;
            }
        }
        Ok(())
    }

    /// The width with the largest mean held-out `log r(xt)` (ADAPT's J score), and that score.
    fn choose(&self, source: &Matrix, target: &Matrix, gammas: &[f64]) -> Result<(f64, f64)> {
        let folds = cv::kfold(target.rows(), self.cv)?;
        let jobs: Vec<(usize, usize)> = (0..gammas.len())
            .flat_map(|g| (0..folds.len()).map(move |f| (g, f)))
            .collect();
        let scores: Vec<f64> = jobs
            .par_iter()
            .map(|&(g, f)| {
                let kernel = Kernel::Rbf { gamma: gammas[g] };
                let fold = &folds[f];
                // A width that leaves no usable centre scores -inf, as in ADAPT.
                let Ok(sol) = self.solve(kernel, source, &target.select_rows(&fold.train)) else {
                    return f64::NEG_INFINITY;
                };
                let ratio = KernelRatio {
                    kernel,
                    centres: sol.centres,
                    coef: sol.alpha,
                };
                match ratio.ratio(&target.select_rows(&fold.test)) {
                    Ok(r) => r.iter().map(|v| (v + EPS).ln()).sum::<f64>() / r.len() as f64,
                    Err(_) => f64::NEG_INFINITY,
                }
            })
            .collect();
        let means: Vec<f64> = scores
            .chunks(folds.len())
            .map(|s| s.iter().sum::<f64>() / s.len() as f64)
            .collect();
        let best = cv::best(&means);
        if means[best] == f64::NEG_INFINITY {
            return Err(LinalgError::Numerical {
                method: "kliep",
                reason: "no kernel width left a usable centre in every fold".into(),
            });
        }
        Ok((gammas[best], means[best]))
    }

    fn solve(&self, kernel: Kernel, source: &Matrix, target: &Matrix) -> Result<Solution> {
        let (centres, k_source, mut note) = self.centres(kernel, source, target)?;
        let m = centres.rows();
        let ns = source.rows() as f64;
        let b: Vec<f64> = (0..m)
            .map(|l| {
                (0..k_source.rows())
                    .map(|i| k_source.row(i)[l])
                    .sum::<f64>()
                    / ns
            })
            .collect();
        // A^T, m x nt: row l holds k(c_l, xt_j), so A^T r and the columns of A are contiguous.
        let a_t = kernel.gram(&centres, target)?;
        let alpha = match self.solver {
            KliepSolver::FrankWolfe => frank_wolfe(&a_t, &b, self.max_iter),
            KliepSolver::ProjectedGradient | KliepSolver::Original => {
                let (alpha, stalled) = self.gradient_ascent(&a_t, &b);
                if stalled {
                    note = Some(
                        note.map_or(String::new(), |n| n + "; ")
                            + "gradient ascent reached max_iter",
                    );
                }
                alpha
            }
        };
        Ok(Solution {
            centres,
            k_source,
            alpha,
            note,
        })
    }

    /// ADAPT's choice: up to three successive blocks of a seeded permutation of the target,
    /// keeping rows whose mean kernel value to the source is at least `eps`, truncated to
    /// `max_centers`.
    fn centres(
        &self,
        kernel: Kernel,
        source: &Matrix,
        target: &Matrix,
    ) -> Result<(Matrix, Matrix, Option<String>)> {
        let nt = target.rows();
        let m = nt.min(self.max_centers);
        let order = centres::permutation(nt, self.seed);
        let mut kept: Vec<usize> = Vec::new();
        let mut k_cols: Vec<Matrix> = Vec::new();
        let mut block = 0;
        while block * m < nt && kept.len() < m && block < 3 {
            let idx = &order[block * m..((block + 1) * m).min(nt)];
            let k = kernel.gram(source, &target.select_rows(idx))?;
            let ns = source.rows() as f64;
            let good: Vec<usize> = (0..idx.len())
                .filter(|&l| (0..k.rows()).map(|i| k.row(i)[l]).sum::<f64>() / ns >= EPS)
                .collect();
            kept.extend(good.iter().map(|&l| idx[l]));
            k_cols.push(select_columns(&k, &good));
            block += 1;
        }
        if kept.is_empty() {
            return Err(LinalgError::Numerical {
                method: "kliep",
                reason: "no target row is close enough to the source to serve as a kernel \
                         centre; use a smaller gamma"
                    .into(),
            });
        }
        let note = (kept.len() < m).then(|| {
            format!(
                "only {} usable centres of {m} (the others are too far from the source)",
                kept.len()
            )
        });
        let take = kept.len().min(m);
        kept.truncate(take);
        let mut k_source = Matrix::zeros(source.rows(), take);
        for i in 0..source.rows() {
            let row = k_source.row_mut(i);
            let mut c = 0;
            for kc in &k_cols {
                for &v in kc.row(i) {
                    if c < take {
                        row[c] = v;
                        c += 1;
                    }
                }
            }
        }
        Ok((target.select_rows(&kept), k_source, note))
    }

    /// Best final objective over the learning rates; whether the last run hit `max_iter`.
    fn gradient_ascent(&self, a_t: &Matrix, b: &[f64]) -> (Vec<f64>, bool) {
        let exact = self.solver == KliepSolver::ProjectedGradient;
        let runs: Vec<(Vec<f64>, f64, bool)> = self
            .lr
            .par_iter()
            .map(|&lr| {
                let mut alpha: Vec<f64> = if exact {
                    b.iter().map(|&bl| 1.0 / (b.len() as f64 * bl)).collect()
                } else {
                    let mut a = vec![1.0; b.len()];
                    project_original(&mut a, b);
                    a
                };
                let mut objective = log_likelihood(a_t, &alpha);
                let mut previous = f64::NEG_INFINITY;
                let mut previous_alpha = alpha.clone();
                let mut k = 0;
                while k < self.max_iter && objective - previous > self.tol {
                    previous = objective;
                    previous_alpha.copy_from_slice(&alpha);
                    let g = gradient(a_t, &mat_t_vec(a_t, &alpha));
                    alpha.iter_mut().zip(&g).for_each(|(a, g)| *a += lr * g);
                    if exact {
                        project_exact(&mut alpha, b);
                    } else {
                        project_original(&mut alpha, b);
                    }
                    objective = log_likelihood(a_t, &alpha);
                    k += 1;
                }
                // As ADAPT: the iterate before the step that stopped improving.
                (previous_alpha, previous, k == self.max_iter)
            })
            .collect();
        let best = cv::best(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
        let (alpha, _, stalled) = runs.into_iter().nth(best).expect("lr is non-empty");
        (alpha, stalled)
    }
}

/// `A^T (1 / max(A alpha, eps))`, given `A alpha`.
fn gradient(a_t: &Matrix, a_alpha: &[f64]) -> Vec<f64> {
    let r: Vec<f64> = a_alpha.iter().map(|&v| 1.0 / v.max(EPS)).collect();
    mat_vec(a_t, &r)
}

fn log_likelihood(a_t: &Matrix, alpha: &[f64]) -> f64 {
    mat_t_vec(a_t, alpha).iter().map(|v| (v + EPS).ln()).sum()
}

/// Frank-Wolfe from `alpha_l = 1 / (m b_l)`: the linear maximiser over the simplex-like set is
/// the vertex `e_l / b_l` with the largest `g_l / b_l`.
fn frank_wolfe(a_t: &Matrix, b: &[f64], max_iter: usize) -> Vec<f64> {
    let m = b.len();
    let mut alpha: Vec<f64> = b.iter().map(|&bl| 1.0 / (m as f64 * bl)).collect();
    let mut a_alpha = mat_t_vec(a_t, &alpha);
    let mut r = vec![0.0; a_alpha.len()];
    let mut g = vec![0.0; m];
    for k in 0..max_iter {
        r.iter_mut()
            .zip(&a_alpha)
            .for_each(|(r, &v)| *r = 1.0 / v.max(EPS));
        gemv(a_t, false, &r, &mut g);
        let mut best = 0;
        for l in 1..m {
            if g[l] / b[l] > g[best] / b[best] {
                best = l;
            }
        }
        let step = 2.0 / (k as f64 + 2.0);
        let scale = step / b[best];
        alpha.iter_mut().for_each(|a| *a *= 1.0 - step);
        alpha[best] += scale;
        a_alpha
            .iter_mut()
            .zip(a_t.row(best))
            .for_each(|(v, &col)| *v = (1.0 - step) * *v + scale * col);
    }
    alpha
}

/// The paper's step: `alpha += b (1 - b'alpha) / b'b`, clip at 0, `alpha /= b'alpha`.
fn project_original(alpha: &mut [f64], b: &[f64]) {
    let bb: f64 = b.iter().map(|v| v * v).sum();
    let ba: f64 = b.iter().zip(alpha.iter()).map(|(x, y)| x * y).sum();
    let shift = (1.0 - ba) / (bb + EPS);
    alpha
        .iter_mut()
        .zip(b)
        .for_each(|(a, &bl)| *a = (*a + bl * shift).max(0.0));
    let ba: f64 = b.iter().zip(alpha.iter()).map(|(x, y)| x * y).sum::<f64>() + EPS;
    alpha.iter_mut().for_each(|a| *a /= ba);
}

/// Euclidean projection onto `{alpha >= 0, b'alpha = 1}`: `max(0, y - nu b)` with `nu` found by
/// sorting `y_l / b_l` (ADAPT's `_projection_PG`).
fn project_exact(y: &mut [f64], b: &[f64]) {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&i, &j| (y[i] / b[i]).total_cmp(&(y[j] / b[j])));
    // Suffix sums of y_l b_l and b_l^2 in sorted order.
    let n = y.len();
    let mut yb = vec![0.0; n + 1];
    let mut bb = vec![0.0; n + 1];
    for k in (0..n).rev() {
        let l = order[k];
        yb[k] = yb[k + 1] + y[l] * b[l];
        bb[k] = bb[k + 1] + b[l] * b[l];
    }
    let ratio = |k: usize| y[order[k]] / b[order[k]];
    let mut chosen = 0;
    for k in 0..n {
        let nu = (yb[k] - 1.0) / bb[k];
        if (k == 0 || nu > ratio(k - 1)) && nu <= ratio(k) {
            chosen = k;
            break;
        }
    }
    let nu = (yb[chosen] - 1.0) / bb[chosen];
    y.iter_mut()
        .zip(b)
        .for_each(|(v, &bl)| *v = (*v - nu * bl).max(0.0));
}

/// Columns `idx` of `m`.
fn select_columns(m: &Matrix, idx: &[usize]) -> Matrix {
    let mut out = Matrix::zeros(m.rows(), idx.len());
    for i in 0..m.rows() {
        let (src, dst) = (m.row(i), out.row_mut(i));
        for (d, &j) in dst.iter_mut().zip(idx) {
            *d = src[j];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_projection_lands_on_the_constraint() {
        let b = [0.5, 1.0, 2.0, 0.25];
        let mut y = [0.3, -0.2, 0.9, 1.5];
        project_exact(&mut y, &b);
        let s: f64 = y.iter().zip(&b).map(|(a, b)| a * b).sum();
        assert!((s - 1.0).abs() < 1e-12, "b'alpha = {s}");
        assert!(y.iter().all(|&v| v >= 0.0));
        let mut z = [0.3, -0.2, 0.9, 1.5];
        project_original(&mut z, &b);
        let s: f64 = z.iter().zip(&b).map(|(a, b)| a * b).sum();
        assert!((s - 1.0).abs() < 1e-9);
    }
}
