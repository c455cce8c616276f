//! Input checks shared by every method, so that bad input fails with a named error, not a panic.

use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;

/// Non-empty and finite everywhere; the error names the first offending entry.
pub(crate) fn matrix(input: &'static str, x: &Matrix) -> Result<()> {
    if x.rows() == 0 || x.cols() == 0 {
        return Err(LinalgError::Empty {
            input,
            rows: x.rows(),
            cols: x.cols(),
        });
    }
    if let Some(pos) = x.data().iter().position(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite {
            input,
            row: pos / x.cols(),
            col: pos % x.cols(),
            value: x.data()[pos],
        });
    }
    Ok(())
}

/// Test data must have the feature count the model was fitted on.
pub(crate) fn same_cols(input: &'static str, x: &Matrix, expected: usize) -> Result<()> {
    matrix(input, x)?;
    if x.cols() != expected {
        return Err(LinalgError::DimensionMismatch {
            input,
            reference: "the training data",
            expected,
            got: x.cols(),
        });
    }
    Ok(())
}

/// One entry per row.
pub(crate) fn length(
    input: &'static str,
    got: usize,
    reference: &'static str,
    expected: usize,
) -> Result<()> {
    if got != expected {
        return Err(LinalgError::LengthMismatch {
            input,
            reference,
            expected,
            got,
        });
    }
    Ok(())
}

/// Labels below `n_classes`.
pub(crate) fn labels_below(input: &'static str, y: &[usize], n_classes: usize) -> Result<()> {
    if let Some(index) = y.iter().position(|&l| l >= n_classes) {
        return Err(LinalgError::LabelOutOfRange {
            input,
            index,
            label: y[index],
            n_classes,
        });
    }
    Ok(())
}

/// Finite, non-negative, not all zero, one per row. Returns the weights or all ones.
pub(crate) fn weights(w: Option<&[f64]>, n: usize) -> Result<Vec<f64>> {
    let Some(w) = w else {
        return Ok(vec![1.0; n]);
    };
    length("sample_weight", w.len(), "x", n)?;
    if let Some(index) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(LinalgError::InvalidWeight {
            input: "sample_weight",
            index,
            value: w[index],
        });
    }
    if w.iter().all(|&v| v == 0.0) {
        return Err(LinalgError::ZeroWeights {
            input: "sample_weight",
        });
    }
    Ok(w.to_vec())
}

/// A strictly positive, finite hyper-parameter.
pub(crate) fn positive(name: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(LinalgError::param(name, v, "a finite number > 0"));
    }
    Ok(())
}
