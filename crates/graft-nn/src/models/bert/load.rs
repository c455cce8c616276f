//! Opening a text model as Hugging Face and sentence-transformers save it: one folder with
//! `config.json`, the weights, `tokenizer.json`, and optionally the sentence-transformers files
//! that say how to pool and how long a text may be.

use super::{read_json, Bert, BertConfig, Family, Pooling, HEAD_PREFIX};
use crate::models::lora::{LoraSpec, LORA_MARKERS};
use crate::weights::{self, LoadOptions, StateDict};
use crate::{NnError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::Device;

/// Key prefixes of task models around the encoder (`BertForSequenceClassification` keeps the
/// encoder under `bert.`), stripped so that any of them loads as the bare encoder.
const WRAPPER_PREFIXES: &[&str] = &["bert.", "distilbert.", "model."];
/// Keys of pre-training or task heads that graft does not build (masked-LM and next-sentence
/// heads, DistilBERT's extra classifier layer): left out and counted.
const FOREIGN_HEADS: &[&str] = &[
    "cls.",
    "vocab_transform.",
    "vocab_layer_norm.",
    "vocab_projector.",
    "pre_classifier.",
    "qa_outputs.",
];

/// A loaded text encoder and everything needed to feed it.
pub struct TextModel {
    pub vs: VarStore,
    pub model: Bert,
    /// The folder it came from.
    pub dir: PathBuf,
    pub weights: PathBuf,
    pub weights_sha256: String,
    /// `tokenizer.json` of the folder.
    pub tokenizer: PathBuf,
    /// The length the model was trained for: sentence-transformers' `max_seq_length`, else the
    /// position table's size.
    pub max_length: usize,
    /// Tensors loaded into the model.
    pub loaded: usize,
    /// File keys left out (heads graft does not build, buffers), sorted.
    pub skipped: Vec<String>,
}

/// Where a text model lives: a folder, or `hf:ORG/NAME[@REV]` in the Hugging Face cache.
pub fn resolve_model_dir(spec: &str) -> Result<PathBuf> {
    if spec.starts_with("hf:") {
        let file = weights::hf::resolve(spec)?;
        return Ok(file.parent().map(Path::to_path_buf).unwrap_or_default());
    }
    let dir = PathBuf::from(spec);
    if !dir.is_dir() {
        return Err(NnError::BadWeights {
            path: dir,
            what: "a text model is a folder holding config.json, tokenizer.json and the weights \
                   (as Hugging Face and sentence-transformers save them)"
                .into(),
        });
    }
    Ok(dir)
}

/// True when `spec` names a text model folder (its `config.json` has a BERT-family
/// `model_type`), so commands can take text models and image models through one argument.
pub fn is_text_model(spec: &str) -> bool {
    let Ok(dir) = resolve_model_dir(spec) else {
        return false;
    };
    let Ok(v) = read_json(&dir.join("config.json")) else {
        return false;
    };
    v.get("model_type")
        .and_then(Value::as_str)
        .and_then(Family::from_model_type)
        .is_some()
}

/// The folder of the text model `spec` and its configuration.
fn open_config(spec: &str) -> Result<(PathBuf, BertConfig)> {
    let dir = resolve_model_dir(spec)?;
    let config = BertConfig::from_file(&dir.join("config.json"))?;
    Ok((dir, config))
}

/// The `tokenizer.json` of the text model `spec`, with an error saying how to add one.
pub fn tokenizer_file(spec: &str) -> Result<PathBuf> {
    tokenizer_in(&resolve_model_dir(spec)?)
}

fn tokenizer_in(dir: &Path) -> Result<PathBuf> {
    let tokenizer = dir.join("tokenizer.json");
    if !tokenizer.is_file() {
        return Err(NnError::BadWeights {
            path: dir.to_path_buf(),
            what: "no tokenizer.json (the Hugging Face fast-tokenizer file); save the tokenizer \
                   with the model (tokenizer.save_pretrained)"
                .into(),
        });
    }
    Ok(tokenizer)
}

/// Stage names of the text model `spec`, from its configuration alone (no weights read).
pub fn text_stage_names(spec: &str) -> Result<Vec<&'static str>> {
    let (_, config) = open_config(spec)?;
    Ok(super::stages(&config).iter().map(|s| s.name).collect())
}

/// The encoder of the folder `spec` as its configuration describes it (with a classifier of
/// `classes` outputs when asked, and `lora` adapters), its variables as tch creates them: what
/// [`load_text_model`] loads weights into and [`init_text_model`] initialises.
fn build(
    spec: &str,
    classes: Option<i64>,
    device: Device,
    lora: Option<&LoraSpec>,
) -> Result<(TextModel, BertConfig)> {
    let (dir, config) = open_config(spec)?;
    let pooling = Pooling::from_model_dir(&dir)?;
    let tokenizer = tokenizer_in(&dir)?;
    let (max_length, _) = lengths(&dir, &config)?;
    if let Some(l) = lora {
        l.validate()?;
    }
    let vs = VarStore::new(device);
    let model = Bert::new(&vs.root(), &config, pooling, classes, lora);
    let tm = TextModel {
        vs,
        model,
        dir,
        weights: PathBuf::new(),
        weights_sha256: String::new(),
        tokenizer,
        max_length,
        loaded: 0,
        skipped: Vec::new(),
    };
    Ok((tm, config))
}

