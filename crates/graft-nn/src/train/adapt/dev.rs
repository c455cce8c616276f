//! Deep embedded validation: an estimate of the target risk from labelled source-validation
//! samples, each weighted by how target-like its features are; it needs no target label, so it
//! can choose among a run's epochs where target accuracy cannot be measured.

use crate::{NnError, Result};
use graft_shallow::{CSpec, LogisticRegression, Matrix};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// One DEV estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevEstimate {
    /// The control-variate estimate of the target risk (lower is better).
    pub risk: f64,
    /// Plain importance-weighted validation loss, for comparison.
    pub weighted_loss: f64,
    /// Mean density-ratio weight on the validation set (about 1 when the ratio is well fitted).
    pub mean_weight: f64,
}

fn matrix(t: &Tensor, what: &str) -> Result<Matrix> {
    let t = t
        .f_to_kind(Kind::Float)?
        .f_to_device(tch::Device::Cpu)?
        .f_contiguous()?;
    let s = t.size();
    let v: Vec<f32> = Vec::try_from(t.f_reshape([-1])?)?;
    Matrix::from_f32(s[0] as usize, s[1] as usize, &v)
        .map_err(|e| NnError::Invalid(format!("deep embedded validation: {what}: {e}")))
}

/// You et al. 2019 (DEV), Alg. 1: a logistic domain classifier on features separates source
/// training features `f_src` from target features `f_tgt`; its odds give the density ratio
/// `w(x) = (n_s / n_t) p(t|x) / p(s|x)` on the validation features `f_val`; with per-sample
/// validation losses `loss_val`, `L = w * loss`, `eta = -Cov(L, w) / Var(w)` and the risk is
/// `mean(L) + eta * mean(w) - eta` (eq. 7).
pub fn deep_embedded_validation(
    f_src: &Tensor,
    f_tgt: &Tensor,
    f_val: &Tensor,
    loss_val: &[f64],
) -> Result<DevEstimate> {
    let (s, t, v) = (
        matrix(f_src, "source features")?,
        matrix(f_tgt, "target features")?,
        matrix(f_val, "validation features")?,
    );
    if loss_val.len() != v.rows() || v.rows() < 2 {
        return Err(NnError::Invalid(format!(
            "deep embedded validation: {} losses for {} validation samples (at least 2 needed)",
            loss_val.len(),
            v.rows()
        )));
    }
    let (ns, nt) = (s.rows(), t.rows());
    let mut data = s.data().to_vec();
    data.extend_from_slice(t.data());
    let x = Matrix::new(ns + nt, s.cols(), data)
        .map_err(|e| NnError::Invalid(format!("deep embedded validation: {e}")))?;
    let y: Vec<usize> = (0..ns + nt).map(|i| usize::from(i >= ns)).collect();
    let clf = LogisticRegression {
        c: CSpec::Fixed(1.0),
        standardize: true,
        max_iter: 200,
        ..LogisticRegression::default()
    };
    let model = clf.fit(&x, &y, None).map_err(|e| {
        NnError::Invalid(format!("deep embedded validation: domain classifier: {e}"))
    })?;
    let p = model
        .predict_proba(&v)
        .map_err(|e| NnError::Invalid(format!("deep embedded validation: {e}")))?;
    let ratio = ns as f64 / nt as f64;
    let w: Vec<f64> = (0..v.rows())
        .map(|i| {
            let pt = p.get(i, 1).clamp(1e-6, 1.0 - 1e-6);
            ratio * pt / (1.0 - pt)
        })
        .collect();
    let l: Vec<f64> = w.iter().zip(loss_val).map(|(w, l)| w * l).collect();
    let n = w.len() as f64;
    let (mw, ml) = (w.iter().sum::<f64>() / n, l.iter().sum::<f64>() / n);
    let cov = w
        .iter()
        .zip(&l)
        .map(|(a, b)| (a - mw) * (b - ml))
        .sum::<f64>()
        / (n - 1.0);
    let var = w.iter().map(|a| (a - mw).powi(2)).sum::<f64>() / (n - 1.0);
    let eta = if var > 0.0 { -cov / var } else { 0.0 };
    Ok(DevEstimate {
        risk: ml + eta * mw - eta,
        weighted_loss: ml,
        mean_weight: mw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_the_validation_samples_that_look_like_the_target() {
        // Source features around 0, target around 2; validation has one sample at each. The
        // target-like one has loss 1, the other 0: the estimate must lean towards 1.
        tch::manual_seed(0);
        let opts = (Kind::Float, tch::Device::Cpu);
        let s = Tensor::randn([200, 2], opts);
        let t = Tensor::randn([200, 2], opts) + 2.0;
        let v = Tensor::from_slice(&[0.0f32, 0.0, 2.0, 2.0, 0.1, -0.1, 1.9, 2.1]).view([4, 2]);
        let est = deep_embedded_validation(&s, &t, &v, &[0.0, 1.0, 0.0, 1.0]).unwrap();
        assert!(est.weighted_loss > 0.9, "{est:?}");
        let plain = 0.5;
        assert!(est.risk > plain, "{est:?}");
        let same = deep_embedded_validation(&s, &s, &v, &[0.0, 1.0, 0.0, 1.0]).unwrap();
        assert!((same.mean_weight - 1.0).abs() < 0.3, "{same:?}");
    }
}
