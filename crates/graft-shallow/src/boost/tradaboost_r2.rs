//! TrAdaBoost.R2 for regression, and the boosting loop it shares with the first stage of the
//! two-stage variant (AdaBoost.R2 with frozen source weights).

use super::{
    check_domains, check_rounds, estimator_weight, learner_weights, normalise, stack, EPS,
};
use crate::error::Result;
use crate::matrix::Matrix;
use crate::regression::{check_targets, FittedRegressor, Regressor};
use crate::validate;

/// How a residual becomes a loss in [0, 1] (Drucker 1997, AdaBoost.R2 step 4, as used by
/// Pardoe & Stone): with D the largest residual of the round, linear |r| / D, square
/// (|r| / D)^2, exponential 1 - exp(-|r| / D). ADAPT implements the linear loss only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum R2Loss {
    #[default]
    Linear,
    Square,
    Exponential,
}

impl R2Loss {
    fn apply(self, e: f64) -> f64 {
        match self {
            R2Loss::Linear => e,
            R2Loss::Square => e * e,
            R2Loss::Exponential => 1.0 - (-e).exp(),
        }
    }
}

/// Per-sample losses of one round: residuals over their maximum (+EPS, as ADAPT), shaped by `loss`.
pub(super) fn losses(pred: &[f64], y: &[f64], loss: R2Loss) -> Vec<f64> {
    let r: Vec<f64> = pred.iter().zip(y).map(|(p, t)| (p - t).abs()).collect();
    let max = r.iter().fold(0.0f64, |m, &v| m.max(v)) + EPS;
    r.into_iter().map(|v| loss.apply(v / max)).collect()
}

/// Pardoe & Stone, "Boosting for regression transfer", ICML 2010, Algorithm 2 (TrAdaBoost.R2):
/// Algorithm 1 of Dai et al. with AdaBoost.R2's losses. As in ADAPT, the round error is the
/// target-weighted loss, beta_t = e_t / (2 - e_t), and the prediction is the weighted median of
/// the last N - floor(N/2) rounds weighted by ln(1 / beta_t).
#[derive(Debug, Clone, PartialEq)]
pub struct TrAdaBoostR2<R: Regressor> {
    /// The learner fitted each round on source and target with the current weights.
    pub estimator: R,
    /// Boosting rounds N (ADAPT: 10).
    pub n_estimators: usize,
    /// Exponent on every weight update (ADAPT: 1).
    pub lr: f64,
    pub loss: R2Loss,
}

impl<R: Regressor> TrAdaBoostR2<R> {
    /// ADAPT's defaults around `estimator`.
    pub fn new(estimator: R) -> Self {
        TrAdaBoostR2 {
            estimator,
            n_estimators: 10,
            lr: 1.0,
            loss: R2Loss::Linear,
        }
    }
}

impl<R: Regressor + Default> Default for TrAdaBoostR2<R> {
    fn default() -> Self {
        TrAdaBoostR2::new(R::default())
    }
}

/// A boosted regression ensemble: the voting rounds, their weights, and the instance weights
/// of the last round.
#[derive(Debug, Clone)]
pub struct TrAdaBoostR2Model<M> {
    n_features: usize,
    estimators: Vec<M>,
    vote_weights: Vec<f64>,
    errors: Vec<f64>,
    source_weights: Vec<f64>,
    target_weights: Vec<f64>,
}

/// Which weights a round moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Update {
    /// TrAdaBoost: source weights fall with their loss, target weights rise with theirs.
    Transfer,
    /// AdaBoost.R2 on the target only (two-stage, stage 1): source weights stay, target weights
    /// fall by beta^(1 - loss) and are rescaled to keep their total.
    TargetOnly,
}

/// Settings of one boosting loop over stacked source-then-target rows.
pub(super) struct Loop<'a, R> {
    pub estimator: &'a R,
    pub x: &'a Matrix,
    pub y: &'a [f64],
    pub n_source: usize,
    pub rounds: usize,
    pub lr: f64,
    pub loss: R2Loss,
    pub update: Update,
}