/// Builds the encoder of the folder `spec` (with a classifier of `classes` outputs when asked)
/// and loads its weights strictly. With `new_head`, a classifier in the file is left out so a
/// fresh one, sized to the new task, is trained. `lora` adds fresh adapters (not in the file).
pub fn load_text_model(
    spec: &str,
    classes: Option<i64>,
    device: Device,
    new_head: bool,
    lora: Option<&LoraSpec>,
) -> Result<TextModel> {
    let (mut tm, config) = build(spec, classes, device, lora)?;
    let weights_path = weights::hf::weights_file_in(&tm.dir)?;
    let file = weights::read(&weights_path)?;
    let (sd, mut skipped) = encoder_keys(file, new_head);
    let mut ignore_suffixes = vec!["position_ids".to_string(), "num_batches_tracked".into()];
    if lora.is_some() {
        ignore_suffixes.extend(LORA_MARKERS.iter().map(|m| format!("{m}weight")));
    }
    let opts = LoadOptions {
        skip_head: new_head.then(|| HEAD_PREFIX.to_string()),
        ignore_suffixes,
    };
    let report = weights::load_into(
        &mut tm.vs,
        &sd,
        &opts,
        config.family.model_type(),
        &weights_path,
    )?;
    skipped.extend(report.skipped);
    skipped.sort();
    tm.weights_sha256 = weights::sha256_file(&weights_path)?;
    tm.weights = weights_path;
    tm.loaded = report.loaded;
    tm.skipped = skipped;
    Ok(tm)
}

/// Builds the encoder of the folder `spec` (with a classifier of `classes` outputs) from its
/// configuration alone, with random weights drawn as Hugging Face initialises a BERT-family
/// model before training (`BertPreTrainedModel._init_weights`): linear and embedding weights
/// from N(0, `initializer_range`), biases zero, LayerNorm scales one and shifts zero. The
/// from-scratch baseline of a text task: the same architecture and tokenizer, nothing learned.
/// (The padding row of the word embeddings is drawn like the others, not zeroed.)
///
/// `lora` adds adapters (their own initialisation: `A` random, `B` zero), so that a LoRA run's
/// saved tensors can be loaded over the result.
pub fn init_text_model(
    spec: &str,
    classes: Option<i64>,
    device: Device,
    lora: Option<&LoraSpec>,
) -> Result<TextModel> {
    let (mut tm, _) = build(spec, classes, device, lora)?;
    let std = read_json(&tm.dir.join("config.json"))?
        .get("initializer_range")
        .and_then(Value::as_f64)
        .unwrap_or(0.02);
    tch::no_grad(|| -> Result<()> {
        for (name, mut t) in tm.vs.variables() {
            if LORA_MARKERS.iter().any(|m| name.contains(m)) {
                continue; // the adapters keep the initialisation LoRA gives them
            }
            let norm = name.contains("LayerNorm") || name.contains("layer_norm");
            if norm && name.ends_with(".weight") {
                let _ = t.f_fill_(1.0)?;
            } else if name.ends_with(".bias") {
                let _ = t.f_zero_()?;
            } else {
                t.f_copy_(&t.f_randn_like()?.f_mul_scalar(std)?)?;
            }
        }
        Ok(())
    })?;
    tm.weights_sha256 = "random-init".into();
    Ok(tm)
}

/// The file's tensors under the bare encoder's names; heads graft does not build are returned
/// separately. Without `new_head` a checkpoint classifier is kept (it must then match).
fn encoder_keys(file: StateDict, new_head: bool) -> (StateDict, Vec<String>) {
    let mut out = StateDict::default();
    let mut skipped = Vec::new();
    for (key, t) in file.tensors {
        let bare = WRAPPER_PREFIXES
            .iter()
            .find_map(|p| key.strip_prefix(p))
            .unwrap_or(&key)
            .to_string();
        let foreign = FOREIGN_HEADS.iter().any(|p| bare.starts_with(p))
            || (new_head && bare.starts_with(HEAD_PREFIX));
        if foreign {
            skipped.push(key);
        } else {
            out.insert(bare, t);
        }
    }
    (out, skipped)
}

/// The token limits of the text model `spec`: the length it was trained for (default of
/// `--max-length`) and the size of its position table (the most it can take).
pub fn model_max_length(spec: &str) -> Result<(usize, usize)> {
    let (dir, config) = open_config(spec)?;
    lengths(&dir, &config)
}

fn lengths(dir: &Path, config: &BertConfig) -> Result<(usize, usize)> {
    let positions = config.max_position_embeddings as usize;
    let trained = max_seq_length(dir)?.unwrap_or(positions).min(positions);
    Ok((trained, positions))
}

/// `max_seq_length` of `sentence_bert_config.json`, when the folder has one.
fn max_seq_length(dir: &Path) -> Result<Option<usize>> {
    let path = dir.join("sentence_bert_config.json");
    if !path.is_file() {
        return Ok(None);
    }
    let v = read_json(&path)?;
    match v.get("max_seq_length") {
        None | Some(Value::Null) => Ok(None),
        Some(x) => match x.as_u64() {
            Some(n) if n > 0 => Ok(Some(n as usize)),
            _ => Err(NnError::BadWeights {
                path,
                what: format!("field `max_seq_length` must be a positive integer, got {x}"),
            }),
        },
    }
}
