//! DELTA: keep the fine-tuned network's feature maps close to the pre-trained network's, channel
//! by channel, weighting each channel by how much the pre-trained model's loss depends on it.

use crate::models::Backbone;
use crate::train::loss::cross_entropy;
use crate::transfer::check;
use crate::transfer::regularization::l2sp::l2_penalty;
use crate::{NnError, Result};
use tch::{Kind, Tensor};

/// Indices of the named stages of `model`, in forward order, without duplicates.
pub fn stage_indices(model: &dyn Backbone, names: &[&str]) -> Result<Vec<usize>> {
    let mut idx = names
        .iter()
        .map(|n| model.stage_position(Some(n)))
        .collect::<Result<Vec<_>>>()?;
    idx.sort_unstable();
    idx.dedup();
    if idx.is_empty() {
        return Err(NnError::Invalid(format!(
            "DELTA: no stages chosen for model `{}`",
            model.arch()
        )));
    }
    Ok(idx)
}

/// Raw outputs of the stages `stages` (sorted indices) of `model` on `x`, in one forward pass
/// that stops at the last of them.
pub fn stage_maps(
    model: &dyn Backbone,
    x: &Tensor,
    stages: &[usize],
    train: bool,
) -> Result<Vec<Tensor>> {
    let mut out = Vec::with_capacity(stages.len());
    let mut h = x.shallow_clone();
    let mut next = 0;
    for &s in stages {
        if s < next {
            return Err(NnError::Invalid(format!(
                "DELTA: stage indices must be increasing; got {stages:?}"
            )));
        }
        h = model.forward_stages(&h, next, s, train)?;
        out.push(h.shallow_clone());
        next = s + 1;
    }
    Ok(out)
}

/// Mean cross-entropy of the model's head on the raw output `h` of stage `from - 1`.
fn loss_from(model: &dyn Backbone, h: &Tensor, from: usize, y: &Tensor) -> Result<f64> {
    let last = model.stages().len() - 1;
    let h = if from <= last {
        model.forward_stages(h, from, last, false)?
    } else {
        h.shallow_clone()
    };
    let logits = model.forward_head(&model.pool_stage(&h, last)?, false)?;
    Ok(cross_entropy(&logits, y, 0.0, None)?.double_value(&[]))
}