impl<R: Regressor> Loop<'_, R> {
    /// Runs the rounds from normalised weights `ws`, `wt`.
    pub fn run(&self, mut ws: Vec<f64>, mut wt: Vec<f64>) -> Result<TrAdaBoostR2Model<R::Model>> {
        let ns = self.n_source;
        let method = match self.update {
            Update::Transfer => "tradaboost.r2",
            Update::TargetOnly => "adaboost.r2 (two-stage, stage 1)",
        };
        normalise(method, 0, &mut ws, &mut wt)?;
        let beta_s = 1.0 / (1.0 + (2.0 * (ns as f64).ln() / self.rounds as f64).sqrt());
        let first_vote = self.rounds / 2;
        let mut estimators = Vec::with_capacity(self.rounds - first_vote);
        let mut errors = Vec::with_capacity(self.rounds);
        for round in 0..self.rounds {
            let model = self
                .estimator
                .fit(self.x, self.y, Some(&learner_weights(&ws, &wt)))?;
            let loss = losses(&model.predict(self.x)?, self.y, self.loss);
            let (loss_s, loss_t) = loss.split_at(ns);
            let error = match self.update {
                Update::Transfer => {
                    wt.iter().zip(loss_t).map(|(w, e)| w * e).sum::<f64>() / wt.iter().sum::<f64>()
                }
                Update::TargetOnly => ws
                    .iter()
                    .chain(&wt)
                    .zip(&loss)
                    .map(|(w, e)| w * e)
                    .sum::<f64>(),
            };
            errors.push(error);
            if round >= first_vote {
                estimators.push(model);
            }
            if round + 1 < self.rounds {
                let beta_t = error / (2.0 - error);
                match self.update {
                    Update::Transfer => {
                        ws.iter_mut()
                            .zip(loss_s)
                            .for_each(|(w, e)| *w *= beta_s.powf(self.lr * e));
                        wt.iter_mut()
                            .zip(loss_t)
                            .for_each(|(w, e)| *w *= beta_t.powf(-self.lr * e));
                    }
                    Update::TargetOnly => {
                        wt.iter_mut()
                            .zip(loss_t)
                            .for_each(|(w, e)| *w *= beta_t.powf(self.lr * (1.0 - e)));
                        let scale = (1.0 - ws.iter().sum::<f64>()) / wt.iter().sum::<f64>();
                        wt.iter_mut().for_each(|w| *w *= scale);
                    }
                }
                normalise(method, round, &mut ws, &mut wt)?;
            }
        }
        let vote_weights = errors[first_vote..]
            .iter()
            .map(|&e| estimator_weight(e))
            .collect();
        Ok(TrAdaBoostR2Model {
            n_features: self.x.cols(),
            estimators,
            vote_weights,
            errors,
            source_weights: ws,
            target_weights: wt,
        })
    }
}

/// Checks shared by both regression methods.
pub(super) fn check_regression(
    source: &Matrix,
    source_targets: &[f64],
    target: &Matrix,
    target_targets: &[f64],
    lr: f64,
) -> Result<()> {
    validate::positive("lr", lr)?;
    check_domains(source, target)?;
    check_targets("source_targets", source_targets, "source", source.rows())?;
    check_targets("target_targets", target_targets, "target", target.rows())
}

/// Uniform weights summing to one over both domains.
pub(super) fn uniform(ns: usize, nt: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (ns + nt) as f64;
    (vec![1.0 / n; ns], vec![1.0 / n; nt])
}

impl<R: Regressor> TrAdaBoostR2<R> {
    /// Fits on labelled source and (few) labelled target samples.
    pub fn fit(
        &self,
        source: &Matrix,
        source_targets: &[f64],
        target: &Matrix,
        target_targets: &[f64],
    ) -> Result<TrAdaBoostR2Model<R::Model>> {
        check_rounds("n_estimators", self.n_estimators)?;
        check_regression(source, source_targets, target, target_targets, self.lr)?;
        let x = stack(source, target)?;
        let y: Vec<f64> = source_targets
            .iter()
            .chain(target_targets)
            .copied()
            .collect();
        let (ws, wt) = uniform(source.rows(), target.rows());
        Loop {
            estimator: &self.estimator,
            x: &x,
            y: &y,
            n_source: source.rows(),
            rounds: self.n_estimators,
            lr: self.lr,
            loss: self.loss,
            update: Update::Transfer,
        }
        .run(ws, wt)
    }
}

impl<M: FittedRegressor> TrAdaBoostR2Model<M> {
    /// Weighted error of every round (ADAPT's `estimator_errors_`).
    pub fn errors(&self) -> &[f64] {
        &self.errors
    }

    /// Source instance weights of the last round, normalised with the target's to sum to one.
    pub fn source_weights(&self) -> &[f64] {
        &self.source_weights
    }

    /// Target instance weights of the last round, on the same scale as `source_weights`.
    pub fn target_weights(&self) -> &[f64] {
        &self.target_weights
    }

