//! The input every alignment method takes, its checks, and the benchmark's normalisation.

use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::validate;

/// Source rows with labels, unlabelled target rows, and optionally a few labelled target rows.
#[derive(Debug, Clone, Copy)]
pub struct Domains<'a> {
    pub source: &'a Matrix,
    pub source_labels: &'a [usize],
    pub target: &'a Matrix,
    /// Labelled target rows: required by feature augmentation; the unsupervised methods map
    /// them the way they map the target, without fitting on them.
    pub target_labelled: Option<(&'a Matrix, &'a [usize])>,
}

impl<'a> Domains<'a> {
    /// Labelled source and unlabelled target, the unsupervised setting.
    pub fn new(source: &'a Matrix, source_labels: &'a [usize], target: &'a Matrix) -> Self {
        Domains {
            source,
            source_labels,
            target,
            target_labelled: None,
        }
    }

    /// Non-empty, finite, one feature count, one label per row. Returns the feature count.
    pub(crate) fn check(&self) -> Result<usize> {
        validate::matrix("source", self.source)?;
        let d = self.source.cols();
        validate::length(
            "source_labels",
            self.source_labels.len(),
            "source",
            self.source.rows(),
        )?;
        validate::matrix("target", self.target)?;
        same_features("target", self.target, d)?;
        if let Some((x, y)) = self.target_labelled {
            validate::matrix("target_labelled", x)?;
            same_features("target_labelled", x, d)?;
            validate::length(
                "target_labelled labels",
                y.len(),
                "target_labelled",
                x.rows(),
            )?;
        }
        Ok(d)
    }

    /// Source rows then target rows, one matrix (the joint sample of PCA, TCA and JDA).
    pub(crate) fn stacked(&self) -> Result<Matrix> {
        let mut data = Vec::with_capacity(self.source.data().len() + self.target.data().len());
        data.extend_from_slice(self.source.data());
        data.extend_from_slice(self.target.data());
        Matrix::new(
            self.source.rows() + self.target.rows(),
            self.source.cols(),
            data,
        )
    }
}

/// The feature count of `x` must be the source's.
pub(crate) fn same_features(input: &'static str, x: &Matrix, d: usize) -> Result<()> {
    if x.cols() != d {
        return Err(LinalgError::DimensionMismatch {
            input,
            reference: "the source",
            expected: d,
            got: x.cols(),
        });
    }
    Ok(())
}

/// Every row scaled to unit Euclidean norm; all-zero rows stay zero. The JDA benchmark
/// (Long et al. 2013, and their code) normalises each sample this way before PCA, TCA and JDA,
/// and again each embedded sample before the 1-NN classifier for TCA and JDA.
pub fn l2_normalise_rows(x: &Matrix) -> Matrix {
    let mut out = x.clone();
    for i in 0..out.rows() {
        let row = out.row_mut(i);
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    out
}

/// `dim` must be between 1 and `max`; the error names both.
pub(crate) fn check_dim(
    name: &'static str,
    dim: usize,
    max: usize,
    bound: &'static str,
) -> Result<()> {
    if dim == 0 || dim > max {
        return Err(LinalgError::param(
            name,
            format!("{dim} (the maximum here is {max})"),
            bound,
        ));
    }
    Ok(())
}
