//! Sample means and covariances of feature matrices (PCA, SA, CORAL).

use crate::matrix::Matrix;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, Par};

/// Column means and the sample covariance `(X - mean)^T (X - mean) / (n - 1)` (NumPy's
/// `np.cov(x, rowvar=False)` and MATLAB's `cov`); a single row has zero covariance.
pub(crate) fn covariance(x: &Matrix) -> (Vec<f64>, Mat<f64>) {
    let (n, d) = (x.rows(), x.cols());
    let mut mean = vec![0.0; d];
    for i in 0..n {
        mean.iter_mut().zip(x.row(i)).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut c = x.clone();
    for i in 0..n {
        c.row_mut(i)
            .iter_mut()
            .zip(&mean)
            .for_each(|(v, m)| *v -= m);
    }
    // Lower triangle only (half the flops), then mirrored.
    let mut cov = Mat::zeros(d, d);
    triangular::matmul(
        cov.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        c.as_faer().transpose(),
        BlockStructure::Rectangular,
        c.as_faer(),
        BlockStructure::Rectangular,
        1.0 / (n.max(2) - 1) as f64,
        Par::rayon(0),
    );
    for j in 0..d {
        for i in 0..j {
            cov[(i, j)] = cov[(j, i)];
        }
    }
    (mean, cov)
}

/// Eigenvalues at most this fraction of the largest count as zero (numerical rank).
pub(crate) const RANK_TOL: f64 = 1e-10;

/// Number of eigenvalues above `RANK_TOL` times the largest.
pub(crate) fn numerical_rank(values: &[f64]) -> usize {
    let max = values.iter().copied().fold(0.0, f64::max);
    values.iter().filter(|&&v| v > max * RANK_TOL).count()
}
