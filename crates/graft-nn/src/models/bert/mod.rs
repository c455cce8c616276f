//! BERT-family text encoders (BERT, MiniLM, DistilBERT) behind the [`Backbone`] trait, with the
//! key names of Hugging Face checkpoints, so that freezing, extraction at a stage and partial
//! fine-tuning work on text as on images.
//!
//! The trait carries one tensor between stages. For text that tensor must hold the attention
//! mask as well as the token states, so both travel packed:
//! - stage input: int64 `(N, 3, L)` rows of token ids, attention mask and token-type ids (see
//!   [`pack_tokens`]); `(N, 2, L)` without token types.
//! - stage output: float `(N, L, D + 1)`, the states with the mask appended as a last channel.
//!
//! Stages are `embeddings` and each encoder layer under its key prefix (`encoder.layer.3`,
//! `transformer.layer.3`); features are the pooled states ([`Pooling`]).

pub mod config;
mod layer;
pub mod load;
pub mod pooling;
pub mod tiny;

pub use config::{BertConfig, Family};
pub use load::{init_text_model, load_text_model, TextModel};
pub use pooling::{Pooling, PoolingMode};

use crate::models::layers::{classify, Linear};
use crate::models::lora::{AdaptedLinear, LoraSpec};
use crate::models::{Backbone, StageInfo};
use crate::{NnError, Result};
use layer::{dense, Embeddings, EncoderLayer};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use tch::nn::Path as VarPath;
use tch::{Kind, Tensor};

/// Key prefix of the classifier graft adds on top of the pooled features.
pub const HEAD_PREFIX: &str = "classifier.";

#[derive(Debug)]
pub struct Bert {
    config: BertConfig,
    embeddings: Embeddings,
    layers: Vec<EncoderLayer>,
    /// BERT's `pooler` (tanh of a dense layer on `[CLS]`): kept so that checkpoints load
    /// strictly, and adapted like any `dense` module so that adapter files have the keys PEFT
    /// expects; features come from [`Pooling`] instead.
    _pooler: Option<AdaptedLinear>,
    classifier: Option<Linear>,
    pooling: Pooling,
    stages: Vec<StageInfo>,
}

