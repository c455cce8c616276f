//! Checks shared by the instance-weighting methods: the two domains and the kernel widths.

use crate::error::{LinalgError, Result};
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use crate::validate;

/// Both domains non-empty and finite, with the same feature count.
pub(crate) fn domains(source: &Matrix, target: &Matrix) -> Result<()> {
    validate::matrix("source", source)?;
    validate::matrix("target", target)?;
    if source.cols() != target.cols() {
        return Err(LinalgError::DimensionMismatch {
            input: "target",
            reference: "the source",
            expected: source.cols(),
            got: target.cols(),
        });
    }
    Ok(())
}

/// The RBF widths to try: the given list, or scikit-learn's default `1 / n_features` (what
/// ADAPT uses when no `gamma` is passed).
pub(crate) fn gammas(given: Option<&[f64]>, n_features: usize) -> Result<Vec<f64>> {
    match given {
        None => Ok(vec![1.0 / n_features as f64]),
        Some([]) => Err(LinalgError::param(
            "gammas",
            "[]",
            "at least one kernel width (or None for 1 / n_features)",
        )),
        Some(list) => {
            for &g in list {
                validate::positive("gammas", g)?;
            }
            Ok(list.to_vec())
        }
    }
}

/// A kernel's own parameters are in range.
pub(crate) fn kernel(k: Kernel) -> Result<()> {
    match k {
        Kernel::Linear => Ok(()),
        Kernel::Rbf { gamma } => validate::positive("kernel gamma", gamma),
    }
}

/// Every entry `>= 0` and finite.
pub(crate) fn non_negative_list(name: &'static str, list: &[f64]) -> Result<()> {
    if list.is_empty() {
        return Err(LinalgError::param(name, "[]", "at least one value"));
    }
    for &v in list {
        if !(v.is_finite() && v >= 0.0) {
            return Err(LinalgError::param(name, v, "finite numbers >= 0"));
        }
    }
    Ok(())
}
