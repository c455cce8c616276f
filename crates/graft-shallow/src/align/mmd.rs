//! The embedding problem TCA and JDA share: find the `k` directions that keep the most
//! variance of source + target while shrinking a sum of maximum-mean-discrepancy terms.
//!
//! With `X` the stacked rows (source first), `H = I - 11^T / n` and
//! `M = sum_j c_j e_j e_j^T / ||sum_j c_j e_j e_j^T||_F`:
//! - primal form: `(X^T M X + lambda I) a = phi X^T H X a`, embedding `z = x A` (a `d x d`
//!   problem, no `n x n` matrix is formed);
//! - kernel form: `(K M K + lambda I) w = phi K H K w`, embedding `z = k(x, X) W`.
//!
//! Both are one problem over a design matrix `D` (`X` or `K`): `(D^T M D + lambda I) v =
//! phi D^T H D v`, `z = D v`. The `k` smallest `phi` are kept, each eigenvector scaled to unit
//! Euclidean norm (what MATLAB's `eigs` returns in the authors' code; B-orthonormal vectors
//! lose about 30 points of accuracy on the JDA benchmark).
//!
//! The linear kernel `K = X X^T` is solved without its `n x n` matrix when `k <= d < n`: every
//! eigenvector with finite `phi` satisfies `lambda w = K (H K w / mu - M K w)`, so it lies in
//! the column space of `X`; with `X = Q R` (thin QR) and `w = Q y` the problem becomes the
//! same pencil over `D = K Q = X (X^T Q)`, of size `d`, with `|w| = |y|`. New rows then embed
//! as `x (X^T Q Y)`, a plain linear map.

use super::aligned::{project, TargetMap};
use super::covariance::covariance;
use super::domains::check_dim;
use super::eigen::{self, mul, Eigen};
use crate::error::Result;
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use faer::Mat;

/// How directions `v` relate to the input rows.
enum Design {
    /// `D = X`.
    Primal,
    /// `D = K = k(X, X)`, `n x n`.
    Kernel { kernel: Kernel, gram: Matrix },
    /// Linear kernel through `X = Q R`: `D = X P` with `P = X^T Q` (`d x d`), `w = Q y`.
    LinearReduced { q: Mat<f64>, p: Mat<f64>, d: Matrix },
}

/// Stacked rows, the design, and its scatter `D^T H D` (stored divided by `n - 1`, which only
/// scales the eigenvalues).
pub(crate) struct MmdProblem {
    x: Matrix,
    design: Design,
    scatter: Mat<f64>,
    lambda: f64,
    dim: usize,
}

/// One solve: unit-norm directions (`d x k` or `n x k`) and the embedded rows `n x k`.
pub(crate) struct Solution {
    pub directions: Mat<f64>,
    pub embedded: Matrix,
    pub values: Vec<f64>,
    /// Numerical rank of the scatter `D^T H D` and its size.
    pub rank: usize,
    pub size: usize,
}

impl Solution {
    /// What a singular scatter (or kernel) matrix means here, for `Aligned::notes`.
    pub(crate) fn singular_note(&self, method: &str, dim: usize) -> Option<String> {
        (self.rank < self.size).then(|| {
            let mut s = format!(
                "{method}: the scatter matrix is singular (rank {} of {}); the lambda I term \
                 keeps the eigenproblem definite, as in the paper",
                self.rank, self.size
            );
            if dim > self.rank {
                s.push_str(&format!(
                    "; components {}..{dim} carry no variance",
                    self.rank + 1
                ));
            }
            s
        })
    }
}

impl MmdProblem {
    /// `name` prefixes the `dim` error (`tca.dim`, `jda.dim`).
    pub(crate) fn new(
        x: Matrix,
        kernel: Option<Kernel>,
        lambda: f64,
        dim: usize,
        name: &'static str,
    ) -> Result<Self> {
        Self::build(x, kernel, lambda, dim, name, true)
    }

    fn build(
        x: Matrix,
        kernel: Option<Kernel>,
        lambda: f64,
        dim: usize,
        name: &'static str,
        reduce_linear: bool,
    ) -> Result<Self> {
        let (n, features) = (x.rows(), x.cols());
        let design = match kernel {
            None => {
                check_dim(
                    name,
                    dim,
                    features,
                    "at most the feature count (primal form)",
                )?;
                Design::Primal
            }
            Some(kernel) => {
                check_dim(
                    name,
                    dim,
                    n,
                    "at most source rows + target rows (kernel form)",
                )?;
                if kernel == Kernel::Linear && reduce_linear && dim <= features && features < n {
                    let q = x.as_faer().qr().compute_thin_Q();
                    let p = mul(x.as_faer().transpose(), q.as_ref());
                    let d = project(&x, &p);
                    Design::LinearReduced { q, p, d }
                } else {
                    Design::Kernel {
                        kernel,
                        gram: kernel.gram(&x, &x)?,
                    }
                }
            }
        };
        let scatter = covariance(match &design {
            Design::Primal => &x,
            Design::Kernel { gram, .. } => gram,
            Design::LinearReduced { d, .. } => d,
        })
        .1;
        Ok(MmdProblem {
            x,
            design,
            scatter,
            lambda,
            dim,
        })
    }

