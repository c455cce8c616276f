//! Boosting across domains: TrAdaBoost and its regression variants. A few labelled target
//! samples steer a boosting loop over source and target together; source samples the
//! ensemble keeps getting wrong lose weight, so the final weights say which source samples
//! look like the target task. Defaults and weight bookkeeping follow ADAPT
//! (`adapt.instance_based`), so results can be checked against it.
//!
//! ```
//! use graft_shallow::boost::TrAdaBoost;
//! use graft_shallow::{FittedClassifier, LogisticRegression, Matrix};
//!
//! let xs = Matrix::from_rows(&[[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2], [0.6, 0.5]])?;
//! let ys = [0, 0, 1, 1, 0];
//! let xt = Matrix::from_rows(&[[0.2, 1.0], [1.1, 0.1]])?;
//! let yt = [0, 1];
//! let model = TrAdaBoost::new(LogisticRegression::default()).fit(&xs, &ys, &xt, &yt)?;
//! assert_eq!(model.predict(&xt)?, yt);
//! assert_eq!(model.source_weights().len(), 5);
//! # Ok::<(), graft_shallow::LinalgError>(())
//! ```

mod tradaboost;
mod tradaboost_r2;
mod two_stage;

pub use tradaboost::{TrAdaBoost, TrAdaBoostModel};
pub use tradaboost_r2::{R2Loss, TrAdaBoostR2, TrAdaBoostR2Model};
pub use two_stage::{TwoStageModel, TwoStageTrAdaBoostR2};

use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::validate;

/// numpy's `finfo(float).eps`, the guard ADAPT adds to logarithms and error maxima.
const EPS: f64 = f64::EPSILON;

/// Both domains non-empty, finite, with the same feature count.
fn check_domains(source: &Matrix, target: &Matrix) -> Result<()> {
    validate::matrix("source", source)?;
    validate::matrix("target", target)?;
    if target.cols() != source.cols() {
        return Err(LinalgError::DimensionMismatch {
            input: "target",
            reference: "source",
            expected: source.cols(),
            got: target.cols(),
        });
    }
    Ok(())
}

fn check_rounds(name: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(LinalgError::param(name, n, "at least 1"));
    }
    Ok(())
}

/// Source rows, then target rows: the one training set every round fits on.
fn stack(source: &Matrix, target: &Matrix) -> Result<Matrix> {
    let mut data = Vec::with_capacity(source.data().len() + target.data().len());
    data.extend_from_slice(source.data());
    data.extend_from_slice(target.data());
    Matrix::new(source.rows() + target.rows(), source.cols(), data)
}

/// Weights handed to the learner, scaled to mean one as ADAPT does (`w / w.mean()`), so a
/// learner whose penalty competes with the weighted loss (ridge's alpha, logistic's C) sees
/// the same balance whatever the number of samples.
fn learner_weights(ws: &[f64], wt: &[f64]) -> Vec<f64> {
    let n = (ws.len() + wt.len()) as f64;
    let mean = (ws.iter().sum::<f64>() + wt.iter().sum::<f64>()) / n;
    ws.iter().chain(wt).map(|w| w / mean).collect()
}

/// Rescales both weight vectors so that together they sum to one; fails if the boosting
/// updates drove them to zero or infinity.
fn normalise(method: &'static str, round: usize, ws: &mut [f64], wt: &mut [f64]) -> Result<()> {
    let total = ws.iter().sum::<f64>() + wt.iter().sum::<f64>();
    if !(total.is_finite() && total > 0.0) {
        return Err(LinalgError::Numerical {
            method,
            reason: format!("instance weights sum to {total} after round {round}"),
        });
    }
    ws.iter_mut().chain(wt.iter_mut()).for_each(|w| *w /= total);
    Ok(())
}

/// ADAPT's estimator weight ln(1 / beta_t) with beta_t = e / (2 - e) (plus its EPS guards):
/// the vote of a learner whose weighted target error is `e`.
fn estimator_weight(error: f64) -> f64 {
    -(error / (2.0 - error) + EPS).ln() + 2.0 * EPS
}
