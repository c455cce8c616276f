//! Density-ratio functions: what KLIEP, uLSIF, RuLSIF and the domain classifier estimate, kept
//! so that the ratio can be evaluated on rows other than the source it was fitted on.

use super::weights::InstanceWeights;
use crate::error::Result;
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, Par};

/// An estimate of `p_target(x) / p_source(x)` (or a relative ratio) as a function of `x`.
pub trait DensityRatio {
    /// The estimated ratio at every row of `x`.
    fn ratio(&self, x: &Matrix) -> Result<Vec<f64>>;
}

/// A fitted ratio function and its values on the source rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted<R> {
    pub ratio: R,
    pub weights: InstanceWeights,
}

/// `r(x) = sum_l coef_l k(x, centre_l)`: the linear-in-parameters kernel model of KLIEP and
/// (R)uLSIF (Sugiyama et al. 2008; Kanamori et al. 2009).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelRatio {
    pub kernel: Kernel,
    /// One centre per row (target samples).
    pub centres: Matrix,
    /// One non-negative coefficient per centre.
    pub coef: Vec<f64>,
}

impl DensityRatio for KernelRatio {
    fn ratio(&self, x: &Matrix) -> Result<Vec<f64>> {
        validate::same_cols("x", x, self.centres.cols())?;
        let k = self.kernel.gram(x, &self.centres)?;
        Ok(mat_vec(&k, &self.coef))
    }
}

/// `m v`.
pub(crate) fn mat_vec(m: &Matrix, v: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; m.rows()];
    gemv(m, false, v, &mut out);
    out
}

/// `m^T v`.
pub(crate) fn mat_t_vec(m: &Matrix, v: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; m.cols()];
    gemv(m, true, v, &mut out);
    out
}

/// `m v` (or `m^T v` when `transpose`) into `out`, on one thread unless the product is large:
/// the solvers' inner loops call this thousands of times on small matrices, where waking the
/// thread pool costs more than it saves.
pub(crate) fn gemv(m: &Matrix, transpose: bool, v: &[f64], out: &mut [f64]) {
    const PARALLEL_FROM: usize = 1 << 20;
    let par = if m.rows() * m.cols() >= PARALLEL_FROM {
        Par::rayon(0)
    } else {
        Par::Seq
    };
    let a = if transpose {
        m.as_faer().transpose()
    } else {
        m.as_faer()
    };
    matmul(
        faer::MatMut::from_column_major_slice_mut(out, a.nrows(), 1),
        Accum::Replace,
        a,
        faer::MatRef::from_column_major_slice(v, v.len(), 1),
        1.0,
        par,
    );
}
