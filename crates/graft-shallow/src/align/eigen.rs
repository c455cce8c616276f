//! Symmetric and generalised symmetric eigenproblems on faer, with one sign convention so that
//! every projection is deterministic and comparable with NumPy's.

use crate::error::{LinalgError, Result};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};

/// Leading eigenpairs: values in decreasing order, unit-norm vectors as columns.
#[derive(Debug, Clone)]
pub(crate) struct Eigen {
    pub values: Vec<f64>,
    pub vectors: Mat<f64>,
    /// Numerical rank of the decomposed matrix (eigenvalues above 1e-10 of the largest).
    pub rank: usize,
}

/// All eigenpairs of a symmetric matrix (only its lower triangle is read), values ascending.
pub(crate) fn symmetric(a: MatRef<'_, f64>, method: &'static str) -> Result<(Vec<f64>, Mat<f64>)> {
    let evd = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| LinalgError::Numerical {
            method,
            reason: format!("eigendecomposition did not converge ({e:?})"),
        })?;
    let s = evd.S().column_vector();
    let values = (0..s.nrows()).map(|i| s[i]).collect();
    Ok((values, evd.U().to_owned()))
}

/// Columns `m-1, m-2, .., m-k` of an ascending decomposition, unit-norm and sign-fixed.
pub(crate) fn leading(values: &[f64], vectors: MatRef<'_, f64>, k: usize) -> Eigen {
    let m = values.len();
    let mut out = Mat::from_fn(vectors.nrows(), k, |i, j| vectors[(i, m - 1 - j)]);
    normalise_columns(&mut out);
    let _ = fix_signs(&mut out);
    Eigen {
        values: (0..k).map(|j| values[m - 1 - j]).collect(),
        vectors: out,
        rank: super::covariance::numerical_rank(values),
    }
}

/// Eigenvectors are defined up to sign; make each column's largest-magnitude entry positive
/// (the first such entry on ties), as scikit-learn's `svd_flip` does for PCA components.
/// Returns which columns were negated.
pub(crate) fn fix_signs(v: &mut Mat<f64>) -> Vec<bool> {
    (0..v.ncols())
        .map(|j| {
            let mut best = 0;
            for i in 0..v.nrows() {
                if v[(i, j)].abs() > v[(best, j)].abs() {
                    best = i;
                }
            }
            let flip = v.nrows() > 0 && v[(best, j)] < 0.0;
            if flip {
                for i in 0..v.nrows() {
                    v[(i, j)] = -v[(i, j)];
                }
            }
            flip
        })
        .collect()
}

/// Scales each column to unit Euclidean norm (zero columns stay zero).
pub(crate) fn normalise_columns(v: &mut Mat<f64>) {
    for j in 0..v.ncols() {
        let norm = (0..v.nrows())
            .map(|i| v[(i, j)] * v[(i, j)])
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            for i in 0..v.nrows() {
                v[(i, j)] /= norm;
            }
        }
    }
}

/// `V diag(f(s)) V^T` from a decomposition `V diag(s) V^T`: matrix square roots and inverse
/// square roots of covariances.
pub(crate) fn function(values: &[f64], v: &Mat<f64>, f: impl Fn(f64) -> f64) -> Mat<f64> {
    let scaled = Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)] * f(values[j]));
    mul(scaled.as_ref(), v.transpose())
}

