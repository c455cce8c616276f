//! H-score (Bao et al. 2019, "An Information-Theoretic Approach to Transferability in Task
//! Transfer Learning", ICIP, Definition 2): tr(cov(f)^+ cov(E[f | y])), how much of the
//! features' variance lies between the class means. As `tllib.ranking.h_score`: sample
//! covariances (n - 1), pseudo-inverse with relative cut-off 1e-15. Meaningful for n > d.

use super::{check_labels, dense, eigh};
use crate::error::Result;
use crate::matrix::Matrix;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

/// H-score of `features` (n x d) for class labels `labels`.
pub fn h_score(features: &Matrix, labels: &[usize]) -> Result<f64> {
    validate::matrix("features", features)?;
    check_labels("labels", labels, "features", features.rows())?;
    let (n, d) = (features.rows(), features.cols());
    let mut mean = vec![0.0; d];
    for i in 0..n {
        mean.iter_mut()
            .zip(features.row(i))
            .for_each(|(m, v)| *m += v / n as f64);
    }
    let centred = Mat::from_fn(n, d, |i, j| features.get(i, j) - mean[j]);
    let denom = (n as f64 - 1.0).max(1.0);
    let mut covf = Mat::<f64>::zeros(d, d);
    matmul(
        covf.as_mut(),
        Accum::Replace,
        centred.transpose(),
        centred.as_ref(),
        1.0 / denom,
        Par::rayon(0),
    );
    // cov(g) where g_i is the mean of x_i's class: sum_c n_c (mu_c - mu)(mu_c - mu)^T / (n - 1).
    let (labels, ct) = dense(labels);
    let mut sums = vec![vec![0.0; d]; ct];
    let mut counts = vec![0usize; ct];
    for (i, &y) in labels.iter().enumerate() {
        counts[y] += 1;
        sums[y]
            .iter_mut()
            .zip(centred.row(i).iter())
            .for_each(|(s, v)| *s += v);
    }
    let (vals, vecs) = eigh(covf.as_ref(), "H-score")?;
    let cutoff = 1e-15 * vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut score = 0.0;
    for (j, &lam) in vals.iter().enumerate() {
        if lam.abs() <= cutoff {
            continue;
        }
        let u = vecs.col(j);
        let mut quad = 0.0;
        for (c, s) in sums.iter().enumerate() {
            if counts[c] == 0 {
                continue;
            }
            // (u . (mu_c - mu))^2 * n_c, with sum_c = n_c (mu_c - mu).
            let proj: f64 = (0..d).map(|k| u[k] * s[k]).sum();
            quad += proj * proj / counts[c] as f64;
        }
        score += quad / denom / lam;
    }
    Ok(score)
}
