//! The architecture of a BERT-family encoder as its Hugging Face `config.json` states it. BERT,
//! MiniLM and DistilBERT differ only in sizes and key names, so one network reads all of them
//! from this description.

use crate::{NnError, Result};
use serde_json::Value;
use std::path::Path;

/// Which key layout the checkpoint uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `BertModel`: `embeddings.*`, `encoder.layer.N.attention.self.query`, ... (BERT, MiniLM).
    Bert,
    /// `DistilBertModel`: `embeddings.*`, `transformer.layer.N.attention.q_lin`, ...; no token
    /// types, no pooler.
    DistilBert,
}

impl Family {
    /// Prefix of the encoder layers' keys (also the names of the stages).
    pub fn layer_prefix(self) -> &'static str {
        match self {
            Family::Bert => "encoder.layer",
            Family::DistilBert => "transformer.layer",
        }
    }

    /// The family a `config.json` `model_type` names, if graft builds it.
    pub fn from_model_type(model_type: &str) -> Option<Family> {
        match model_type {
            "bert" => Some(Family::Bert),
            "distilbert" => Some(Family::DistilBert),
            _ => None,
        }
    }

    /// The `model_type` of `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::DistilBert => "distilbert",
        }
    }
}

/// The feed-forward activation (`hidden_act` / `activation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU with erf (`gelu`).
    Gelu,
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    Relu,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    pub family: Family,
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_layers: usize,
    pub num_heads: i64,
    pub intermediate_size: i64,
    pub max_position_embeddings: i64,
    /// 0 for DistilBERT, which has no token-type embeddings.
    pub type_vocab_size: i64,
    pub layer_norm_eps: f64,
    pub activation: Activation,
    pub hidden_dropout: f64,
    pub attention_dropout: f64,
    pub pad_token_id: i64,
}

impl BertConfig {
    /// Reads `config.json`; every error names the file and the field.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_json(&super::read_json(path)?, path)
    }

    /// [`BertConfig::from_file`] on parsed JSON; `path` names the file in errors.
    pub fn from_json(v: &Value, path: &Path) -> Result<Self> {
        let bad = |what: String| NnError::BadWeights {
            path: path.to_path_buf(),
            what,
        };
        let model_type = v
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or("bert");
        let family = Family::from_model_type(model_type).ok_or_else(|| {
            bad(format!(
                "model_type `{model_type}` is not a BERT-family encoder graft can build \
                 (expected bert or distilbert)"
            ))
        })?;
        // DistilBERT names its sizes differently; both spellings are read the same way.
        let names = |bert: &'static str, distil: &'static str| match family {
            Family::Bert => bert,
            Family::DistilBert => distil,
        };
        let int = |key: &str, default: Option<i64>| -> Result<i64> {
            match v.get(key) {
                Some(x) => x.as_i64().filter(|&n| n >= 0).ok_or_else(|| {
                    bad(format!(
                        "field `{key}` must be a non-negative integer, got {x}"
                    ))
                }),
                None => default.ok_or_else(|| bad(format!("field `{key}` is missing"))),
            }
        };
        let float = |key: &str, default: f64| -> Result<f64> {
            match v.get(key) {
                Some(Value::Null) | None => Ok(default),
                Some(x) => x
                    .as_f64()
                    .filter(|p| (0.0..1.0).contains(p))
                    .ok_or_else(|| {
                        bad(format!("field `{key}` must be a number in [0, 1), got {x}"))
                    }),
            }
        };
        let act_key = names("hidden_act", "activation");
        let activation = match v.get(act_key).and_then(Value::as_str).unwrap_or("gelu") {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(bad(format!(
                "field `{act_key}`: activation `{other}` is not supported (gelu, gelu_new, relu)"
            )))
            }
        };
        let cfg = BertConfig {
            family,
            vocab_size: int("vocab_size", None)?,
            hidden_size: int(names("hidden_size", "dim"), None)?,
            num_layers: int(names("num_hidden_layers", "n_layers"), None)? as usize,
            num_heads: int(names("num_attention_heads", "n_heads"), None)?,
            intermediate_size: int(names("intermediate_size", "hidden_dim"), None)?,
            max_position_embeddings: int("max_position_embeddings", Some(512))?,
            type_vocab_size: match family {
                Family::Bert => int("type_vocab_size", Some(2))?,
                Family::DistilBert => 0,
            },
            layer_norm_eps: match family {
                Family::Bert => v
                    .get("layer_norm_eps")
                    .and_then(Value::as_f64)
                    .unwrap_or(1e-12),
                Family::DistilBert => 1e-12,
            },
            activation,
            hidden_dropout: float(names("hidden_dropout_prob", "dropout"), 0.1)?,
            attention_dropout: float(
                names("attention_probs_dropout_prob", "attention_dropout"),
                0.1,
            )?,
            pad_token_id: int("pad_token_id", Some(0))?,
        };
        if v.get("position_embedding_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "absolute")
        {
            return Err(bad(
                "field `position_embedding_type`: only absolute position embeddings are supported"
                    .into(),
            ));
        }
        // DistilBERT's `sinusoidal_pos_embds` needs nothing here: the table is stored in the
        // checkpoint like a learned one, so it loads and runs the same way.
        if cfg.num_layers == 0 || cfg.hidden_size == 0 || cfg.num_heads == 0 {
            return Err(bad(
                "the encoder needs at least one layer, a hidden size and one attention head".into(),
            ));
        }
        if cfg.hidden_size % cfg.num_heads != 0 {
            return Err(bad(format!(
                "hidden size {} is not divisible by the {} attention heads",
                cfg.hidden_size, cfg.num_heads
            )));
        }
        if cfg.num_layers > 256 || cfg.hidden_size > 65536 || cfg.vocab_size > 10_000_000 {
            return Err(bad(format!(
                "implausible sizes ({} layers, hidden {}, vocabulary {}); refusing to allocate",
                cfg.num_layers, cfg.hidden_size, cfg.vocab_size
            )));
        }
        Ok(cfg)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_heads
    }
}
