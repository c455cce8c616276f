//! Two-stage TrAdaBoost.R2: source weights fall on a fixed schedule while a cross-validated
//! AdaBoost.R2 on the target picks the step to keep.

use super::tradaboost_r2::{
    check_regression, losses, uniform, Loop, R2Loss, TrAdaBoostR2Model, Update,
};
use super::{check_rounds, learner_weights, normalise, stack};
use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::regression::{FittedRegressor, Regressor};

/// Pardoe & Stone, "Boosting for regression transfer", ICML 2010, Algorithm 3 (two-stage
/// TrAdaBoost.R2). Step t: stage 1 runs AdaBoost.R2 for F rounds with the source weights frozen;
/// stage 2 scales source weights by beta^loss with beta found by bisection so the target holds
/// n_t / n + t / (S - 1) (1 - n_t / n) of the total weight. As in ADAPT, the error of step t is
/// the k-fold (contiguous folds over the target) mean absolute error of the plain learner
/// trained with step t's weights, and the AdaBoost.R2 model of the best step is returned.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoStageTrAdaBoostR2<R: Regressor> {
    /// The learner of both stages and of the cross-validation.
    pub estimator: R,
    /// Steps S of the outer loop (ADAPT: 10).
    pub n_estimators: usize,
    /// AdaBoost.R2 rounds F in each first stage (ADAPT: 10).
    pub n_estimators_fs: usize,
    /// Cross-validation folds over the target (ADAPT: 5; fewer when the target is smaller).
    pub folds: usize,
    /// Exponent on every weight update (ADAPT: 1).
    pub lr: f64,
    pub loss: R2Loss,
}

impl<R: Regressor> TwoStageTrAdaBoostR2<R> {
    /// ADAPT's defaults around `estimator`.
    pub fn new(estimator: R) -> Self {
        TwoStageTrAdaBoostR2 {
            estimator,
            n_estimators: 10,
            n_estimators_fs: 10,
            folds: 5,
            lr: 1.0,
            loss: R2Loss::Linear,
        }
    }
}

impl<R: Regressor + Default> Default for TwoStageTrAdaBoostR2<R> {
    fn default() -> Self {
        TwoStageTrAdaBoostR2::new(R::default())
    }
}

/// The AdaBoost.R2 ensemble of the step with the lowest cross-validated error.
#[derive(Debug, Clone)]
pub struct TwoStageModel<M> {
    stage: TrAdaBoostR2Model<M>,
    cv_errors: Vec<f64>,
    best: usize,
    source_weights: Vec<f64>,
    target_weights: Vec<f64>,
}

/// One cross-validation split: source plus the target's training part, and the held-out part.
struct Fold {
    x: Matrix,
    y: Vec<f64>,
    train: Vec<usize>,
    test_x: Matrix,
    test_y: Vec<f64>,
}

/// ADAPT's folds: `min(k, n_t)` contiguous blocks of n_t / k targets, the last taking the rest.
fn folds(source: &Matrix, ys: &[f64], target: &Matrix, yt: &[f64], k: usize) -> Result<Vec<Fold>> {
    let nt = target.rows();
    let k = k.min(nt);
    let size = nt / k;
    (0..k)
        .map(|i| {
            let end = if i + 1 == k { nt } else { (i + 1) * size };
            let test: Vec<usize> = (i * size..end).collect();
            let train: Vec<usize> = (0..nt).filter(|j| !test.contains(j)).collect();
            Ok(Fold {
                x: stack(source, &target.select_rows(&train))?,
                y: ys
                    .iter()
                    .chain(train.iter().map(|&j| &yt[j]))
                    .copied()
                    .collect(),
                test_x: target.select_rows(&test),
                test_y: test.iter().map(|&j| yt[j]).collect(),
                train,
            })
        })
        .collect()
}

