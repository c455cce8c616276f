//! Pairwise distances and kernel matrices between two sample sets: the shared ground of the
//! density-ratio estimators (KMM, KLIEP, uLSIF) and the kernel alignment methods (TCA, JDA).

use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, Par};
use rayon::prelude::*;

/// A positive semi-definite kernel `k(a, b)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// `a . b`.
    Linear,
    /// `exp(-gamma * |a - b|^2)`, scikit-learn's `rbf_kernel` parameterisation.
    Rbf { gamma: f64 },
}

impl Kernel {
    /// The RBF kernel of width `sigma`: `exp(-|a - b|^2 / (2 sigma^2))`, the papers' form.
    pub fn rbf_sigma(sigma: f64) -> Result<Kernel> {
        validate::positive("sigma", sigma)?;
        Ok(Kernel::Rbf {
            gamma: 1.0 / (2.0 * sigma * sigma),
        })
    }

    /// `k(a_i, b_j)` for every row pair: an `a.rows() x b.rows()` matrix.
    pub fn gram(&self, a: &Matrix, b: &Matrix) -> Result<Matrix> {
        match *self {
            Kernel::Linear => {
                check_pair(a, b)?;
                Ok(dot_products(a, b))
            }
            Kernel::Rbf { gamma } => {
                validate::positive("gamma", gamma)?;
                let mut d = sq_distances(a, b)?;
                d.data_mut()
                    .par_chunks_mut(4096)
                    .for_each(|c| c.iter_mut().for_each(|v| *v = (-gamma * *v).exp()));
                Ok(d)
            }
        }
    }
}

fn check_pair(a: &Matrix, b: &Matrix) -> Result<()> {
    if a.cols() != b.cols() {
        return Err(LinalgError::DimensionMismatch {
            input: "kernel: second sample set",
            reference: "the first sample set",
            expected: a.cols(),
            got: b.cols(),
        });
    }
    Ok(())
}

/// `a b^T`, in parallel.
fn dot_products(a: &Matrix, b: &Matrix) -> Matrix {
    let mut out = Matrix::zeros(a.rows(), b.rows());
    matmul(
        out.as_faer_mut(),
        Accum::Replace,
        a.as_faer(),
        b.as_faer().transpose(),
        1.0,
        Par::rayon(0),
    );
    out
}

/// Squared Euclidean distances `|a_i - b_j|^2` through `|a|^2 - 2 a.b + |b|^2` (one matrix
/// product), clamped at zero where rounding makes them slightly negative.
pub fn sq_distances(a: &Matrix, b: &Matrix) -> Result<Matrix> {
    check_pair(a, b)?;
    let na: Vec<f64> = (0..a.rows()).map(|i| sq_norm(a.row(i))).collect();
    let nb: Vec<f64> = (0..b.rows()).map(|j| sq_norm(b.row(j))).collect();
    let mut d = dot_products(a, b);
    if b.rows() > 0 {
        d.data_mut()
            .par_chunks_mut(b.rows())
            .zip(na.par_iter())
            .for_each(|(row, &ni)| {
                for (v, &nj) in row.iter_mut().zip(&nb) {
                    *v = (ni - 2.0 * *v + nj).max(0.0);
                }
            });
    }
    Ok(d)
}

fn sq_norm(r: &[f64]) -> f64 {
    r.iter().map(|v| v * v).sum()
}

/// Median of the pairwise squared distances between distinct rows of `x`: the usual default
/// kernel width (`sigma^2 = median / 2`), computed on at most `max_rows` evenly spaced rows.
pub fn median_sq_distance(x: &Matrix, max_rows: usize) -> Result<f64> {
    validate::matrix("kernel width: samples", x)?;
    let step = x.rows().div_ceil(max_rows.max(2));
    let idx: Vec<usize> = (0..x.rows()).step_by(step.max(1)).collect();
    let s = x.select_rows(&idx);
    let d = sq_distances(&s, &s)?;
    let mut v: Vec<f64> = (0..s.rows())
        .flat_map(|i| d.row(i)[i + 1..].to_vec())
        .collect();
    if v.is_empty() {
        return Err(LinalgError::param(
            "kernel width",
            x.rows(),
            "at least two samples to measure distances",
        ));
    }
    v.sort_unstable_by(f64::total_cmp);
    let m = v.len();
    Ok(if m % 2 == 1 {
        v[m / 2]
    } else {
        0.5 * (v[m / 2 - 1] + v[m / 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbf_matches_direct_formula() {
        let a = Matrix::from_rows(&[[0.0, 1.0], [2.0, -1.0]]).unwrap();
        let b = Matrix::from_rows(&[[1.0, 1.0], [0.0, 0.0], [3.0, 2.0]]).unwrap();
        let k = Kernel::Rbf { gamma: 0.3 }.gram(&a, &b).unwrap();
        for i in 0..2 {
            for j in 0..3 {
                let d: f64 = a
                    .row(i)
                    .iter()
                    .zip(b.row(j))
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum();
                assert!((k.get(i, j) - (-0.3 * d).exp()).abs() < 1e-12);
            }
        }
        let lin = Kernel::Linear.gram(&a, &b).unwrap();
        assert_eq!(lin.get(1, 2), 2.0 * 3.0 - 2.0);
    }

    #[test]
    fn widths_and_mismatches() {
        let x = Matrix::from_rows(&[[0.0], [1.0], [3.0]]).unwrap();
        // distances^2: 1, 9, 4 -> median 4
        assert_eq!(median_sq_distance(&x, 100).unwrap(), 4.0);
        let y = Matrix::from_rows(&[[0.0, 1.0]]).unwrap();
        assert!(matches!(
            sq_distances(&x, &y),
            Err(LinalgError::DimensionMismatch { .. })
        ));
        assert!(Kernel::rbf_sigma(0.0).is_err());
    }
}