/// Li et al. 2019 (DELTA), sec. 3, supervised channel attention, as TLlib's
/// `calculate_channel_attention`: for every channel `j` of each chosen stage, the increase of the
/// pre-trained model's loss when that channel of the stage's output is zeroed, averaged over
/// `batches` of `(inputs, labels)`, standardised (population standard deviation) and turned into
/// weights `softmax(z / 5)`.
///
/// Run it once, before fine-tuning, on the pre-trained backbone with a head trained for the
/// target task (TLlib first trains that classifier for a few epochs); inference mode throughout.
/// TLlib zeroes the filter of a convolution; zeroing the stage's output channel is the same
/// ablation at the stage boundary, which is where graft's backbones expose feature maps.
pub fn delta_channel_attention(
    model: &dyn Backbone,
    stages: &[usize],
    batches: &[(Tensor, Tensor)],
) -> Result<Vec<Tensor>> {
    if batches.is_empty() {
        return Err(NnError::Invalid("DELTA attention: no batches given".into()));
    }
    let mut weights: Vec<Vec<f64>> = Vec::new();
    let device = batches[0].0.device();
    tch::no_grad(|| -> Result<()> {
        for (i, (x, y)) in batches.iter().enumerate() {
            let maps = stage_maps(model, x, stages, false)?;
            let last = *stages.last().expect("stages checked non-empty");
            let loss0 = loss_from(model, &maps[maps.len() - 1], last + 1, y)?;
            for (l, (&s, h)) in stages.iter().zip(&maps).enumerate() {
                let c = h.size().get(1).copied().unwrap_or(0);
                if c < 1 {
                    return Err(NnError::Invalid(format!(
                        "DELTA attention: stage {s} output has no channel axis (shape {:?})",
                        h.size()
                    )));
                }
                if weights.len() <= l {
                    weights.push(vec![0.0; c as usize]);
                }
                for j in 0..c {
                    let ablated = check::detached_copy(h)?;
                    let _ = ablated.f_narrow(1, j, 1)?.f_zero_()?;
                    let diff = loss_from(model, &ablated, s + 1, y)? - loss0;
                    let w = &mut weights[l][j as usize];
                    *w = (i as f64 * *w + diff) / (i as f64 + 1.0);
                }
            }
        }
        Ok(())
    })?;
    weights
        .into_iter()
        .map(|w| {
            let n = w.len() as f64;
            let mean = w.iter().sum::<f64>() / n;
            let std = (w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            let z: Vec<f64> = if std > 0.0 {
                w.iter().map(|v| (v - mean) / std / 5.0).collect()
            } else {
                vec![0.0; w.len()]
            };
            Ok(Tensor::from_slice(&z)
                .f_softmax(0, Kind::Double)?
                .f_to_kind(Kind::Float)?
                .f_to_device(device)?)
        })
        .collect()
}

/// Li et al. 2019 (DELTA), sec. 3, attention-weighted feature-map distance (TLlib
/// `AttentionBehavioralRegularization`):
/// `0.5 * sum_layers sum_{b,c} C * a_c * ||FM_t[b,c] - FM_s[b,c]||^2 / (H W)` over feature maps
/// `(B, C, H, W)` (or `(B, C)`), with the source (pre-trained) maps detached. Summed, not averaged,
/// over the batch, as TLlib does.
pub fn attention_feature_loss(
    target_maps: &[Tensor],
    source_maps: &[Tensor],
    attention: &[Tensor],
) -> Result<Tensor> {
    if target_maps.is_empty()
        || target_maps.len() != source_maps.len()
        || target_maps.len() != attention.len()
    {
        return Err(NnError::Invalid(format!(
            "DELTA: need one source map and one attention vector per target map; got {} target \
             maps, {} source maps, {} attention vectors",
            target_maps.len(),
            source_maps.len(),
            attention.len()
        )));
    }
    let mut total: Option<Tensor> = None;
    for (l, ((t, s), a)) in target_maps
        .iter()
        .zip(source_maps)
        .zip(attention)
        .enumerate()
    {
        let size = t.size();
        if size != s.size() || size.len() < 2 || a.size() != [size[1]] {
            return Err(NnError::Invalid(format!(
                "DELTA: layer {l}: target map {size:?}, source map {:?} and attention {:?} do not \
                 fit (expected equal (B, C, ...) maps and a length-C attention)",
                s.size(),
                a.size()
            )));
        }
        let (b, c) = (size[0], size[1]);
        let hw: i64 = size[2..].iter().product();
        let d2 = t
            .f_sub(&s.f_detach()?)?
            .f_reshape([b, c, hw])?
            .f_square()?
            .f_sum_dim_intlist([2i64].as_slice(), false, None::<Kind>)?;
        let a = a.f_to_kind(t.kind())?.f_to_device(t.device())?;
        let term = d2
            .f_mul(&a)?
            .f_mul_scalar(c as f64 / hw as f64)?
            .f_sum(t.kind())?;
        total = Some(match total {
            None => term,
            Some(acc) => acc.f_add(&term)?,
        });
    }
    Ok(total.expect("maps checked non-empty").f_mul_scalar(0.5)?)
}

/// DELTA's whole regulariser: `alpha * attention_feature_loss + beta * 0.5 ||w_head||^2`.
#[derive(Debug)]
pub struct Delta {
    pub alpha: f64,
    pub beta: f64,
    /// Stage indices whose outputs are regularised.
    pub stages: Vec<usize>,
    /// One weight vector per stage, from [`delta_channel_attention`].
    pub attention: Vec<Tensor>,
}

impl Delta {
    /// TLlib's trade-offs for the backbone and the head.
    pub const DEFAULT_ALPHA: f64 = 0.01;
    pub const DEFAULT_BETA: f64 = 0.01;

    /// `target_maps` from the model being fine-tuned ([`stage_maps`] in training mode),
    /// `source_maps` from a frozen copy of the pre-trained backbone (inference mode, no autograd)
    /// on the same inputs, `head` the new head's parameters.
    pub fn penalty(
        &self,
        target_maps: &[Tensor],
        source_maps: &[Tensor],
        head: &[Tensor],
    ) -> Result<Tensor> {
        let mut total = attention_feature_loss(target_maps, source_maps, &self.attention)?
            .f_mul_scalar(self.alpha)?;
        if !head.is_empty() && self.beta > 0.0 {
            total = total.f_add(&l2_penalty(head)?.f_mul_scalar(self.beta)?)?;
        }
        Ok(total)
    }
}
