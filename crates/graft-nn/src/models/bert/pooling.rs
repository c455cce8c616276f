//! How token states become one vector per text, as the model's own sentence-transformers files
//! say (`modules.json`, `1_Pooling/config.json`): the pooling a sentence encoder was trained with
//! is the one its embeddings are meant to be read with.

use super::read_json;
use crate::{NnError, Result};
use serde_json::Value;
use std::path::Path;
use tch::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolingMode {
    /// The first token's state (`[CLS]`).
    Cls,
    /// Mean over the tokens the attention mask keeps.
    Mean,
    /// Element-wise maximum over the kept tokens.
    Max,
    /// Sum over kept tokens divided by the square root of their count.
    MeanSqrtLen,
}

impl PoolingMode {
    pub fn name(self) -> &'static str {
        match self {
            PoolingMode::Cls => "cls",
            PoolingMode::Mean => "mean",
            PoolingMode::Max => "max",
            PoolingMode::MeanSqrtLen => "mean_sqrt_len",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "cls" => PoolingMode::Cls,
            "mean" => PoolingMode::Mean,
            "max" => PoolingMode::Max,
            "mean_sqrt_len" => PoolingMode::MeanSqrtLen,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pooling {
    pub mode: PoolingMode,
    /// L2-normalise the pooled vector (a `Normalize` module in `modules.json`).
    pub normalize: bool,
}

impl Default for Pooling {
    /// sentence-transformers' choice for a plain Transformers checkpoint: masked mean, no
    /// normalisation.
    fn default() -> Self {
        Pooling {
            mode: PoolingMode::Mean,
            normalize: false,
        }
    }
}

impl Pooling {
    /// The pooling of a model folder: from `modules.json` and the Pooling module's
    /// `config.json` when present, else [`Pooling::default`].
    pub fn from_model_dir(dir: &Path) -> Result<Self> {
        let modules_path = dir.join("modules.json");
        if !modules_path.is_file() {
            return Ok(Pooling::default());
        }
        let modules = read_json(&modules_path)?;
        let list = modules.as_array().ok_or_else(|| NnError::BadWeights {
            path: modules_path.clone(),
            what: "expected a JSON list of modules".into(),
        })?;
        let mut pooling = Pooling::default();
        for m in list {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
            let sub = m.get("path").and_then(Value::as_str).unwrap_or_default();
            if kind.ends_with(".Pooling") {
                let cfg_path = dir.join(sub).join("config.json");
                pooling.mode = mode_from_config(&cfg_path)?;
            } else if kind.ends_with(".Normalize") {
                pooling.normalize = true;
            }
        }
        Ok(pooling)
    }

    /// Pools `(N, L, D)` token states under `mask` `(N, L)` (1 keeps a token) into `(N, D)`.
    pub fn apply(&self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let m = mask.f_to_kind(hidden.kind())?.f_unsqueeze(-1)?;
        let pooled = match self.mode {
            PoolingMode::Cls => hidden.f_select(1, 0)?,
            PoolingMode::Mean | PoolingMode::MeanSqrtLen => {
                let sum = hidden
                    .f_mul(&m)?
                    .f_sum_dim_intlist(1, false, hidden.kind())?;
                // sentence-transformers clamps the count at 1e-9 so an all-padding row gives 0.
                let count = m
                    .f_sum_dim_intlist(1, false, hidden.kind())?
                    .f_clamp_min(1e-9)?;
                if self.mode == PoolingMode::Mean {
                    sum.f_div(&count)?
                } else {
                    sum.f_div(&count.f_sqrt()?)?
                }
            }
            PoolingMode::Max => {
                // Padding is set to -1e9 first, as sentence-transformers does.
                let masked = hidden.f_masked_fill(&m.f_eq(0.0)?, -1e9)?;
                masked.f_amax(1, false)?
            }
        };
        if self.normalize {
            // F.normalize(p=2, dim=1, eps=1e-12)
            let norm = pooled
                .f_norm_scalaropt_dim(2.0, 1, true)?
                .f_clamp_min(1e-12)?;
            Ok(pooled.f_div(&norm)?)
        } else {
            Ok(pooled)
        }
    }
}

fn mode_from_config(path: &Path) -> Result<PoolingMode> {
    let v = read_json(path)?;
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let on: Vec<PoolingMode> = [
        ("pooling_mode_cls_token", PoolingMode::Cls),
        ("pooling_mode_mean_tokens", PoolingMode::Mean),
        ("pooling_mode_max_tokens", PoolingMode::Max),
        (
            "pooling_mode_mean_sqrt_len_tokens",
            PoolingMode::MeanSqrtLen,
        ),
    ]
    .into_iter()
    .filter(|(k, _)| flag(k))
    .map(|(_, m)| m)
    .collect();
    match on.as_slice() {
        [one] => Ok(*one),
        [] => Err(NnError::BadWeights {
            path: path.to_path_buf(),
            what: "no pooling mode is switched on (pooling_mode_mean_tokens, \
                   pooling_mode_cls_token, ...)"
                .into(),
        }),
        _ => Err(NnError::BadWeights {
            path: path.to_path_buf(),
            what: format!(
                "{} pooling modes are switched on; graft supports exactly one (their \
                 concatenation is not supported)",
                on.len()
            ),
        }),
    }
}
