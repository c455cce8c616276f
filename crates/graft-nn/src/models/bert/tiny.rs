//! A small randomly initialised text model folder (configuration, weights and a WordPiece
//! tokenizer over a fixed English word list), laid out as Hugging Face saves one. Tests and
//! examples use it where a real encoder would be a download.

use super::{Bert, BertConfig, Pooling};
use crate::weights::save::save_tensors;
use crate::{NnError, Result};
use serde_json::{json, Value};
use std::path::Path;
use tch::nn::VarStore;
use tch::Device;

const SPECIAL: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const WORDS: &[&str] = &[
    "the",
    "a",
    "is",
    "it",
    "this",
    "and",
    "not",
    "very",
    "good",
    "great",
    "excellent",
    "love",
    "bad",
    "poor",
    "terrible",
    "hate",
    "book",
    "film",
    "story",
    "blender",
    "kettle",
    "broke",
    "works",
    "fine",
    "boring",
    "fun",
    "read",
    "watch",
    "buy",
    "again",
    "never",
    "best",
    "worst",
    "!",
    ".",
    ",",
    "##s",
    "##ly",
    "##ed",
];

/// Writes `config.json`, `model.safetensors` (seeded by `seed`) and `tokenizer.json` of a
/// 2-layer, 16-wide `model_type` (`bert` or `distilbert`) encoder into `dir`, with keys under
/// `prefix` (empty for a bare encoder, `bert.` as a task model saves them).
pub fn write_tiny_model(dir: &Path, model_type: &str, prefix: &str, seed: i64) -> Result<()> {
    let vocab = SPECIAL.len() + WORDS.len();
    let config = tiny_config(model_type, vocab as i64);
    let io = |e| NnError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("config.json"), config.to_string()).map_err(io)?;
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).map_err(io)?;
    let cfg = BertConfig::from_json(&config, &dir.join("config.json"))?;
    tch::manual_seed(seed);
    let vs = VarStore::new(Device::Cpu);
    let _model = Bert::new(&vs.root(), &cfg, Pooling::default(), None, None);
    let named: Vec<_> = vs
        .variables()
        .into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v))
        .collect();
    save_tensors(&named, &dir.join("model.safetensors"), &Default::default())
}

/// The configuration of [`write_tiny_model`]'s encoder.
pub fn tiny_config(model_type: &str, vocab: i64) -> Value {
    match model_type {
        "distilbert" => json!({"model_type": "distilbert", "vocab_size": vocab, "dim": 16,
            "n_layers": 2, "n_heads": 4, "hidden_dim": 32, "max_position_embeddings": 20}),
        _ => json!({"model_type": "bert", "vocab_size": vocab, "hidden_size": 16,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 32,
            "max_position_embeddings": 20, "type_vocab_size": 2}),
    }
}

/// A BERT-style (lower-casing, WordPiece, `[CLS] ... [SEP]`) `tokenizer.json`.
fn tokenizer_json() -> Value {
    let vocab: serde_json::Map<String, Value> = SPECIAL
        .iter()
        .chain(WORDS)
        .enumerate()
        .map(|(i, w)| (w.to_string(), json!(i)))
        .collect();
    let added: Vec<Value> = SPECIAL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
                       "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
}
