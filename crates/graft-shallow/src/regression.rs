//! Regressors on feature matrices (the weak learners of TrAdaBoostR2): one trait pair, so the
//! boosting methods take any regressor that accepts sample weights, and ridge regression as
//! scikit-learn's `Ridge` defines it.

use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::ridge::weighted_ridge;
use crate::validate;
use faer::Mat;

/// A regressor's hyper-parameters.
pub trait Regressor {
    type Model: FittedRegressor;
    fn fit(&self, x: &Matrix, y: &[f64], sample_weight: Option<&[f64]>) -> Result<Self::Model>;
}

/// A fitted regressor: one real prediction per row.
pub trait FittedRegressor: Send + Sync {
    fn predict(&self, x: &Matrix) -> Result<Vec<f64>>;
}

/// L2-penalised least squares; `Default` is scikit-learn's `Ridge()` (alpha 1, intercept).
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeRegression {
    pub alpha: f64,
    pub fit_intercept: bool,
}

impl Default for RidgeRegression {
    fn default() -> Self {
        RidgeRegression {
            alpha: 1.0,
            fit_intercept: true,
        }
    }
}

/// A fitted ridge regression.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeRegressionModel {
    coef: Vec<f64>,
    intercept: f64,
}

/// Finite, one per row of `x`.
pub(crate) fn check_targets(
    input: &'static str,
    y: &[f64],
    reference: &'static str,
    rows: usize,
) -> Result<()> {
    validate::length(input, y.len(), reference, rows)?;
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite {
            input,
            row,
            col: 0,
            value: y[row],
        });
    }
    Ok(())
}

impl RidgeRegression {
    /// Minimises sum_i s_i (y_i - w.x_i - b)^2 + alpha ||w||^2. The intercept comes from
    /// centring on the weighted means and the weights enter as sqrt(s_i) row scalings, which is
    /// how scikit-learn's `Ridge` (cholesky solver) treats `sample_weight`, so the unnormalised
    /// scale of the weights matters against `alpha` exactly as there.
    pub fn fit(
        &self,
        x: &Matrix,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<RidgeRegressionModel> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(LinalgError::param(
                "alpha",
                self.alpha,
                "a finite number >= 0",
            ));
        }
        validate::matrix("x", x)?;
        check_targets("y", y, "x", x.rows())?;
        let w = validate::weights(sample_weight, x.rows())?;
        let t = Mat::from_fn(x.rows(), 1, |i, _| y[i]);
        let (coef, x_mean, t_mean) = weighted_ridge(
            x,
            &t,
            &w,
            self.alpha,
            self.fit_intercept,
            "ridge regression",
        )?;
        let (d, y_mean) = (x.cols(), t_mean[0]);
        let coef: Vec<f64> = (0..d).map(|j| coef[(j, 0)]).collect();
        let intercept = y_mean - x_mean.iter().zip(&coef).map(|(m, c)| m * c).sum::<f64>();
        Ok(RidgeRegressionModel { coef, intercept })
    }
}

impl RidgeRegressionModel {
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        validate::same_cols("x", x, self.coef.len())?;
        Ok((0..x.rows())
            .map(|i| {
                self.intercept
                    + x.row(i)
                        .iter()
                        .zip(&self.coef)
                        .map(|(v, c)| v * c)
                        .sum::<f64>()
            })
            .collect())
    }

    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    pub fn intercept(&self) -> f64 {
        self.intercept
    }
}

impl Regressor for RidgeRegression {
    type Model = RidgeRegressionModel;
    fn fit(
        &self,
        x: &Matrix,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<RidgeRegressionModel> {
        RidgeRegression::fit(self, x, y, sample_weight)
    }
}

impl FittedRegressor for RidgeRegressionModel {
    fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        RidgeRegressionModel::predict(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_noiseless_line_with_tiny_alpha() {
        let x = Matrix::from_rows(&[[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 3.0]]).unwrap();
        let y: Vec<f64> = (0..4)
            .map(|i| 2.0 * x.get(i, 0) - x.get(i, 1) + 0.5)
            .collect();
        let m = RidgeRegression {
            alpha: 1e-10,
            fit_intercept: true,
        }
        .fit(&x, &y, Some(&[1.0, 2.0, 3.0, 4.0]))
        .unwrap();
        assert!((m.coef()[0] - 2.0).abs() < 1e-8 && (m.coef()[1] + 1.0).abs() < 1e-8);
        assert!((m.intercept() - 0.5).abs() < 1e-8);
    }

    #[test]
    fn weights_act_as_repetitions() {
        let x = Matrix::from_rows(&[[0.0], [1.0], [2.0], [5.0]]).unwrap();
        let y = [0.3, 1.1, 1.9, 4.0];
        let a = RidgeRegression::default()
            .fit(&x, &y, Some(&[1.0, 2.0, 1.0, 3.0]))
            .unwrap();
        let xr = Matrix::from_rows(&[[0.0], [1.0], [1.0], [2.0], [5.0], [5.0], [5.0]]).unwrap();
        let b = RidgeRegression::default()
            .fit(&xr, &[0.3, 1.1, 1.1, 1.9, 4.0, 4.0, 4.0], None)
            .unwrap();
        assert!((a.coef()[0] - b.coef()[0]).abs() < 1e-12);
        assert!((a.intercept() - b.intercept()).abs() < 1e-12);
    }

    #[test]
    fn bad_input_names_it() {
        let x = Matrix::from_rows(&[[0.0], [1.0]]).unwrap();
        let err = RidgeRegression::default()
            .fit(&x, &[1.0, f64::NAN], None)
            .unwrap_err();
        assert!(matches!(
            err,
            LinalgError::NonFinite {
                input: "y",
                row: 1,
                ..
            }
        ));
        let err = RidgeRegression::default()
            .fit(&x, &[1.0], None)
            .unwrap_err();
        assert!(matches!(
            err,
            LinalgError::LengthMismatch { input: "y", .. }
        ));
        let err = RidgeRegression {
            alpha: -1.0,
            ..Default::default()
        }
        .fit(&x, &[1.0, 2.0], None)
        .unwrap_err();
        assert!(matches!(
            err,
            LinalgError::InvalidParameter { name: "alpha", .. }
        ));
        let m = RidgeRegression::default()
            .fit(&x, &[1.0, 2.0], None)
            .unwrap();
        assert!(m.predict(&Matrix::zeros(1, 2)).is_err());
    }
}
