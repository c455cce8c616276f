//! The task loss: cross-entropy with label smoothing (Szegedy et al. 2016, sec. 7; PyTorch's
//! `label_smoothing`) and per-sample weights, the hook through which instance transfer
//! (KMM, KLIEP, TrAdaBoost weights) reaches deep training.

use crate::Result;
use tch::{Kind, Tensor};

/// `(1/N) sum_i w_i * [(1 - eps) * (-log p_i[y_i]) + eps * mean_c(-log p_i[c])]`; with no
/// weights, PyTorch's `cross_entropy(..., label_smoothing=eps)` exactly.
pub fn cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    smoothing: f64,
    weights: Option<&Tensor>,
) -> Result<Tensor> {
    let logp = logits.f_log_softmax(-1, Kind::Float)?;
    let nll = logp
        .f_gather(1, &targets.f_unsqueeze(1)?, false)?
        .f_squeeze_dim(1)?
        .f_neg()?;
    let per = if smoothing > 0.0 {
        let smooth = logp
            .f_mean_dim([-1i64].as_slice(), false, Kind::Float)?
            .f_neg()?;
        nll.f_mul_scalar(1.0 - smoothing)?
            .f_add(&smooth.f_mul_scalar(smoothing)?)?
    } else {
        nll
    };
    let per = match weights {
        Some(w) => per.f_mul(w)?,
        None => per,
    };
    Ok(per.f_mean(Kind::Float)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libtorch_cross_entropy_with_smoothing() {
        tch::manual_seed(0);
        let logits = Tensor::randn([8, 5], (Kind::Float, tch::Device::Cpu));
        let y = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 0, 1, 2]);
        for eps in [0.0, 0.1] {
            let ours = cross_entropy(&logits, &y, eps, None).unwrap();
            let theirs =
                logits.cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Mean, -100, eps);
            assert!((ours.double_value(&[]) - theirs.double_value(&[])).abs() < 1e-6);
        }
        let w = Tensor::from_slice(&[2.0f32, 0., 0., 0., 0., 0., 0., 0.]);
        let one = cross_entropy(&logits.narrow(0, 0, 1), &y.narrow(0, 0, 1), 0.0, None).unwrap();
        let weighted = cross_entropy(&logits, &y, 0.0, Some(&w)).unwrap();
        assert!((weighted.double_value(&[]) - one.double_value(&[]) * 2.0 / 8.0).abs() < 1e-6);
    }
}