/// ADAPT's `_binary_search` for the root of an increasing `f` on [0, 1], kept step for step
/// (tolerance 1e-3 on |f|, at most 1000 halvings, fallback to the lowest value seen).
fn bisect(f: impl Fn(f64) -> f64) -> f64 {
    let (mut left, mut right) = (0.0, 1.0);
    let (mut f_left, mut f_right) = (f(left), f(right));
    let (mut best, mut best_score) = (1.0, 1.0);
    for _ in 0..1000 {
        if f_left.abs() < 1e-3 {
            return left;
        }
        if f_right.abs() < 1e-3 {
            return right;
        }
        let mid = (left + right) / 2.0;
        let f_mid = f(mid);
        if f_mid < best_score {
            best = mid;
            best_score = f_mid;
        }
        if f_mid * f_left <= 0.0 {
            (right, f_right) = (mid, f_mid);
        } else {
            (left, f_left) = (mid, f_mid);
        }
    }
    best
}

impl<R: Regressor> TwoStageTrAdaBoostR2<R> {
    /// Fits on labelled source and (few) labelled target samples.
    pub fn fit(
        &self,
        source: &Matrix,
        source_targets: &[f64],
        target: &Matrix,
        target_targets: &[f64],
    ) -> Result<TwoStageModel<R::Model>> {
        check_rounds("n_estimators", self.n_estimators)?;
        check_rounds("n_estimators_fs", self.n_estimators_fs)?;
        if self.folds == 0 {
            return Err(LinalgError::param("folds", 0, "at least 1"));
        }
        check_regression(source, source_targets, target, target_targets, self.lr)?;
        let (ns, nt, steps) = (source.rows(), target.rows(), self.n_estimators);
        let x = stack(source, target)?;
        let y: Vec<f64> = source_targets
            .iter()
            .chain(target_targets)
            .copied()
            .collect();
        let splits = folds(source, source_targets, target, target_targets, self.folds)?;
        let (mut ws, mut wt) = uniform(ns, nt);
        normalise("two-stage tradaboost.r2", 0, &mut ws, &mut wt)?;
        let share_t = nt as f64 / (ns + nt) as f64;
        let mut cv_errors = Vec::with_capacity(steps);
        let mut kept: Option<TwoStageModel<R::Model>> = None;
        for step in 0..steps {
            let cv = self.cv_error(&splits, &ws, &wt)?;
            let stage = Loop {
                estimator: &self.estimator,
                x: &x,
                y: &y,
                n_source: ns,
                rounds: self.n_estimators_fs,
                lr: self.lr,
                loss: self.loss,
                update: Update::TargetOnly,
            }
            .run(ws.clone(), wt.clone())?;
            let pred = if step + 1 < steps {
                Some(stage.predict(&x)?)
            } else {
                None
            };
            if kept.as_ref().is_none_or(|k| cv < cv_errors[k.best]) {
                kept = Some(TwoStageModel {
                    stage,
                    cv_errors: Vec::new(),
                    best: step,
                    source_weights: ws.clone(),
                    target_weights: wt.clone(),
                });
            }
            cv_errors.push(cv);
            if let Some(pred) = pred {
                let loss = losses(&pred, &y, self.loss);
                let loss_s = &loss[..ns];
                let k_t = share_t + step as f64 / (steps - 1) as f64 * (1.0 - share_t);
                let c_t = wt.iter().sum::<f64>() * (1.0 - k_t) / k_t;
                let beta = bisect(|b| {
                    ws.iter()
                        .zip(loss_s)
                        .map(|(w, e)| w * b.powf(*e))
                        .sum::<f64>()
                        - c_t
                });
                ws.iter_mut()
                    .zip(loss_s)
                    .for_each(|(w, e)| *w *= beta.powf(self.lr * e));
                normalise("two-stage tradaboost.r2", step, &mut ws, &mut wt)?;
            }
        }
        let mut model = kept.ok_or_else(|| LinalgError::param("n_estimators", 0, "at least 1"))?;
        model.cv_errors = cv_errors;
        Ok(model)
    }

    /// Mean over folds of the held-out MAE of the plain learner; the training part of the
    /// target is rescaled to carry the whole target's weight.
    fn cv_error(&self, splits: &[Fold], ws: &[f64], wt: &[f64]) -> Result<f64> {
        let total_t: f64 = wt.iter().sum();
        let mut sum = 0.0;
        for f in splits {
            let mut wtr: Vec<f64> = f.train.iter().map(|&j| wt[j]).collect();
            let part: f64 = wtr.iter().sum();
            if !wtr.is_empty() && part != 0.0 {
                wtr.iter_mut().for_each(|w| *w *= total_t / part);
            }
            let model = self
                .estimator
                .fit(&f.x, &f.y, Some(&learner_weights(ws, &wtr)))?;
            let pred = model.predict(&f.test_x)?;
            let mae = pred
                .iter()
                .zip(&f.test_y)
                .map(|(p, t)| (p - t).abs())
                .sum::<f64>()
                / f.test_y.len() as f64;
            sum += mae;
        }
        Ok(sum / splits.len() as f64)
    }
}

