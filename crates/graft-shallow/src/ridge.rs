//! Ridge classifier as scikit-learn's `RidgeClassifier`: targets in {-1, 1} (one column for two
//! classes, one per class otherwise), least squares with an L2 penalty `alpha`, intercept from
//! weighted centring, closed-form Cholesky solve (primal when d <= n, kernel form otherwise).

use crate::error::{LinalgError, Result};
use crate::labels;
use crate::linear::{self, Linear};
use crate::matrix::Matrix;
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, Par, Side};

/// Hyper-parameters; `Default` matches scikit-learn's.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeClassifier {
    pub alpha: f64,
    pub fit_intercept: bool,
}

impl Default for RidgeClassifier {
    fn default() -> Self {
        RidgeClassifier {
            alpha: 1.0,
            fit_intercept: true,
        }
    }
}

/// A fitted ridge classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeModel {
    classes: Vec<usize>,
    linear: Linear,
}

impl RidgeClassifier {
    /// Minimises sum_i s_i ||t_i - W x_i - b||^2 + alpha ||W||^2 with t_i in {-1, 1}^k.
    pub fn fit(
        &self,
        x: &Matrix,
        y: &[usize],
        sample_weight: Option<&[f64]>,
    ) -> Result<RidgeModel> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(LinalgError::param(
                "alpha",
                self.alpha,
                "a finite number >= 0",
            ));
        }
        let (enc, w) = labels::training(x, y, sample_weight)?;
        let (n, d) = (x.rows(), x.cols());
        let k = enc.n_classes();
        let n_out = if k == 2 { 1 } else { k };
        let target = |i: usize, j: usize| {
            let c = enc.codes[i];
            let hit = if n_out == 1 { c == 1 } else { c == j };
            if hit {
                1.0
            } else {
                -1.0
            }
        };
        let t = Mat::from_fn(n, n_out, target);
        let (coef_t, x_mean, y_mean) =
            weighted_ridge(x, &t, &w, self.alpha, self.fit_intercept, "ridge")?;
        let coef = Matrix::from_faer(coef_t.transpose());
        let intercept = (0..n_out)
            .map(|j| y_mean[j] - (0..d).map(|f| x_mean[f] * coef_t[(f, j)]).sum::<f64>())
            .collect();
        Ok(RidgeModel {
            classes: enc.classes,
            linear: Linear {
                coef,
                intercept,
                scaler: None,
            },
        })
    }
}

/// Weighted ridge least squares, scikit-learn's `Ridge` (cholesky solver): minimises
/// sum_i s_i ||t_i - W x_i - b||^2 + alpha ||W||^2 for the `n x m` targets `t`. The intercept
/// comes from centring on the weighted means and the weights enter as sqrt(s_i) row scalings;
/// the normal equations are solved in primal form when d <= n, else in the n x n kernel form.
/// Returns the `d x m` coefficients and the weighted means of `x` and of `t` (zero without
/// intercept). `method` names the caller in a failed factorisation.
pub(crate) fn weighted_ridge(
    x: &Matrix,
    t: &Mat<f64>,
    w: &[f64],
    alpha: f64,
    fit_intercept: bool,
    method: &'static str,
) -> Result<(Mat<f64>, Vec<f64>, Vec<f64>)> {
    let (n, d, m) = (x.rows(), x.cols(), t.ncols());
    let sw: f64 = w.iter().sum();
    let mut x_mean = vec![0.0; d];
    let mut t_mean = vec![0.0; m];
    if fit_intercept {
        for (i, &wi) in w.iter().enumerate() {
            x_mean
                .iter_mut()
                .zip(x.row(i))
                .for_each(|(mu, v)| *mu += wi * v / sw);
            for (j, mu) in t_mean.iter_mut().enumerate() {
                *mu += wi * t[(i, j)] / sw;
            }
        }
    }
    // Centred, then scaled by sqrt(s_i): weighted least squares as ordinary least squares.
    let xc = Mat::from_fn(n, d, |i, j| w[i].sqrt() * (x.get(i, j) - x_mean[j]));
    let tc = Mat::from_fn(n, m, |i, j| w[i].sqrt() * (t[(i, j)] - t_mean[j]));
    let coef = if d <= n {
        let mut a = Mat::<f64>::zeros(d, d);
        matmul(
            a.as_mut(),
            Accum::Replace,
            xc.transpose(),
            xc.as_ref(),
            1.0,
            Par::rayon(0),
        );
        for j in 0..d {
            a[(j, j)] += alpha;
        }
        let mut b = Mat::<f64>::zeros(d, m);
        matmul(
            b.as_mut(),
            Accum::Replace,
            xc.transpose(),
            tc.as_ref(),
            1.0,
            Par::rayon(0),
        );
        cholesky_solve(a, b, method)?
    } else {
        let mut kmat = Mat::<f64>::zeros(n, n);
        matmul(
            kmat.as_mut(),
            Accum::Replace,
            xc.as_ref(),
            xc.transpose(),
            1.0,
            Par::rayon(0),
        );
        for i in 0..n {
            kmat[(i, i)] += alpha;
        }
        let dual = cholesky_solve(kmat, tc, method)?;
        let mut c = Mat::<f64>::zeros(d, m);
        matmul(
            c.as_mut(),
            Accum::Replace,
            xc.transpose(),
            dual.as_ref(),
            1.0,
            Par::rayon(0),
        );
        c
    };
    Ok((coef, x_mean, t_mean))
}

fn cholesky_solve(a: Mat<f64>, mut b: Mat<f64>, method: &'static str) -> Result<Mat<f64>> {
    let llt = a.llt(Side::Lower).map_err(|e| LinalgError::Numerical {
        method,
        reason: format!("Cholesky factorisation failed ({e:?}); use alpha > 0"),
    })?;
    llt.solve_in_place(b.as_mut());
    Ok(b)
}

impl RidgeModel {
    /// Scores: one column for two classes (positive means `classes()[1]`), else one per class.
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
}
