//! The penalised log-loss scikit-learn's `LogisticRegression(solver="lbfgs")` minimises
//! (`LinearModelLoss` with `HalfMultinomialLoss`, or `HalfBinomialLoss` for two classes):
//!
//! f(W, b) = (1 / S) sum_i s_i loss(y_i, W x_i + b) + 1 / (2 C S) ||W||_F^2,  S = sum_i s_i,
//!
//! evaluated in one pass over the rows: each cache-sized block of X is multiplied by W, turned
//! into per-row gradients and multiplied back while it is still in cache.

use crate::matrix::Matrix;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Rows per cache block: 64 rows of 1,280 doubles is 640 KiB.
const BLOCK: usize = 64;
/// Rows per parallel task, fixed so the summation order (and the result) does not depend on
/// the number of threads.
const MIN_CHUNK: usize = 1024;
const MAX_CHUNKS: usize = 64;

/// One problem: data, encoded labels and weights already divided by their sum.
pub(crate) struct Objective<'a> {
    pub x: &'a Matrix,
    pub codes: &'a [usize],
    pub w: &'a [f64],
    /// Number of score columns: the class count, or 1 for the binomial (two-class) loss.
    pub n_out: usize,
    pub fit_intercept: bool,
    /// 1 / (C S).
    pub l2: f64,
}

impl Objective<'_> {
    /// Parameters: `n_out x d` weights, row-major, then `n_out` intercepts when fitted.
    pub fn n_params(&self) -> usize {
        self.n_out * (self.x.cols() + usize::from(self.fit_intercept))
    }

    /// Loss at `theta`; writes the gradient into `grad`.
    pub fn loss_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, d, k) = (self.x.rows(), self.x.cols(), self.n_out);
        let wflat = &theta[..k * d];
        let bias = &theta[k * d..];
        let chunk = MIN_CHUNK.max(n.div_ceil(MAX_CHUNKS));
        let starts: Vec<usize> = (0..n).step_by(chunk).collect();
        let parts: Vec<(f64, Vec<f64>)> = starts
            .par_iter()
            .map(|&r0| {
                let r1 = (r0 + chunk).min(n);
                let mut g = vec![0.0; self.n_params()];
                let loss = self.chunk(r0, r1, wflat, bias, &mut g);
                (loss, g)
            })
            .collect();
        grad.iter_mut().for_each(|v| *v = 0.0);
        let mut loss = 0.0;
        for (l, g) in parts {
            loss += l;
            grad.iter_mut().zip(&g).for_each(|(a, b)| *a += b);
        }
        let norm2: f64 = wflat.iter().map(|v| v * v).sum();
        grad[..k * d]
            .iter_mut()
            .zip(wflat)
            .for_each(|(g, w)| *g += self.l2 * w);
        loss + 0.5 * self.l2 * norm2
    }

    fn chunk(&self, r0: usize, r1: usize, wflat: &[f64], bias: &[f64], g: &mut [f64]) -> f64 {
        let (d, k) = (self.x.cols(), self.n_out);
        let (gw, gb) = g.split_at_mut(k * d);
        let mut z = vec![0.0; BLOCK * k];
        let mut loss = 0.0;
        for b0 in (r0..r1).step_by(BLOCK) {
            let b1 = (b0 + BLOCK).min(r1);
            let rows = b1 - b0;
            let xb = &self.x.data()[b0 * d..b1 * d];
            let zb = &mut z[..rows * k];
            forward(xb, d, wflat, k, zb);
            for (r, zr) in zb.chunks_exact_mut(k).enumerate() {
                let i = b0 + r;
                if self.fit_intercept {
                    zr.iter_mut().zip(bias).for_each(|(z, b)| *z += b);
                }
                let wi = self.w[i];
                let yi = self.codes[i];
                loss += wi
                    * if k == 1 {
                        binomial(zr, yi)
                    } else {
                        multinomial(zr, yi)
                    };
                zr.iter_mut().for_each(|v| *v *= wi);
            }
            if self.fit_intercept {
                for zr in zb.chunks_exact(k) {
                    gb.iter_mut().zip(zr).for_each(|(a, b)| *a += b);
                }
            }
            backward(xb, d, zb, k, gw);
        }
        loss
    }
}

