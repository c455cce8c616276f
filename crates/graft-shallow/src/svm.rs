//! Linear SVM as scikit-learn's `LinearSVC` (liblinear): L2-regularised squared hinge loss,
//! one-vs-rest, intercept as an extra constant feature (`intercept_scaling`) that is penalised
//! like the other weights, solved by dual coordinate descent with shrinking (Hsieh et al. 2008,
//! "A dual coordinate descent method for large-scale linear SVM", ICML, Algorithm 1 with the
//! L2-loss diagonal D_ii = 1 / (2 C)).

use crate::error::{LinalgError, Result};
use crate::labels;
use crate::linear::{self, Linear};
use crate::matrix::Matrix;
use crate::validate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Hyper-parameters; `Default` matches scikit-learn's.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSvc {
    pub c: f64,
    pub fit_intercept: bool,
    /// Value of the constant feature whose weight becomes the intercept (scaled by it).
    pub intercept_scaling: f64,
    /// Stop when the spread of projected gradients is at most `tol`.
    pub tol: f64,
    /// Passes over the data per binary problem.
    pub max_iter: usize,
    /// Seed of the coordinate order.
    pub seed: u64,
}

impl Default for LinearSvc {
    fn default() -> Self {
        LinearSvc {
            c: 1.0,
            fit_intercept: true,
            intercept_scaling: 1.0,
            tol: 1e-4,
            max_iter: 1000,
            seed: 0,
        }
    }
}

/// A fitted linear SVM.
#[derive(Debug, Clone, PartialEq)]
pub struct SvmModel {
    classes: Vec<usize>,
    linear: Linear,
    n_iter: Vec<usize>,
}

impl LinearSvc {
    /// One binary problem for two classes (positive = the larger label), else one per class.
    pub fn fit(&self, x: &Matrix, y: &[usize], sample_weight: Option<&[f64]>) -> Result<SvmModel> {
        validate::positive("c", self.c)?;
        validate::positive("tol", self.tol)?;
        if self.fit_intercept {
            validate::positive("intercept_scaling", self.intercept_scaling)?;
        }
        if self.max_iter == 0 {
            return Err(LinalgError::param("max_iter", 0, "at least 1"));
        }
        let (enc, w) = labels::training(x, y, sample_weight)?;
        let k = enc.n_classes();
        let n_out = if k == 2 { 1 } else { k };
        let bias = if self.fit_intercept {
            self.intercept_scaling
        } else {
            0.0
        };
        let sq_norms: Vec<f64> = (0..x.rows())
            .map(|i| x.row(i).iter().map(|v| v * v).sum())
            .collect();
        let solved: Vec<(Vec<f64>, f64, usize)> = (0..n_out)
            .into_par_iter()
            .map(|j| {
                let positive = if n_out == 1 { 1 } else { j };
                let signs: Vec<f64> = enc
                    .codes
                    .iter()
                    .map(|&c| if c == positive { 1.0 } else { -1.0 })
                    .collect();
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(j as u64);
                self.dual_cd(x, &sq_norms, &signs, &w, bias, &mut rng)
            })
            .collect();
        let d = x.cols();
        let mut coef = Matrix::zeros(n_out, d);
        let mut intercept = Vec::with_capacity(n_out);
        let mut n_iter = Vec::with_capacity(n_out);
        for (j, (wv, wb, it)) in solved.into_iter().enumerate() {
            coef.row_mut(j).copy_from_slice(&wv);
            intercept.push(wb * bias);
            n_iter.push(it);
        }
        Ok(SvmModel {
            classes: enc.classes,
            linear: Linear {
                coef,
                intercept,
                scaler: None,
            },
            n_iter,
        })
    }

    /// liblinear's `solve_l2r_l1l2_svc` for the L2 loss: box [0, inf), diagonal 1 / (2 C s_i).
    /// Returns the weights, the weight of the constant feature and the passes made.
    fn dual_cd(
        &self,
        x: &Matrix,
        sq_norms: &[f64],
        y: &[f64],
        s: &[f64],
        bias: f64,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<f64>, f64, usize) {
        let d = x.cols();
        // Samples with zero weight have no loss term: leave them out.
        let mut index: Vec<usize> = (0..x.rows()).filter(|&i| s[i] > 0.0).collect();
        let l = index.len();
        let diag: Vec<f64> = s
            .iter()
            .map(|&si| if si > 0.0 { 0.5 / (self.c * si) } else { 0.0 })
            .collect();
        let qd: Vec<f64> = (0..x.rows())
            .map(|i| diag[i] + sq_norms[i] + bias * bias)
            .collect();
        let mut alpha = vec![0.0; x.rows()];
        let mut w = vec![0.0; d];
        let mut wb = 0.0;
        let mut active = l;
        // The upper bound is infinite for the L2 loss, so only the lower-bound shrinking applies.
        let mut pgmax_old = f64::INFINITY;
        let mut iter = 0;
        while iter < self.max_iter {
            let (mut pgmax_new, mut pgmin_new) = (f64::NEG_INFINITY, f64::INFINITY);
            for i in 0..active {
                let j = rng.random_range(i..active);
                index.swap(i, j);
            }
            let mut sidx = 0;
            while sidx < active {
                let i = index[sidx];
                let yi = y[i];
                let xi = x.row(i);
                let wx: f64 = xi.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + wb * bias;
                let g = yi * wx - 1.0 + alpha[i] * diag[i];
                let mut pg = 0.0;
                if alpha[i] == 0.0 {
                    if g > pgmax_old {
                        active -= 1;
                        index.swap(sidx, active);
                        continue;
                    } else if g < 0.0 {
                        pg = g;
                    }
                } else {
                    pg = g;
                }
                pgmax_new = pgmax_new.max(pg);
                pgmin_new = pgmin_new.min(pg);
                if pg.abs() > 1e-12 {
                    let old = alpha[i];
                    alpha[i] = (old - g / qd[i]).max(0.0);
                    let step = (alpha[i] - old) * yi;
                    w.iter_mut().zip(xi).for_each(|(wv, xv)| *wv += step * xv);
                    wb += step * bias;
                }
                sidx += 1;
            }
            iter += 1;
            if pgmax_new - pgmin_new <= self.tol {
                if active == l {
                    break;
                }
                active = l;
                pgmax_old = f64::INFINITY;
                continue;
            }
            pgmax_old = if pgmax_new <= 0.0 {
                f64::INFINITY
            } else {
                pgmax_new
            };
        }
        (w, wb, iter)
    }
}

impl SvmModel {
    /// Signed distances (times ||w||): one column for two classes, else one per class.
    pub fn decision_function(&self, x: &Matrix) -> Result<Matrix> {
        self.linear.decision(x)
    }

    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        Ok(linear::labels_from_scores(
            &self.linear.decision(x)?,
            &self.classes,
        ))
    }

    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    pub fn coef(&self) -> &Matrix {
        &self.linear.coef
    }

    pub fn intercept(&self) -> &[f64] {
        &self.linear.intercept
    }

    /// Passes over the data per binary problem; `max_iter` means it did not meet `tol`.
    pub fn n_iter(&self) -> &[usize] {
        &self.n_iter
    }
}
