//! Low-rank adapters (Hu et al. 2021, eq. 3: `h = W0 x + (alpha / r) B A x`): a frozen linear
//! layer plus a trainable rank-`r` update, named as PEFT names them (`lora_A`, `lora_B`) so the
//! adapters graft trains load in PEFT and PEFT's load in graft.

use crate::models::layers::Linear;
use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::nn::VarStore;
use tch::nn::{Init, Path};
use tch::Tensor;

/// Which layers get adapters and how large they are (PEFT's `LoraConfig`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoraSpec {
    /// Rank `r` of the update.
    pub rank: i64,
    /// Scale numerator: the update is multiplied by `alpha / r`.
    pub alpha: f64,
    /// Dropout on the adapter's input (training only).
    pub dropout: f64,
    /// Module names that get adapters (the last part of the key: `query`, `value`, `q_lin`).
    pub targets: Vec<String>,
}

impl LoraSpec {
    /// PEFT's defaults for BERT-family encoders (`r` 8, alpha 8, query and value).
    pub fn new(rank: i64) -> Self {
        LoraSpec {
            rank,
            alpha: rank as f64,
            dropout: 0.0,
            targets: vec!["query".into(), "value".into()],
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.rank < 1 {
            return Err(NnError::Invalid(format!(
                "LoRA rank must be at least 1, got {}",
                self.rank
            )));
        }
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Err(NnError::Invalid(format!(
                "LoRA alpha must be a positive number, got {}",
                self.alpha
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(NnError::Invalid(format!(
                "LoRA dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if self.targets.is_empty() {
            return Err(NnError::Invalid(
                "LoRA needs at least one target module".into(),
            ));
        }
        Ok(())
    }

    /// True when the module called `name` (last key part) gets an adapter.
    pub fn targets(&self, name: &str) -> bool {
        self.targets.iter().any(|t| t == name)
    }

    /// `alpha / r`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }
}

/// Key parts that mark adapter tensors.
pub const LORA_MARKERS: [&str; 2] = ["lora_A.", "lora_B."];

/// A rank-`r` update of one linear layer.
#[derive(Debug)]
pub struct Lora {
    a: Tensor,
    b: Tensor,
    scale: f64,
    dropout: f64,
}

impl Lora {
    /// `A` as PEFT initialises it (PyTorch's default linear init, kaiming-uniform with
    /// `a = sqrt(5)`, i.e. uniform in `±1/sqrt(in)`), `B` zero: training starts from the frozen
    /// model exactly.
    pub fn new(p: &Path, in_features: i64, out_features: i64, spec: &LoraSpec) -> Self {
        let bound = 1.0 / (in_features as f64).sqrt();
        Lora {
            a: p.sub("lora_A").var(
                "weight",
                &[spec.rank, in_features],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            ),
            b: p.sub("lora_B")
                .var("weight", &[out_features, spec.rank], Init::Const(0.0)),
            scale: spec.scale(),
            dropout: spec.dropout,
        }
    }

    fn delta(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = x.f_dropout(self.dropout, train)?;
        Ok(x.f_linear::<Tensor>(&self.a, None)?
            .f_linear::<Tensor>(&self.b, None)?
            .f_mul_scalar(self.scale)?)
    }
}

/// A linear layer with an optional adapter.
#[derive(Debug)]
pub struct AdaptedLinear {
    base: Linear,
    lora: Option<Lora>,
}

impl AdaptedLinear {
    /// `base` created under `p`, with an adapter beside it when `spec` targets `name`.
    pub fn new(p: &Path, name: &str, base: Linear, spec: Option<&LoraSpec>) -> Self {
        let (out, inp) = (base.weight.size()[0], base.weight.size()[1]);
        let lora = spec
            .filter(|s| s.targets(name))
            .map(|s| Lora::new(p, inp, out, s));
        AdaptedLinear { base, lora }
    }

    /// Whether the layer carries an adapter.
    pub fn is_adapted(&self) -> bool {
        self.lora.is_some()
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.base.forward(x)?;
        match &self.lora {
            Some(l) => Ok(y.f_add(&l.delta(x, train)?)?),
            None => Ok(y),
        }
    }
}

/// Folds every adapter of `vs` into its base weight (`W += alpha / r * B A`, PEFT's
/// `merge_and_unload`) and returns the merged store's tensors without the adapters, under the
/// base model's own key names; `vs` itself is left as it was.
pub fn merged_tensors(vs: &VarStore, spec: &LoraSpec) -> Result<Vec<(String, Tensor)>> {
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let mut out = Vec::new();
    let mut merged = 0;
    tch::no_grad(|| -> Result<()> {
        for (name, t) in &vars {
            if LORA_MARKERS.iter().any(|m| name.contains(m)) {
                continue;
            }
            let base = name.strip_suffix("weight");
            let a = base.and_then(|b| vars.get(&format!("{b}lora_A.weight")));
            let b = base.and_then(|b| vars.get(&format!("{b}lora_B.weight")));
            let t = match (a, b) {
                (Some(a), Some(b)) => {
                    merged += 1;
                    t.f_add(&b.f_matmul(a)?.f_mul_scalar(spec.scale())?)?
                }
                _ => t.f_detach()?,
            };
            out.push((name.clone(), t));
        }
        Ok(())
    })?;
    if merged == 0 {
        return Err(NnError::Invalid(
            "no LoRA adapter found to merge (no lora_A / lora_B tensors)".into(),
        ));
    }
    Ok(out)
}

/// The adapters of `vs` under PEFT's key names (`base_model.model.<key>`, as
/// `get_peft_model_state_dict` saves a LoRA model around a bare encoder).
pub fn peft_tensors(vs: &VarStore) -> Vec<(String, Tensor)> {
    vs.variables()
        .into_iter()
        .filter(|(k, _)| LORA_MARKERS.iter().any(|m| k.contains(m)))
        .map(|(k, t)| (format!("base_model.model.{k}"), t))
        .collect()
}

/// PEFT's `adapter_config.json` for `spec` on the model at `base_model`.
pub fn peft_config(spec: &LoraSpec, base_model: &str) -> serde_json::Value {
    serde_json::json!({
        "peft_type": "LORA",
        "task_type": "FEATURE_EXTRACTION",
        "base_model_name_or_path": base_model,
        "r": spec.rank,
        "lora_alpha": spec.alpha,
        "lora_dropout": spec.dropout,
        "target_modules": spec.targets,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "modules_to_save": null,
        "use_rslora": false,
        "use_dora": false
    })
}
