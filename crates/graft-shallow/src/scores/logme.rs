//! LogME (You et al. 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer
//! Learning", ICML, Algorithm 1 and Eq. 2): per class, the log evidence of Bayesian linear
//! regression of the one-hot column on the features, with prior precision alpha and noise
//! precision beta set by MacKay's fixed-point updates; averaged over classes and divided by n.
//! Follows `tllib.ranking.log_maximum_evidence`: at most 11 updates, stop when alpha / beta
//! changes by less than 1 %. Classes with no sample are skipped (tllib would average in an
//! all-zero column).

use super::{check_labels, eigh};
use crate::error::Result;
use crate::matrix::Matrix;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

/// Mean per-class log maximum evidence of `features` (n x d) for class labels `labels`.
pub fn log_me(features: &Matrix, labels: &[usize]) -> Result<f64> {
    validate::matrix("features", features)?;
    check_labels("labels", labels, "features", features.rows())?;
    let (n, d) = (features.rows(), features.cols());
    let f = features.as_faer();
    let mut classes = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    // Spectrum of F^T F; when n < d the same non-zero part comes from the smaller F F^T.
    let primal = d <= n;
    let m = if primal { d } else { n };
    let mut gram = Mat::<f64>::zeros(m, m);
    if primal {
        matmul(
            gram.as_mut(),
            Accum::Replace,
            f.transpose(),
            f,
            1.0,
            Par::rayon(0),
        );
    } else {
        matmul(
            gram.as_mut(),
            Accum::Replace,
            f,
            f.transpose(),
            1.0,
            Par::rayon(0),
        );
    }
    let (vals, vecs) = eigh(gram.as_ref(), "LogME")?;
    // Singular values of a symmetric PSD matrix: |eigenvalue| (rounding can make tiny ones negative).
    let s: Vec<f64> = vals.iter().map(|v| v.abs()).collect();
    let smax = s.iter().cloned().fold(0.0, f64::max);
    let mut total = 0.0;
    for &c in &classes {
        let y: Vec<f64> = labels
            .iter()
            .map(|&l| if l == c { 1.0 } else { 0.0 })
            .collect();
        let ycol = faer::ColRef::from_slice(&y);
        // Projection of the target on the eigenvectors: V^T F^T y (primal) or P^T y (dual).
        let tmp: Vec<f64> = if primal {
            let fty = f.transpose() * ycol;
            let t = vecs.transpose() * &fty;
            (0..m).map(|j| t[j]).collect()
        } else {
            let t = vecs.transpose() * ycol;
            (0..m).map(|j| t[j]).collect()
        };
        total += each_evidence(f, &y, &s, smax, &vecs, &tmp, primal, d);
    }
    Ok(total / classes.len() as f64)
}

/// tllib's `each_evidence`, divided by n.
#[allow(clippy::too_many_arguments)]
fn each_evidence(
    f: faer::MatRef<'_, f64>,
    y: &[f64],
    s: &[f64],
    smax: f64,
    vecs: &Mat<f64>,
    tmp: &[f64],
    primal: bool,
    d: usize,
) -> f64 {
    let n = y.len() as f64;
    let nf = f.nrows();
    let (mut alpha, mut beta) = (1.0f64, 1.0f64);
    let mut lam = alpha / beta;
    let (mut alpha_de, mut beta_de) = (0.0, 0.0);
    for _ in 0..11 {
        let gamma: f64 = s.iter().map(|&si| si / (si + lam)).sum();
        let m = posterior_mean(f, vecs, s, smax, tmp, alpha, beta, primal);
        alpha_de = m.iter().map(|v| v * v).sum();
        alpha = gamma / alpha_de;
        let fm = f * faer::ColRef::from_slice(&m);
        beta_de = (0..nf).map(|i| (y[i] - fm[i]).powi(2)).sum();
        beta = (n - gamma) / beta_de;
        let new_lam = alpha / beta;
        if (new_lam - lam).abs() / lam < 0.01 {
            break;
        }
        lam = new_lam;
    }
    // The D - n zero eigenvalues of F^T F that the dual form leaves out each add log(alpha).
    let missing = d.saturating_sub(s.len()) as f64;
    let logdet: f64 =
        s.iter().map(|&si| (alpha + beta * si).ln()).sum::<f64>() + missing * alpha.ln();
    let evidence = d as f64 / 2.0 * alpha.ln() + n / 2.0 * beta.ln()
        - 0.5 * logdet
        - beta / 2.0 * beta_de
        - alpha / 2.0 * alpha_de
        - n / 2.0 * (2.0 * std::f64::consts::PI).ln();
    evidence / n
}

/// m = V diag(beta / (alpha + beta s)) V^T F^T y, or its dual form F^T P diag(...) P^T y.
#[allow(clippy::too_many_arguments)]
fn posterior_mean(
    f: faer::MatRef<'_, f64>,
    vecs: &Mat<f64>,
    s: &[f64],
    smax: f64,
    tmp: &[f64],
    alpha: f64,
    beta: f64,
    primal: bool,
) -> Vec<f64> {
    let scaled: Vec<f64> = s
        .iter()
        .zip(tmp)
        .map(|(&si, &t)| {
            // In the dual form an eigenvector with (numerically) zero eigenvalue lies in the null
            // space of F^T and contributes nothing; dropping it avoids amplifying rounding noise.
            if !primal && si <= 1e-12 * smax {
                0.0
            } else {
                t * beta / (alpha + beta * si)
            }
        })
        .collect();
    let v = vecs * faer::ColRef::from_slice(&scaled);
    if primal {
        (0..v.nrows()).map(|i| v[i]).collect()
    } else {
        let m = f.transpose() * &v;
        (0..m.nrows()).map(|i| m[i]).collect()
    }
}
