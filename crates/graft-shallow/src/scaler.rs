//! Per-feature standardisation, as scikit-learn's `StandardScaler` (population variance,
//! constant features left unscaled), applied before a fit when asked for.

use crate::matrix::Matrix;

/// Fitted means and scales.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Weighted mean and variance (weights as `StandardScaler.fit(sample_weight=...)`).
    pub fn fit(x: &Matrix, w: &[f64]) -> StandardScaler {
        let d = x.cols();
        let sw: f64 = w.iter().sum();
        let mut mean = vec![0.0; d];
        for (i, &wi) in w.iter().enumerate() {
            for (m, v) in mean.iter_mut().zip(x.row(i)) {
                *m += wi * v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= sw);
        let mut var = vec![0.0; d];
        for (i, &wi) in w.iter().enumerate() {
            for ((s, v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
                *s += wi * (v - m) * (v - m);
            }
        }
        // scikit-learn treats a scale below 10 * eps as zero variance and keeps the feature as is.
        let scale = var
            .iter()
            .map(|s| {
                let sd = (s / sw).sqrt();
                if sd < 10.0 * f64::EPSILON {
                    1.0
                } else {
                    sd
                }
            })
            .collect();
        StandardScaler { mean, scale }
    }

    /// `(x - mean) / scale`, row by row.
    pub fn transform(&self, x: &Matrix) -> Matrix {
        let mut out = x.clone();
        for i in 0..out.rows() {
            for ((v, m), s) in out.row_mut(i).iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        out
    }
}
