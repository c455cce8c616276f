//! Transferability scores: how well a pre-trained model's features (or predictions) suit a
//! labelled target task, computed without fine-tuning. Higher is better for all four. Each
//! follows its paper and the `tllib` (Transfer-Learning-Library) implementation.

mod hscore;
mod leep;
mod logme;
mod nce;

pub use hscore::h_score;
pub use leep::leep;
pub use logme::log_me;
pub use nce::nce;

use crate::error::{LinalgError, Result};

/// Labels must be one per row and the input non-empty.
fn check_labels(
    input: &'static str,
    labels: &[usize],
    reference: &'static str,
    n: usize,
) -> Result<()> {
    if n == 0 {
        return Err(LinalgError::Empty {
            input: reference,
            rows: 0,
            cols: 1,
        });
    }
    crate::validate::length(input, labels.len(), reference, n)
}

/// Labels renumbered 0..m in ascending order, and m. Classes with no sample change none of
/// the scores (beyond tllib's 1e-20 guard terms in NCE), and huge label values cost nothing.
fn dense(labels: &[usize]) -> (Vec<usize>, usize) {
    let mut classes = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let codes = labels
        .iter()
        .map(|l| classes.binary_search(l).unwrap_or(0))
        .collect();
    (codes, classes.len())
}

/// Self-adjoint eigendecomposition of a symmetric matrix: eigenvalues and column eigenvectors.
fn eigh(a: faer::MatRef<'_, f64>, method: &'static str) -> Result<(Vec<f64>, faer::Mat<f64>)> {
    let evd = a
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| LinalgError::Numerical {
            method,
            reason: format!("eigendecomposition did not converge ({e:?})"),
        })?;
    let s = evd.S().column_vector();
    let vals = (0..s.nrows()).map(|i| s[i]).collect();
    Ok((vals, evd.U().to_owned()))
}
