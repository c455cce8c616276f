//! L2-penalised logistic regression exactly as scikit-learn's
//! `LogisticRegression(solver="lbfgs")`: multinomial for three or more classes, binomial for
//! two, unpenalised intercept, sample weights, the same objective scaling and stopping rule;
//! C fixed or chosen by stratified cross-validation like `LogisticRegressionCV`.

mod loss;

pub(crate) use loss::sigmoid;

use crate::cv::{self, CrossValidation};
use crate::error::{LinalgError, Result};
use crate::labels;
use crate::lbfgs::{self, Stop};
use crate::linear::{self, Linear};
use crate::matrix::Matrix;
use crate::scaler::StandardScaler;
use crate::validate;
use loss::Objective;

/// Inverse regularisation strength.
#[derive(Debug, Clone, PartialEq)]
pub enum CSpec {
    /// This value (scikit-learn's default is 1.0; `f64::INFINITY` means no penalty).
    Fixed(f64),
    /// The grid value with the best mean held-out accuracy over stratified folds.
    Auto,
}

impl Default for CSpec {
    fn default() -> Self {
        CSpec::Fixed(1.0)
    }
}

/// Hyper-parameters; `Default` matches scikit-learn's.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    pub c: CSpec,
    pub fit_intercept: bool,
    /// Stop when the largest gradient entry is at most `tol` (scipy's `gtol`).
    pub tol: f64,
    pub max_iter: usize,
    /// Standardise features (scikit-learn's `StandardScaler`) before fitting; the model applies
    /// the same transform when predicting.
    pub standardize: bool,
    /// Candidates for `CSpec::Auto`; default 10^-4 .. 10^4 in half decades (17 values).
    pub c_grid: Vec<f64>,
    pub cv: CrossValidation,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            c: CSpec::default(),
            fit_intercept: true,
            tol: 1e-4,
            max_iter: 100,
            standardize: false,
            c_grid: (0..17).map(|i| 10f64.powf(-4.0 + 0.5 * i as f64)).collect(),
            cv: CrossValidation::default(),
        }
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    classes: Vec<usize>,
    linear: Linear,
    c: f64,
    n_iter: usize,
    n_eval: usize,
    stop: Stop,
    objective: f64,
    grad_max: f64,
    cv_scores: Vec<(f64, f64)>,
}

struct Fit {
    linear: Linear,
    theta: Vec<f64>,
    sol: lbfgs::Solution,
}

impl LogisticRegression {
    /// Fits on `x` (n x d) with class labels `y` and optional per-sample weights.
    pub fn fit(
        &self,
        x: &Matrix,
        y: &[usize],
        sample_weight: Option<&[f64]>,
    ) -> Result<LogisticModel> {
        validate::positive("tol", self.tol)?;
        if self.max_iter == 0 {
            return Err(LinalgError::param("max_iter", 0, "at least 1"));
        }
        let (enc, w) = labels::training(x, y, sample_weight)?;
        let k = enc.n_classes();
        let (c, cv_scores) = match self.c {
            CSpec::Fixed(c) => {
                if c.is_nan() || c <= 0.0 {
                    return Err(LinalgError::param(
                        "c",
                        c,
                        "a number > 0 (infinity: no penalty)",
                    ));
                }
                (c, Vec::new())
            }
            CSpec::Auto => self.choose_c(x, &enc.codes, k, &w)?,
        };
        let fit = self.fit_codes(x, &enc.codes, k, &w, c, None);
        Ok(LogisticModel {
            classes: enc.classes,
            linear: fit.linear,
            c,
            n_iter: fit.sol.n_iter,
            n_eval: fit.sol.n_eval,
            stop: fit.sol.stop,
            objective: fit.sol.f,
            grad_max: fit.sol.grad_max,
            cv_scores,
        })
    }

    /// Mean held-out accuracy of every grid value; folds warm-start along the ascending grid
    /// as scikit-learn's regularisation path does.
    fn choose_c(
        &self,
        x: &Matrix,
        codes: &[usize],
        k: usize,
        w: &[f64],
    ) -> Result<(f64, Vec<(f64, f64)>)> {
        let mut grid = self.c_grid.clone();
        if grid.is_empty() {
            return Err(LinalgError::param(
                "c_grid",
                "[]",
                "at least one candidate C",
            ));
        }
        for &c in &grid {
            validate::positive("c_grid", c)?;
        }
        grid.sort_by(f64::total_cmp);
        grid.dedup();
        let folds = cv::stratified(codes, k, self.cv)?;
        let mut sums = vec![0.0; grid.len()];
        for fold in &folds {
            let xt = x.select_rows(&fold.train);
            let ct: Vec<usize> = fold.train.iter().map(|&i| codes[i]).collect();
            let wt: Vec<f64> = fold.train.iter().map(|&i| w[i]).collect();
            let xv = x.select_rows(&fold.test);
            let mut warm = None;
            for (j, &c) in grid.iter().enumerate() {
                let fit = self.fit_codes(&xt, &ct, k, &wt, c, warm.take());
                let scores = fit.linear.decision(&xv)?;
                let codes_all: Vec<usize> = (0..k).collect();
                let pred = linear::labels_from_scores(&scores, &codes_all);
                let hits = pred
                    .iter()
                    .zip(&fold.test)
                    .filter(|(p, &i)| **p == codes[i])
                    .count();
                sums[j] += hits as f64 / fold.test.len() as f64;
                warm = Some(fit.theta);
            }
        }
        let scores: Vec<(f64, f64)> = grid
            .iter()
            .zip(&sums)
            .map(|(&c, s)| (c, s / folds.len() as f64))
            .collect();
        let means: Vec<f64> = scores.iter().map(|s| s.1).collect();
        Ok((grid[cv::best(&means)], scores))
    }