impl<M: FittedRegressor> TwoStageModel<M> {
    /// Cross-validated target MAE of every step (ADAPT's `estimator_errors_`).
    pub fn errors(&self) -> &[f64] {
        &self.cv_errors
    }

    /// The step whose AdaBoost.R2 model is kept (first lowest error).
    pub fn best_step(&self) -> usize {
        self.best
    }

    /// The kept AdaBoost.R2 ensemble.
    pub fn stage(&self) -> &TrAdaBoostR2Model<M> {
        &self.stage
    }

    /// Source instance weights the kept step started from, normalised with the target's to sum
    /// to one (ADAPT's `predict_weights("src")`).
    pub fn source_weights(&self) -> &[f64] {
        &self.source_weights
    }

    /// Target instance weights the kept step started from.
    pub fn target_weights(&self) -> &[f64] {
        &self.target_weights
    }

    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        self.stage.predict(x)
    }
}

impl<M: FittedRegressor> FittedRegressor for TwoStageModel<M> {
    fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        self.stage.predict(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regression::RidgeRegression;

    #[test]
    fn bisection_finds_the_root_of_an_increasing_function() {
        let b = bisect(|x| x * x - 0.25);
        assert!((b - 0.5).abs() < 1e-3);
        assert_eq!(bisect(|x| x - 1.0), 1.0);
    }

    #[test]
    fn folds_are_contiguous_and_cover_the_target() {
        let xs = Matrix::zeros(3, 1);
        let xt = Matrix::from_rows(&[[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0]]).unwrap();
        let yt: Vec<f64> = (0..7).map(f64::from).collect();
        let f = folds(&xs, &[0.0; 3], &xt, &yt, 3).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].test_y, vec![0.0, 1.0]);
        assert_eq!(f[2].test_y, vec![4.0, 5.0, 6.0]);
        assert_eq!(f[2].x.rows(), 3 + 4);
        assert_eq!(
            folds(&xs, &[0.0; 3], &xt.select_rows(&[0, 1]), &[0.0, 1.0], 5)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn target_share_follows_the_schedule() {
        let xs: Vec<[f64; 1]> = (0..30).map(|i| [(i % 10) as f64 / 10.0]).collect();
        let ys: Vec<f64> = (0..30)
            .map(|i| if i < 20 { 2.0 } else { -2.0 } * xs[i][0])
            .collect();
        let xt: Vec<[f64; 1]> = (0..6).map(|i| [0.1 + 0.15 * i as f64]).collect();
        let yt: Vec<f64> = xt.iter().map(|r| 2.0 * r[0]).collect();
        let (xs, xt) = (
            Matrix::from_rows(&xs).unwrap(),
            Matrix::from_rows(&xt).unwrap(),
        );
        let m = TwoStageTrAdaBoostR2 {
            n_estimators: 4,
            n_estimators_fs: 3,
            ..TwoStageTrAdaBoostR2::new(RidgeRegression::default())
        }
        .fit(&xs, &ys, &xt, &yt)
        .unwrap();
        assert_eq!(m.errors().len(), 4);
        assert!(
            m.errors()[m.best_step()] <= m.errors().iter().cloned().fold(f64::INFINITY, f64::min)
        );
        let tw: f64 = m.target_weights().iter().sum();
        // Step t starts from the share step t - 1 aimed at: K_{t-1} (K_0 = n_t / n at t = 0).
        let t = m.best_step().saturating_sub(1) as f64;
        let expect = 6.0 / 36.0 + t / 3.0 * (1.0 - 6.0 / 36.0);
        assert!((tw - expect).abs() < 5e-3, "{tw} vs {expect}");
        assert_eq!(m.predict(&xt).unwrap().len(), 6);
    }
}
