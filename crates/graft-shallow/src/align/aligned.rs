//! The result of an alignment: the mapped domains and the map that sends new target rows
//! (a separate test set) to the same space.

use crate::error::Result;
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

/// Mapped source, target and labelled target rows, with what the method noticed on the way
/// (regularisation it had to add, variance kept, pseudo-label changes).
#[derive(Debug, Clone)]
pub struct Aligned {
    pub source: Matrix,
    pub target: Matrix,
    pub target_labelled: Option<Matrix>,
    pub notes: Vec<String>,
    pub(crate) map: TargetMap,
    pub(crate) input_dim: usize,
    pub(crate) pseudo_labels: Option<Vec<usize>>,
}

impl Aligned {
    /// Maps new target rows the way the method mapped its target (for feature augmentation,
    /// the target map `[x, 0, x]`).
    pub fn transform_target(&self, x: &Matrix) -> Result<Matrix> {
        validate::matrix("target rows to transform", x)?;
        super::domains::same_features("target rows to transform", x, self.input_dim)?;
        self.map.apply(x)
    }

    /// JDA's last 1-NN pseudo-labels of the target rows; `None` for the other methods.
    pub fn pseudo_labels(&self) -> Option<&[usize]> {
        self.pseudo_labels.as_deref()
    }

    /// Feature count of the aligned space.
    pub fn dim(&self) -> usize {
        self.target.cols()
    }
}

/// How a target row is mapped.
#[derive(Debug, Clone)]
pub(crate) enum TargetMap {
    /// Unchanged (no alignment; CORAL leaves the target as it is).
    Identity,
    /// `(x - mean) P`: PCA (centred), SA and primal TCA / JDA (`mean: None`).
    Linear {
        mean: Option<Vec<f64>>,
        projection: Mat<f64>,
    },
    /// `k(x, basis) W`: kernel TCA / JDA, the basis being source and target rows.
    Kernel {
        kernel: Kernel,
        basis: Matrix,
        weights: Mat<f64>,
    },
    /// `[x, 0, x]`: feature augmentation's target copy.
    Augment,
}

impl TargetMap {
    pub(crate) fn apply(&self, x: &Matrix) -> Result<Matrix> {
        match self {
            TargetMap::Identity => Ok(x.clone()),
            TargetMap::Linear { mean, projection } => Ok(match mean {
                Some(m) => {
                    let mut c = x.clone();
                    for i in 0..c.rows() {
                        c.row_mut(i).iter_mut().zip(m).for_each(|(v, m)| *v -= m);
                    }
                    project(&c, projection)
                }
                None => project(x, projection),
            }),
            TargetMap::Kernel {
                kernel,
                basis,
                weights,
            } => Ok(project(&kernel.gram(x, basis)?, weights)),
            TargetMap::Augment => Ok(super::fa::augment(x, false)),
        }
    }
}

/// `x P` as a row-major matrix, in parallel.
pub(crate) fn project(x: &Matrix, p: &Mat<f64>) -> Matrix {
    let mut out = Matrix::zeros(x.rows(), p.ncols());
    matmul(
        out.as_faer_mut(),
        Accum::Replace,
        x.as_faer(),
        p.as_ref(),
        1.0,
        Par::rayon(0),
    );
    out
}