/// `z` (rows x k, row-major) = `xb` (rows x d, row-major) `w`^T (`w`: k x d, row-major).
/// Written as Z^T = W X_b^T with a column-major destination, the layout faer's kernels favour
/// for these skinny shapes.
fn forward(xb: &[f64], d: usize, w: &[f64], k: usize, z: &mut [f64]) {
    let rows = xb.len() / d;
    matmul(
        MatMut::from_column_major_slice_mut(z, k, rows),
        Accum::Replace,
        MatRef::from_row_major_slice(w, k, d),
        MatRef::from_column_major_slice(xb, d, rows),
        1.0,
        Par::Seq,
    );
}

/// `gw` (k x d, row-major) += `g`^T X_b, written as grad_W^T += X_b^T G (column-major destination).
fn backward(xb: &[f64], d: usize, g: &[f64], k: usize, gw: &mut [f64]) {
    let rows = xb.len() / d;
    matmul(
        MatMut::from_column_major_slice_mut(gw, d, k),
        Accum::Add,
        MatRef::from_column_major_slice(xb, d, rows),
        MatRef::from_row_major_slice(g, rows, k),
        1.0,
        Par::Seq,
    );
}

/// Half binomial loss log(1 + e^z) - y z for y in {0, 1}; leaves the gradient sigmoid(z) - y in `z`.
fn binomial(z: &mut [f64], y: usize) -> f64 {
    let raw = z[0];
    let yf = y as f64;
    let loss = if raw > 0.0 {
        raw + (-raw).exp().ln_1p()
    } else {
        raw.exp().ln_1p()
    } - yf * raw;
    z[0] = sigmoid(raw) - yf;
    loss
}

/// log-sum-exp(z) - z_y; leaves softmax(z) - onehot(y) in `z`.
fn multinomial(z: &mut [f64], y: usize) -> f64 {
    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    // z now holds exp(z - max); the loss is log(sum) - (z_y - max).
    let loss = sum.ln() - z[y].ln();
    let inv = 1.0 / sum;
    z.iter_mut().for_each(|v| *v *= inv);
    z[y] -= 1.0;
    loss
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(k_out: usize) -> (Matrix, Vec<usize>, Vec<f64>) {
        let n = 2100;
        let d = 7;
        let data: Vec<f64> = (0..n * d)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect();
        let codes = (0..n).map(|i| (i * 7 + i / 3) % k_out.max(2)).collect();
        let w = (0..n)
            .map(|i| (1.0 + (i % 3) as f64) / (2.0 * n as f64))
            .collect();
        (Matrix::new(n, d, data).unwrap(), codes, w)
    }

    fn check_gradient(n_out: usize) {
        let (x, codes, w) = problem(if n_out == 1 { 2 } else { n_out });
        let obj = Objective {
            x: &x,
            codes: &codes,
            w: &w,
            n_out,
            fit_intercept: true,
            l2: 0.3,
        };
        let theta: Vec<f64> = (0..obj.n_params())
            .map(|i| ((i % 5) as f64 - 2.0) * 0.1)
            .collect();
        let mut g = vec![0.0; theta.len()];
        obj.loss_grad(&theta, &mut g);
        let mut scratch = vec![0.0; theta.len()];
        for j in 0..theta.len() {
            let h = 1e-6;
            let mut tp = theta.clone();
            tp[j] += h;
            let fp = obj.loss_grad(&tp, &mut scratch);
            tp[j] -= 2.0 * h;
            let fm = obj.loss_grad(&tp, &mut scratch);
            let num = (fp - fm) / (2.0 * h);
            assert!(
                (num - g[j]).abs() < 1e-6,
                "param {j}: numeric {num}, analytic {}",
                g[j]
            );
        }
    }

    #[test]
    fn multinomial_gradient_matches_finite_differences() {
        check_gradient(3);
    }

    #[test]
    fn binomial_gradient_matches_finite_differences() {
        check_gradient(1);
    }
}