    fn design(&self) -> &Matrix {
        match &self.design {
            Design::Primal => &self.x,
            Design::Kernel { gram, .. } => gram,
            Design::LinearReduced { d, .. } => d,
        }
    }

    /// Solves for `M = sum_j c_j e_j e_j^T` (normalised to unit Frobenius norm), given as the
    /// columns `e_j` of `e` (`n x r`) and their weights `c_j >= 0`.
    pub(crate) fn solve(&self, e: &Mat<f64>, c: &[f64], method: &'static str) -> Result<Solution> {
        // ||M||_F^2 = sum_ij c_i c_j (e_i . e_j)^2
        let g = mul(e.transpose(), e.as_ref());
        let mut fro2 = 0.0;
        for i in 0..c.len() {
            for j in 0..c.len() {
                fro2 += c[i] * c[j] * g[(i, j)] * g[(i, j)];
            }
        }
        let fro = fro2.sqrt().max(f64::MIN_POSITIVE);
        // D^T M D = U U^T with U = D^T E sqrt(c / ||M||).
        let base = self.design();
        let mut u = mul(base.as_faer().transpose(), e.as_ref());
        for (j, &cj) in c.iter().enumerate() {
            let s = (cj / fro).sqrt();
            for i in 0..u.nrows() {
                u[(i, j)] *= s;
            }
        }
        let Eigen {
            values,
            mut vectors,
            rank,
        } = eigen::generalised_low_rank(
            self.scatter.as_ref(),
            u.as_ref(),
            self.lambda,
            self.dim,
            method,
        )?;
        if let Design::LinearReduced { q, .. } = &self.design {
            // Signs follow the kernel-form vectors w = Q y, as without the reduction.
            let mut w = mul(q.as_ref(), vectors.as_ref());
            let flips = eigen::fix_signs(&mut w);
            for (j, flip) in flips.into_iter().enumerate() {
                if flip {
                    for i in 0..vectors.nrows() {
                        vectors[(i, j)] = -vectors[(i, j)];
                    }
                }
            }
        }
        let embedded = project(base, &vectors);
        Ok(Solution {
            directions: vectors,
            embedded,
            values,
            rank,
            size: self.scatter.nrows(),
        })
    }

    /// The map that embeds new target rows like the fitted ones.
    pub(crate) fn into_map(self, directions: Mat<f64>) -> TargetMap {
        match self.design {
            Design::Primal => TargetMap::Linear {
                mean: None,
                projection: directions,
            },
            Design::Kernel { kernel, .. } => TargetMap::Kernel {
                kernel,
                basis: self.x,
                weights: directions,
            },
            Design::LinearReduced { p, .. } => TargetMap::Linear {
                mean: None,
                projection: mul(p.as_ref(), directions.as_ref()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_kernel_reduction_is_exact() {
        let mut s = 5u64;
        let data: Vec<f64> = (0..30 * 4)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let x = Matrix::new(30, 4, data).unwrap();
        let e = Mat::from_fn(30, 2, |i, j| match (j, i < 12) {
            (0, true) => 1.0 / 12.0,
            (0, false) => -1.0 / 18.0,
            _ => ((i % 3) as f64 - 1.0) / 10.0,
        });
        let solve = |reduce| {
            let p =
                MmdProblem::build(x.clone(), Some(Kernel::Linear), 0.1, 3, "t", reduce).unwrap();
            let sol = p.solve(&e, &[2.0, 1.0], "t").unwrap();
            let map = p.into_map(sol.directions);
            (sol.embedded, sol.values, map.apply(&x).unwrap())
        };
        let (z_full, v_full, m_full) = solve(false);
        let (z_red, v_red, m_red) = solve(true);
        let diff = |a: &Matrix, b: &Matrix| {
            a.data()
                .iter()
                .zip(b.data())
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        };
        assert!(diff(&z_full, &z_red) < 1e-10, "{}", diff(&z_full, &z_red));
        assert!(diff(&m_full, &m_red) < 1e-10);
        assert!(diff(&z_red, &m_red) < 1e-10);
        for (a, b) in v_full.iter().zip(&v_red) {
            assert!((a - b).abs() < 1e-9 * a.abs().max(1.0));
        }
    }
}
