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
    /// The estimate of the target risk that selection uses (lower is better): the
    /// control-variate estimate when it lies in the errors' range, else the self-normalised
    /// importance-weighted error.
    pub risk: f64,
    /// The control-variate estimate of eq. 7, as the authors' `get_dev_risk` computes it.
    pub control_variate: f64,
    /// The control variate's coefficient `eta = -Cov(w e, w) / Var(w)`.
    pub eta: f64,
    /// Plain importance-weighted validation error `mean(w e)`, for comparison.
    pub weighted_loss: f64,
    /// Mean density-ratio weight on the validation set (about 1 when the ratio is well fitted).
    pub mean_weight: f64,
    /// Whether the control-variate estimate left the errors' range and was replaced.
    pub fell_back: bool,
}

/// You et al. 2019, eq. 7, exactly as the authors' `get_dev_risk`: with `L = w e`,
/// `eta = -Cov(L, w) / Var(w)` (sample covariance and variance, `n - 1`) and the risk is
/// `mean(L) + eta mean(w) - eta`.
///
/// The estimate is unbiased but not bounded: with heavy-tailed weights (a domain classifier
/// that separates the domains almost perfectly) `eta (mean(w) - 1)` can carry it far outside
/// any possible risk (-4 with 0/1 errors was seen). A risk lies between the smallest and the
/// largest per-sample error, so an estimate outside that range is known to be wrong; selection
/// then uses the self-normalised importance-weighted error `sum(w e) / sum(w)` (always in
/// range) for that epoch, and says so in [`DevEstimate::fell_back`].
pub fn dev_risk(weights: &[f64], errors: &[f64]) -> Result<DevEstimate> {
    if weights.len() != errors.len() || weights.len() < 2 {
        return Err(NnError::Invalid(format!(
            "deep embedded validation: {} weights for {} errors (at least 2 needed)",
            weights.len(),
            errors.len()
        )));
    }
    let n = weights.len() as f64;
    let l: Vec<f64> = weights.iter().zip(errors).map(|(w, e)| w * e).collect();
    let (mw, ml) = (weights.iter().sum::<f64>() / n, l.iter().sum::<f64>() / n);
    let cov = weights
        .iter()
        .zip(&l)
        .map(|(a, b)| (a - mw) * (b - ml))
        .sum::<f64>()
        / (n - 1.0);
    let var = weights.iter().map(|a| (a - mw).powi(2)).sum::<f64>() / (n - 1.0);
    // Equal weights: the control variate carries nothing (the reference divides by zero).
    let eta = if var > 0.0 { -cov / var } else { 0.0 };
    let control_variate = ml + eta * mw - eta;
    let lo = errors.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = errors.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let fell_back = !(lo..=hi).contains(&control_variate);
    let risk = if fell_back {
        l.iter().sum::<f64>() / weights.iter().sum::<f64>().max(f64::MIN_POSITIVE)
    } else {
        control_variate
    };
    Ok(DevEstimate {
        risk,
        control_variate,
        eta,
        weighted_loss: ml,
        mean_weight: mw,
        fell_back,
    })
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
/// `w(x) = (n_s / n_t) p(t|x) / p(s|x)` on the validation features `f_val`, and
/// [`dev_risk`] weighs the per-sample validation losses `loss_val` with it (`graft adapt
/// --select dev` gives cross-entropies).
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
    // The one departure from the authors' code, which clips nothing: probabilities are kept in
    // [1e-6, 1 - 1e-6], so a ratio is at most 1e6 times n_s / n_t instead of a division by
    // zero when the classifier is certain.
    let w: Vec<f64> = (0..v.rows())
        .map(|i| {
            let pt = p.get(i, 1).clamp(1e-6, 1.0 - 1e-6);
            ratio * pt / (1.0 - pt)
        })
        .collect();
    dev_risk(&w, loss_val)
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

    #[test]
    fn the_risk_is_the_authors_get_dev_risk_and_falls_back_when_out_of_range() {
        // scripts/reference/dev_risk.py: the authors' function on three cases.
        let text = include_str!("../../../tests/fixtures/dev_risk_reference.json");
        let cases: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert_eq!(cases.len(), 3);
        let f = |v: &serde_json::Value| v.as_f64().unwrap();
        let list = |c: &serde_json::Value, k: &str| -> Vec<f64> {
            c[k].as_array().unwrap().iter().map(f).collect()
        };
        for c in &cases {
            let est = dev_risk(&list(c, "weights"), &list(c, "errors")).unwrap();
            let name = c["name"].as_str().unwrap();
            for (got, want) in [
                (est.control_variate, f(&c["risk"])),
                (est.eta, f(&c["eta"])),
                (est.weighted_loss, f(&c["weighted_error"])),
                (est.mean_weight, f(&c["mean_weight"])),
            ] {
                assert!((got - want).abs() < 1e-12, "{name}: {got} vs {want}");
            }
            let (lo, hi) = (0.0, list(c, "errors").iter().copied().fold(0.0, f64::max));
            let in_range = (lo..=hi).contains(&est.control_variate);
            assert_eq!(est.fell_back, !in_range, "{name}");
            assert!((lo..=hi).contains(&est.risk), "{name}: {est:?}");
        }
        // The heavy-tailed case leaves [0, 1], as the issue's -4.01 did.
        let heavy = dev_risk(&list(&cases[1], "weights"), &list(&cases[1], "errors")).unwrap();
        assert!(heavy.fell_back && heavy.control_variate < 0.0, "{heavy:?}");
    }
}
