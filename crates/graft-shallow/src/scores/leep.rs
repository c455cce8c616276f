//! LEEP (Nguyen et al. 2020, "LEEP: A New Measure to Evaluate Transferability of Learned
//! Representations", ICML, Eq. 1-2): the mean log-likelihood of the target labels under the
//! "empirical predictor" that maps the source model's softmax output through the empirical
//! conditional P(y | z). As `tllib.ranking.log_expected_empirical_prediction`.

use super::{check_labels, dense};
use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::validate;

/// `source_probs`: n x z softmax outputs of the source model on the target data;
/// `labels`: target class of each row.
pub fn leep(source_probs: &Matrix, labels: &[usize]) -> Result<f64> {
    validate::matrix("source_probs", source_probs)?;
    check_labels("labels", labels, "source_probs", source_probs.rows())?;
    let (n, z) = (source_probs.rows(), source_probs.cols());
    if let Some(pos) = source_probs.data().iter().position(|&v| v < 0.0) {
        return Err(LinalgError::Negative {
            input: "source_probs",
            row: pos / z,
            col: pos % z,
            value: source_probs.data()[pos],
        });
    }
    let (labels, ct) = dense(labels);
    // Joint P(y, z) = (1/n) sum_{i: y_i = y} theta_i(z)  (Eq. 1).
    let mut joint = vec![vec![0.0; z]; ct];
    for (i, &y) in labels.iter().enumerate() {
        for (j, v) in joint[y].iter_mut().enumerate() {
            *v += source_probs.get(i, j) / n as f64;
        }
    }
    let pz: Vec<f64> = (0..z).map(|j| joint.iter().map(|r| r[j]).sum()).collect();
    // P(y | z); a source class with no mass at all gets 0 rather than tllib's NaN.
    let cond = |y: usize, j: usize| {
        if pz[j] > 0.0 {
            joint[y][j] / pz[j]
        } else {
            0.0
        }
    };
    let mut sum = 0.0;
    for (i, &y) in labels.iter().enumerate() {
        let eep: f64 = (0..z).map(|j| source_probs.get(i, j) * cond(y, j)).sum();
        sum += eep.ln();
    }
    Ok(sum / n as f64)
}
