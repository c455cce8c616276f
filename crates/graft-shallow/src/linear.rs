//! The decision rule shared by the linear heads (logistic, ridge, linear SVM): scores
//! X W^T + b, one column for two classes (positive = the larger label) or one per class.

use crate::error::Result;
use crate::matrix::Matrix;
use crate::scaler::StandardScaler;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, Par};

/// Coefficients (`n_out x d`), intercepts and the optional standardisation applied first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    pub coef: Matrix,
    pub intercept: Vec<f64>,
    pub scaler: Option<StandardScaler>,
}

impl Linear {
    /// Validated `n x n_out` scores.
    pub fn decision(&self, x: &Matrix) -> Result<Matrix> {
        validate::same_cols("x", x, self.coef.cols())?;
        let scaled;
        let x = match &self.scaler {
            Some(s) => {
                scaled = s.transform(x);
                &scaled
            }
            None => x,
        };
        let mut out = Matrix::zeros(x.rows(), self.coef.rows());
        matmul(
            out.as_faer_mut(),
            Accum::Replace,
            x.as_faer(),
            self.coef.as_faer().transpose(),
            1.0,
            Par::rayon(0),
        );
        for i in 0..out.rows() {
            out.row_mut(i)
                .iter_mut()
                .zip(&self.intercept)
                .for_each(|(v, b)| *v += b);
        }
        Ok(out)
    }
}

/// Class labels from scores: sign for one column, first arg-max otherwise.
pub(crate) fn labels_from_scores(scores: &Matrix, classes: &[usize]) -> Vec<usize> {
    (0..scores.rows())
        .map(|i| {
            let r = scores.row(i);
            if r.len() == 1 {
                classes[usize::from(r[0] > 0.0)]
            } else {
                classes[argmax(r)]
            }
        })
        .collect()
}

/// First index of the largest value.
pub(crate) fn argmax(r: &[f64]) -> usize {
    let mut best = 0;
    for (j, &v) in r.iter().enumerate() {
        if v > r[best] {
            best = j;
        }
    }
    best
}