    fn fit_codes(
        &self,
        x: &Matrix,
        codes: &[usize],
        k: usize,
        w: &[f64],
        c: f64,
        warm: Option<Vec<f64>>,
    ) -> Fit {
        let scaler = self.standardize.then(|| StandardScaler::fit(x, w));
        let scaled;
        let xs = match &scaler {
            Some(s) => {
                scaled = s.transform(x);
                &scaled
            }
            None => x,
        };
        let sw: f64 = w.iter().sum();
        let wn: Vec<f64> = w.iter().map(|v| v / sw).collect();
        let n_out = if k == 2 { 1 } else { k };
        let obj = Objective {
            x: xs,
            codes,
            w: &wn,
            n_out,
            fit_intercept: self.fit_intercept,
            l2: 1.0 / (c * sw),
        };
        let x0 = warm.unwrap_or_else(|| vec![0.0; obj.n_params()]);
        let opt = lbfgs::Options {
            max_iter: self.max_iter,
            pgtol: self.tol,
            ..Default::default()
        };
        let sol = lbfgs::minimize(|t, g| obj.loss_grad(t, g), x0, opt);
        let d = x.cols();
        let coef = Matrix::new(n_out, d, sol.x[..n_out * d].to_vec()).expect("shape");
        let intercept = if self.fit_intercept {
            sol.x[n_out * d..].to_vec()
        } else {
            vec![0.0; n_out]
        };
        Fit {
            linear: Linear {
                coef,
                intercept,
                scaler,
            },
            theta: sol.x.clone(),
            sol,
        }
    }
}

impl LogisticModel {
    /// Scores `x W^T + b`: one column (log-odds of `classes()[1]`) for two classes, else one
    /// per class.
    pub fn decision_function(&self, x: &Matrix) -> Result<Matrix> {
        self.linear.decision(x)
    }

    /// Class probabilities, columns in the order of `classes()`.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Matrix> {
        let z = self.linear.decision(x)?;
        let k = self.classes.len();
        let mut p = Matrix::zeros(z.rows(), k);
        for i in 0..z.rows() {
            let (zr, pr) = (z.row(i), p.row_mut(i));
            if zr.len() == 1 {
                pr[1] = sigmoid(zr[0]);
                pr[0] = 1.0 - pr[1];
            } else {
                let max = zr.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let mut s = 0.0;
                for (p, z) in pr.iter_mut().zip(zr) {
                    *p = (z - max).exp();
                    s += *p;
                }
                pr.iter_mut().for_each(|p| *p /= s);
            }
        }
        Ok(p)
    }

    /// Most probable class label per row.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        Ok(linear::labels_from_scores(
            &self.linear.decision(x)?,
            &self.classes,
        ))
    }

    /// Labels seen in training, ascending: the column order of `predict_proba`.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// `n_out x d` coefficients (one row for two classes), in the standardised space when
    /// `standardize` was set.
    pub fn coef(&self) -> &Matrix {
        &self.linear.coef
    }

    pub fn intercept(&self) -> &[f64] {
        &self.linear.intercept
    }

    pub fn scaler(&self) -> Option<&StandardScaler> {
        self.linear.scaler.as_ref()
    }

    /// The C used for the final fit.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// L-BFGS iterations of the final fit.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Objective-and-gradient evaluations of the final fit (line-search trials included).
    pub fn n_eval(&self) -> usize {
        self.n_eval
    }

    pub fn stop(&self) -> Stop {
        self.stop
    }

    /// Whether the final fit met `tol` (or stalled at machine precision) within `max_iter`.
    pub fn converged(&self) -> bool {
        self.stop != Stop::MaxIter && self.stop != Stop::LineSearch
    }

    /// Final value of the penalised objective.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// Largest gradient entry at the solution.
    pub fn grad_max(&self) -> f64 {
        self.grad_max
    }

    /// `(C, mean held-out accuracy)` per grid value when C was chosen by cross-validation.
    pub fn cv_scores(&self) -> &[(f64, f64)] {
        &self.cv_scores
    }
}
