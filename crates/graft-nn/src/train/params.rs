//! Parameter groups: which of a model's parameters train, at what learning rate and with what
//! weight decay. Groups follow the backbone's stages, so freezing a prefix, a lower learning
//! rate for the backbone and layer-wise decay (as in BEiT and timm's `layer_decay`) are the
//! same mechanism for every architecture.

use crate::models::Backbone;
use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Tensor;

/// How learning rates and freezing are laid over the stages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupSpec {
    /// Learning rate of the head (and of everything when no other rate is given).
    pub lr: f64,
    /// Learning rate of the backbone's last stage; `None` uses `lr`.
    pub lr_backbone: Option<f64>,
    /// Each earlier stage's rate is this factor times the next one's (1 = no decay).
    pub layer_decay: f64,
    /// Stages up to and including this one are frozen: not trained, not differentiated.
    pub freeze_until: Option<String>,
    /// Freeze the whole backbone (train the head only: a linear probe trained end to end).
    pub freeze_backbone: bool,
    /// Apply weight decay to 1-D parameters (norm scales and biases) too; off by default, as
    /// in timm and Hugging Face.
    pub decay_norm_and_bias: bool,
    /// When not empty, only parameters whose names contain one of these parts train (with the
    /// head): the rest keep their values but still run with autograd, so that adapters inside
    /// them (LoRA's `lora_A.` / `lora_B.`) get gradients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub train_only: Vec<String>,
}

impl Default for GroupSpec {
    fn default() -> Self {
        GroupSpec {
            lr: 1e-3,
            lr_backbone: None,
            layer_decay: 1.0,
            freeze_until: None,
            freeze_backbone: false,
            decay_norm_and_bias: false,
            train_only: Vec::new(),
        }
    }
}

/// One trainable tensor with its settings.
#[derive(Debug)]
pub struct Param {
    pub name: String,
    pub tensor: Tensor,
    /// Index of its stage; `None` for the head.
    pub stage: Option<usize>,
    pub lr: f64,
    pub weight_decay: bool,
}

/// The trainable parameters, and how many stages run frozen before them.
#[derive(Debug)]
pub struct ParamGroups {
    pub params: Vec<Param>,
    /// Stages `0..frozen_stages` are frozen (0: none).
    pub frozen_stages: usize,
    pub frozen_count: i64,
    pub trainable_count: i64,
}

impl ParamGroups {
    /// Lays `spec` over the variables of `vs`, freezing (requires_grad off) what it says.
    pub fn new(vs: &VarStore, model: &dyn Backbone, spec: &GroupSpec) -> Result<Self> {
        let stages = model.stages();
        let frozen_stages = if spec.freeze_backbone {
            stages.len()
        } else {
            match &spec.freeze_until {
                None => 0,
                Some(s) => model.stage_position(Some(s))? + 1,
            }
        };
        if !(spec.lr > 0.0 && spec.lr.is_finite()) {
            return Err(NnError::Invalid(format!(
                "learning rate must be a positive number, got {}",
                spec.lr
            )));
        }
        if !(spec.layer_decay > 0.0 && spec.layer_decay <= 1.0) {
            return Err(NnError::Invalid(format!(
                "layer decay must be in (0, 1], got {}",
                spec.layer_decay
            )));
        }
        let head = model.head_prefix();
        let last = stages.len() - 1;
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let (mut params, mut frozen_count, mut trainable_count) = (Vec::new(), 0, 0);
        for (name, mut t) in vars {
            if !t.requires_grad() && !name.ends_with("weight") && !name.ends_with("bias") {
                continue; // buffers (running statistics)
            }
            let stage = if name.starts_with(head) {
                None
            } else {
                Some(
                    stages
                        .iter()
                        .position(|s| s.param_prefixes.iter().any(|p| name.starts_with(p)))
                        .unwrap_or(last),
                )
            };
            let kept = stage.is_some()
                && !spec.train_only.is_empty()
                && !spec.train_only.iter().any(|m| name.contains(m.as_str()));
            let frozen = kept || stage.is_some_and(|s| s < frozen_stages);
            if frozen {
                t = t.set_requires_grad(false);
                frozen_count += t.numel() as i64;
                continue;
            }
            let lr = match stage {
                None => spec.lr,
                Some(s) => {
                    spec.lr_backbone.unwrap_or(spec.lr) * spec.layer_decay.powi((last - s) as i32)
                }
            };
            trainable_count += t.numel() as i64;
            let weight_decay = spec.decay_norm_and_bias || t.dim() > 1;
            params.push(Param {
                name,
                tensor: t.set_requires_grad(true),
                stage,
                lr,
                weight_decay,
            });
        }
        if params.is_empty() {
            return Err(NnError::Invalid(
                "nothing left to train: every parameter is frozen".into(),
            ));
        }
        Ok(ParamGroups {
            params,
            frozen_stages,
            frozen_count,
            trainable_count,
        })
    }
}