    /// The regressors of the voting rounds (the second half), oldest first.
    pub fn estimators(&self) -> &[M] {
        &self.estimators
    }

    /// Weight of each regressor in `estimators()`: ln(1 / beta_t).
    pub fn estimator_weights(&self) -> &[f64] {
        &self.vote_weights
    }

    /// Weighted median of the voting regressors (Drucker 1997, AdaBoost.R2 output): per row,
    /// the smallest prediction whose cumulative weight reaches half the total.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        validate::same_cols("x", x, self.n_features)?;
        let preds = self
            .estimators
            .iter()
            .map(|m| m.predict(x))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..preds.len()).collect();
        Ok((0..x.rows())
            .map(|i| {
                order.sort_by(|&a, &b| preds[a][i].total_cmp(&preds[b][i]));
                let total: f64 = order.iter().map(|&k| self.vote_weights[k]).sum();
                let mut cdf = 0.0;
                for &k in &order {
                    cdf += self.vote_weights[k];
                    if cdf >= 0.5 * total {
                        return preds[k][i];
                    }
                }
                preds[order[order.len() - 1]][i]
            })
            .collect())
    }
}

impl<M: FittedRegressor> FittedRegressor for TrAdaBoostR2Model<M> {
    fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        TrAdaBoostR2Model::predict(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regression::RidgeRegression;

    #[test]
    fn losses_are_in_unit_range_and_ordered() {
        let (p, y) = ([0.0, 1.0, 3.0], [0.0, 0.0, 0.0]);
        for loss in [R2Loss::Linear, R2Loss::Square, R2Loss::Exponential] {
            let l = losses(&p, &y, loss);
            assert!(l[0] == 0.0 && l[1] < l[2] && l[2] <= 1.0, "{loss:?}: {l:?}");
        }
        assert!((losses(&p, &y, R2Loss::Square)[1] - 1.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn weighted_median_picks_the_heavy_middle() {
        let m = TrAdaBoostR2Model {
            n_features: 1,
            estimators: vec![
                crate::regression::RidgeRegression::default()
                    .fit(
                        &Matrix::from_rows(&[[0.0], [1.0]]).unwrap(),
                        &[1.0, 1.0],
                        None,
                    )
                    .unwrap(),
                RidgeRegression::default()
                    .fit(
                        &Matrix::from_rows(&[[0.0], [1.0]]).unwrap(),
                        &[5.0, 5.0],
                        None,
                    )
                    .unwrap(),
                RidgeRegression::default()
                    .fit(
                        &Matrix::from_rows(&[[0.0], [1.0]]).unwrap(),
                        &[9.0, 9.0],
                        None,
                    )
                    .unwrap(),
            ],
            vote_weights: vec![0.2, 0.2, 0.7],
            errors: vec![],
            source_weights: vec![],
            target_weights: vec![],
        };
        let p = m.predict(&Matrix::from_rows(&[[0.5]]).unwrap()).unwrap();
        assert!((p[0] - 9.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn misleading_source_samples_lose_weight() {
        // Target: y = 2x. Source: the first 20 agree, the last 10 follow y = -2x.
        let xs: Vec<[f64; 1]> = (0..30).map(|i| [(i % 10) as f64 / 10.0]).collect();
        let ys: Vec<f64> = (0..30)
            .map(|i| if i < 20 { 2.0 } else { -2.0 } * xs[i][0])
            .collect();
        let xt: Vec<[f64; 1]> = (0..5).map(|i| [0.1 + 0.2 * i as f64]).collect();
        let yt: Vec<f64> = xt.iter().map(|r| 2.0 * r[0]).collect();
        let (xs, xt) = (
            Matrix::from_rows(&xs).unwrap(),
            Matrix::from_rows(&xt).unwrap(),
        );
        for loss in [R2Loss::Linear, R2Loss::Square, R2Loss::Exponential] {
            let m = TrAdaBoostR2 {
                loss,
                ..TrAdaBoostR2::new(RidgeRegression::default())
            }
            .fit(&xs, &ys, &xt, &yt)
            .unwrap();
            let w = m.source_weights();
            let good = w[..20].iter().sum::<f64>() / 20.0;
            let bad = w[20..].iter().sum::<f64>() / 10.0;
            assert!(bad < good, "{loss:?}: {bad} vs {good}");
            assert_eq!(m.errors().len(), 10);
            assert_eq!(m.predict(&xt).unwrap().len(), 5);
        }
    }
}
