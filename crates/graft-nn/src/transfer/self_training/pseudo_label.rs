//! Self-training: which unlabelled target samples to trust with the model's own predictions.

use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// How confident a prediction must be to become a pseudo-label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PseudoLabelRule {
    /// Lee 2013 (as in TLlib's `ConfidenceBasedSelfTrainingLoss`): keep a sample when its top
    /// probability is at least `threshold`; its label is the argmax.
    Confidence { threshold: f64 },
    /// Zou et al. 2018 (CBST), sec. 3, class-balanced self-training: per class `c`, `lambda_c` is
    /// the confidence of the last of the top `fraction` of the samples predicted as `c` (sorted
    /// descending); a sample is kept when `max_c p_c / lambda_c >= 1`, labelled with that argmax.
    /// Every class then contributes about the same share of its predictions, so frequent, easy
    /// classes do not crowd the others out. A class with too few predictions for one selection
    /// keeps `lambda_c = 1`.
    ClassBalanced { fraction: f64 },
}

/// The selected samples, in increasing index order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PseudoLabels {
    /// Row indices into the probabilities.
    pub indices: Vec<i64>,
    pub labels: Vec<i64>,
    /// The selected class's probability.
    pub confidence: Vec<f64>,
}

impl PseudoLabels {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Picks pseudo-labels from class probabilities `probs` `(N, C)` (softmax outputs) by `rule`.
pub fn select_pseudo_labels(probs: &Tensor, rule: &PseudoLabelRule) -> Result<PseudoLabels> {
    let size = probs.size();
    if size.len() != 2 || size[1] < 1 {
        return Err(NnError::Invalid(format!(
            "pseudo-labels: probabilities must be an (N, C) matrix; got shape {size:?}"
        )));
    }
    let (n, c) = (size[0] as usize, size[1] as usize);
    let p: Vec<f64> = Vec::try_from(
        probs
            .f_detach()?
            .f_to_device(tch::Device::Cpu)?
            .f_to_kind(Kind::Double)?
            .f_reshape([-1])?,
    )?;
    if let Some(bad) = p.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(NnError::Invalid(format!(
            "pseudo-labels: probabilities must be finite and non-negative; row {} column {} is {}",
            bad / c.max(1),
            bad % c.max(1),
            p[bad]
        )));
    }
    let row = |i: usize| &p[i * c..(i + 1) * c];
    // First index of the largest value, as torch.max does.
    let argmax = |r: &[f64]| {
        r.iter()
            .enumerate()
            .fold((0usize, f64::NEG_INFINITY), |best, (j, &v)| {
                if v > best.1 {
                    (j, v)
                } else {
                    best
                }
            })
    };
    let mut out = PseudoLabels::default();
    match *rule {
        PseudoLabelRule::Confidence { threshold } => {
            if !(0.0..=1.0).contains(&threshold) {
                return Err(NnError::Invalid(format!(
                    "pseudo-labels: confidence threshold must be in [0, 1]; got {threshold}"
                )));
            }
            for i in 0..n {
                let (j, v) = argmax(row(i));
                if v >= threshold {
                    out.indices.push(i as i64);
                    out.labels.push(j as i64);
                    out.confidence.push(v);
                }
            }
        }
        PseudoLabelRule::ClassBalanced { fraction } => {
            if !(fraction > 0.0 && fraction <= 1.0) {
                return Err(NnError::Invalid(format!(
                    "pseudo-labels: class-balanced fraction must be in (0, 1]; got {fraction}"
                )));
            }
            let mut per_class: Vec<Vec<f64>> = vec![Vec::new(); c];
            for i in 0..n {
                let (j, v) = argmax(row(i));
                per_class[j].push(v);
            }
            let lambda: Vec<f64> = per_class
                .iter_mut()
                .map(|conf| {
                    conf.sort_by(|a, b| b.total_cmp(a));
                    let take = (conf.len() as f64 * fraction).floor() as usize;
                    if take == 0 {
                        1.0
                    } else {
                        conf[take - 1].max(f64::MIN_POSITIVE)
                    }
                })
                .collect();
            for i in 0..n {
                let r = row(i);
                let scaled: Vec<f64> = r.iter().zip(&lambda).map(|(v, l)| v / l).collect();
                let (j, s) = argmax(&scaled);
                if s >= 1.0 {
                    out.indices.push(i as i64);
                    out.labels.push(j as i64);
                    out.confidence.push(r[j]);
                }
            }
        }
    }
    Ok(out)
}