/// The `k` largest eigenpairs of the pencil `B v = mu (lambda I + U U^T) v`, with unit-norm
/// `v`. This is the TCA / JDA problem `min_v v^T (X M X^T + lambda I) v / v^T (X H X^T) v`:
/// its smallest ratios phi are the largest mu = 1 / phi, and `lambda > 0` keeps the right-hand
/// side positive definite even where B is singular. `U` has few columns (one per MMD term),
/// so `(lambda I + U U^T)^(-1/2) = lambda^(-1/2) (I + Q D Q^T)` costs `O(m^2 r)` instead of a
/// Cholesky factorisation and two triangular solves; what remains is one `m x m` symmetric
/// eigendecomposition. `rank` is that of `B` (T is invertible).
pub(crate) fn generalised_low_rank(
    b: MatRef<'_, f64>,
    u: MatRef<'_, f64>,
    lambda: f64,
    k: usize,
    method: &'static str,
) -> Result<Eigen> {
    let m = b.nrows();
    // U U^T = Q diag(s) Q^T through the small eigenproblem of U^T U.
    let utu = mul(u.transpose(), u);
    let (s, w) = symmetric(utu.as_ref(), method)?;
    let smax = s.iter().copied().fold(0.0, f64::max);
    let keep: Vec<usize> = (0..s.len())
        .filter(|&j| s[j] > smax * 1e-13 && s[j] > 0.0)
        .collect();
    let uw = mul(u, w.as_ref());
    let q = Mat::from_fn(m, keep.len(), |i, c| uw[(i, keep[c])] / s[keep[c]].sqrt());
    let d: Vec<f64> = keep
        .iter()
        .map(|&j| (lambda / (lambda + s[j])).sqrt() - 1.0)
        .collect();
    // T = I + Q D Q^T; C = T B T (the factor 1 / lambda only scales mu).
    let qd = Mat::from_fn(m, keep.len(), |i, c| q[(i, c)] * d[c]);
    let apply_t = |x: MatRef<'_, f64>| -> Mat<f64> {
        // x + Q D (Q^T x)
        let qtx = mul(q.transpose(), x);
        let mut out = x.to_owned();
        matmul(
            out.as_mut(),
            Accum::Add,
            qd.as_ref(),
            qtx.as_ref(),
            1.0,
            Par::rayon(0),
        );
        out
    };
    let bt = apply_t(b.transpose());
    // Symmetric up to rounding; the eigensolver reads the lower triangle only.
    let c = apply_t(bt.transpose());
    let (values, y) = symmetric(c.as_ref(), method)?;
    let top = leading(&values, y.as_ref(), k);
    let mut v = apply_t(top.vectors.as_ref());
    normalise_columns(&mut v);
    let _ = fix_signs(&mut v);
    Ok(Eigen {
        values: top.values.iter().map(|mu| mu / lambda).collect(),
        vectors: v,
        rank: top.rank,
    })
}

/// `a b`, in parallel.
pub(crate) fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, Par::rayon(0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(r: usize, c: usize, seed: u64) -> Mat<f64> {
        let mut s = seed;
        Mat::from_fn(r, c, |_, _| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        })
    }

    #[test]
    fn generalised_pairs_satisfy_the_pencil() {
        let (m, r, k) = (12, 3, 5);
        let x = random(m, 20, 1);
        let b = mul(x.as_ref(), x.transpose());
        let u = random(m, r, 2);
        let lambda = 0.3;
        let e = generalised_low_rank(b.as_ref(), u.as_ref(), lambda, k, "test").unwrap();
        let mut a = mul(u.as_ref(), u.transpose());
        for i in 0..m {
            a[(i, i)] += lambda;
        }
        for j in 0..k {
            let v = e.vectors.col(j);
            let bv = &b * v;
            let av = &a * v;
            let res = (0..m)
                .map(|i| (bv[i] - e.values[j] * av[i]).abs())
                .fold(0.0, f64::max);
            assert!(res < 1e-9, "residual {res} for pair {j}");
            let norm: f64 = (0..m).map(|i| v[i] * v[i]).sum();
            assert!((norm - 1.0).abs() < 1e-12);
        }
        assert!(e.values.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn square_roots_invert_each_other() {
        let x = random(6, 10, 3);
        let mut a = mul(x.as_ref(), x.transpose());
        for i in 0..6 {
            a[(i, i)] += 1.0;
        }
        let (s, v) = symmetric(a.as_ref(), "test").unwrap();
        let root = function(&s, &v, f64::sqrt);
        let inv_root = function(&s, &v, |s| 1.0 / s.sqrt());
        let id = mul(root.as_ref(), inv_root.as_ref());
        for i in 0..6 {
            for j in 0..6 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((id[(i, j)] - want).abs() < 1e-10);
            }
        }
    }
}