impl Bert {
    /// Builds the encoder under `p` (the VarStore root gives the checkpoint key names); with
    /// `num_classes`, a linear classifier on the pooled features; `lora` adds low-rank adapters
    /// to the linear layers it targets.
    pub fn new(
        p: &VarPath,
        config: &BertConfig,
        pooling: Pooling,
        num_classes: Option<i64>,
        lora: Option<&LoraSpec>,
    ) -> Bert {
        let c = config;
        let prefix = c.family.layer_prefix();
        let mut layer_path = p.clone();
        for part in prefix.split('.') {
            layer_path = layer_path.sub(part);
        }
        Bert {
            config: c.clone(),
            embeddings: Embeddings::new(&p.sub("embeddings"), c),
            layers: (0..c.num_layers)
                .map(|i| EncoderLayer::new(&layer_path.sub(i.to_string()), c, lora))
                .collect(),
            _pooler: (c.family == Family::Bert).then(|| {
                let q = p.sub("pooler").sub("dense");
                AdaptedLinear::new(&q, "dense", dense(&q, c.hidden_size, c.hidden_size), lora)
            }),
            classifier: num_classes.map(|k| dense(&p.sub("classifier"), c.hidden_size, k)),
            pooling,
            stages: stages(c),
        }
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Token states `(N, L, D)` after the last layer, for inputs packed by [`pack_tokens`].
    pub fn last_hidden_state(&self, tokens: &Tensor) -> Result<Tensor> {
        let last = self.stages.len() - 1;
        let h = self.forward_stages(tokens, 0, last, false)?;
        Ok(h.f_narrow(2, 0, self.config.hidden_size)?)
    }

    /// Checks the packed token input and splits it into ids, mask and token types.
    fn unpack(&self, x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let size = x.size();
        let ok = x.kind() == Kind::Int64 && size.len() == 3 && (size[1] == 2 || size[1] == 3);
        if !ok {
            return Err(NnError::Invalid(format!(
                "text model `{}`: expected int64 tokens of shape (N, 3, L) (ids, attention mask, \
                 token types); got {:?} of shape {size:?}",
                self.arch(),
                x.kind()
            )));
        }
        let len = size[2];
        if len > self.embeddings.max_positions() {
            return Err(NnError::Invalid(format!(
                "text model `{}`: {len} tokens exceed its {} positions; lower --max-length",
                self.arch(),
                self.embeddings.max_positions()
            )));
        }
        let ids = x.f_select(1, 0)?;
        let (lo, hi) = (ids.f_min()?.int64_value(&[]), ids.f_max()?.int64_value(&[]));
        if lo < 0 || hi >= self.embeddings.vocab_size() {
            return Err(NnError::Invalid(format!(
                "text model `{}`: token ids span {lo}..={hi}, outside its vocabulary of {}; the \
                 tokenizer does not belong to these weights",
                self.arch(),
                self.embeddings.vocab_size()
            )));
        }
        let mask = x.f_select(1, 1)?;
        let types = if size[1] == 3 {
            x.f_select(1, 2)?
        } else {
            ids.f_zeros_like()?
        };
        let types_max = types.f_max()?.int64_value(&[]);
        if types_max > 0 && types_max >= self.embeddings.type_vocab_size() {
            return Err(NnError::Invalid(format!(
                "text model `{}`: token type {types_max} is outside its {} types",
                self.arch(),
                self.embeddings.type_vocab_size()
            )));
        }
        Ok((ids, mask, types))
    }
}

/// Packs ids, attention mask and token types (each `n x len`, row-major) into the `(N, 3, L)`
/// int64 input of a text [`Backbone`].
pub fn pack_tokens(
    ids: &[i64],
    mask: &[i64],
    types: &[i64],
    n: usize,
    len: usize,
) -> Result<Tensor> {
    if ids.len() != n * len || mask.len() != n * len || types.len() != n * len {
        return Err(NnError::Invalid(format!(
            "token batch: {} ids, {} mask values and {} token types do not make {n} rows of {len}",
            ids.len(),
            mask.len(),
            types.len()
        )));
    }
    let shape = [n as i64, 1, len as i64];
    Ok(Tensor::f_cat(
        &[
            Tensor::from_slice(ids).f_view(shape)?,
            Tensor::from_slice(mask).f_view(shape)?,
            Tensor::from_slice(types).f_view(shape)?,
        ],
        1,
    )?)
}

fn stages(c: &BertConfig) -> Vec<StageInfo> {
    let d = c.hidden_size;
    let mut out = vec![StageInfo {
        name: "embeddings",
        dim: d,
        param_prefixes: vec!["embeddings.".into()],
    }];
    for i in 0..c.num_layers {
        let name = intern(format!("{}.{i}", c.family.layer_prefix()));
        out.push(StageInfo {
            name,
            dim: d,
            param_prefixes: vec![format!("{name}.")],
        });
    }
    out
}

/// Stage names are `&'static str` across the crate; text models have as many as their config
/// says, so each distinct name is allocated once and kept.
fn intern(s: String) -> &'static str {
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = set.get(s.as_str()) {
        return n;
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    set.insert(leaked);
    leaked
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| NnError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|e| NnError::BadWeights {
        path: path.to_path_buf(),
        what: format!("not valid JSON: {e}"),
    })
}

impl Backbone for Bert {
    fn arch(&self) -> &str {
        self.config.family.model_type()
    }

    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }

    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        let d = self.config.hidden_size;
        let (mut h, mask) = if from == 0 {
            let (ids, mask, types) = self.unpack(x)?;
            let h = self.embeddings.forward(&ids, &types, train)?;
            let mask = mask.f_to_kind(h.kind())?;
            (h, mask)
        } else {
            let size = x.size();
            if size.len() != 3 || size[2] != d + 1 {
                return Err(NnError::Invalid(format!(
                    "text model `{}`: stage {from} takes (N, L, {}) packed states; got {size:?}",
                    self.arch(),
                    d + 1
                )));
            }
            (x.f_narrow(2, 0, d)?, x.f_select(2, d)?)
        };
        // 0 where a key is kept, the most negative float where it is padding.
        let bias = mask
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_mul_scalar(f32::MIN as f64)?
            .f_view([mask.size()[0], 1, 1, mask.size()[1]])?
            .f_to_kind(h.kind())?;
        for i in from.max(1)..=to {
            h = self.layers[i - 1].forward(&h, &bias, train)?;
        }
        Ok(Tensor::f_cat(&[h, mask.f_unsqueeze(-1)?], 2)?)
    }

    fn pool_stage(&self, h: &Tensor, _stage: usize) -> Result<Tensor> {
        let d = self.config.hidden_size;
        self.pooling
            .apply(&h.f_narrow(2, 0, d)?, &h.f_select(2, d)?)
    }

    fn forward_head(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        classify(
            self.arch(),
            &self.classifier,
            features,
            Some(self.config.hidden_dropout),
            train,
        )
    }

    fn head_prefix(&self) -> &str {
        HEAD_PREFIX
    }

    fn input(&self) -> crate::models::ModelInput {
        crate::models::ModelInput::Tokens {
            max_positions: self.config.max_position_embeddings,
        }
    }
}
