//! Features of texts from a BERT-family encoder, the text half of `graft extract` (and so of
//! `probe`, `rank` and the feature cache): texts are tokenised, run through the frozen encoder
//! in batches of similar length (padding costs as much as real tokens), pooled as the model's
//! own configuration says, and written back in the dataset's order.

use crate::extract::{Extracted, Request};
use crate::observe::{Observer, Task};
use anyhow::{bail, Context};
use graft_data::features::FeatureSet;
use graft_data::text::{open_text, TextDataset, TextOptions, TextTokenizer};
use graft_nn::models::bert::load::{model_max_length, resolve_model_dir};
use graft_nn::models::bert::{load_text_model, pack_tokens, TextModel};
use graft_nn::models::Backbone;
use std::collections::BTreeMap;
use tch::{Device, Kind};

/// How texts are read and cut, shared by every command that extracts features.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TextArgs {
    /// Text data (JSONL, CSV/TSV): the field or column holding the text
    #[cfg_attr(feature = "clap", arg(long, default_value = "text"))]
    pub text_column: String,
    /// Text data (JSONL, CSV/TSV): the field or column holding the label
    #[cfg_attr(feature = "clap", arg(long, default_value = "label"))]
    pub label_column: String,
    /// Text models: tokens kept per text, special tokens included (longer texts are cut and
    /// counted); default: the model's own max_seq_length
    #[cfg_attr(feature = "clap", arg(long))]
    pub max_length: Option<usize>,
    /// Text data: leave empty texts out (counted) instead of stopping at the first
    #[cfg_attr(feature = "clap", arg(long))]
    pub skip_empty: bool,
}

impl Default for TextArgs {
    fn default() -> Self {
        TextArgs {
            text_column: "text".into(),
            label_column: "label".into(),
            max_length: None,
            skip_empty: false,
        }
    }
}

impl TextArgs {
    pub fn options(&self) -> TextOptions {
        TextOptions {
            text_column: self.text_column.clone(),
            label_column: Some(self.label_column.clone()),
            skip_empty: self.skip_empty,
        }
    }

    /// The token limit for the text model `spec`: `--max-length`, else the model's own, never
    /// above its position table.
    pub fn max_length(&self, spec: &str) -> anyhow::Result<usize> {
        let (trained, positions) = model_max_length(spec)?;
        match self.max_length {
            None => Ok(trained),
            Some(n) if n > positions => {
                bail!("--max-length {n} exceeds the {positions} positions of {spec}")
            }
            Some(n) => Ok(n),
        }
    }
}

/// Reads the texts of `r.data` as `r.text` says.
pub fn open_texts(r: &Request<'_>) -> anyhow::Result<TextDataset> {
    open_text(r.data, &r.text.options())
        .with_context(|| format!("reading the texts at {}", r.data.display()))
}

/// Runs the text encoder `r.model` (a model folder) once over `r.data`.
pub fn extract_text(r: &Request<'_>, obs: &mut dyn Observer) -> anyhow::Result<Extracted> {
    if r.weights.is_some() {
        bail!(
            "--weights does not apply to a text model: {} holds its own weights",
            r.model
        );
    }
    if r.with_source_probs {
        bail!(
            "{} is an encoder without a source classifier, so source-label scores (LEEP, NCE) \
             cannot be computed for it; use LogME or H-score",
            r.model
        );
    }
    tch::manual_seed(r.seed as i64);
    let tm = load_text_model(r.model, None, r.device, true, None)?;
    let max_length = r.text.max_length(r.model)?;
    let tok = TextTokenizer::from_file(&tm.tokenizer, max_length)?;
    let ds = open_texts(r)?;
    let model = &tm.model;
    let at = model.stage_position(r.stage)?;
    let stage = model.stages()[at].name.to_string();

    let texts: Vec<&str> = ds.texts.iter().map(String::as_str).collect();
    let lengths = tok.token_lengths(&texts)?;
    // Longest first: batches of similar length waste little on padding, and the slowest batch
    // comes first, so the progress bar's rate is an honest lower bound.
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(lengths[i]), i));

    let n = texts.len();
    let d = model.stages()[at].dim as usize;
    let mut features = vec![0f32; n * d];
    let mut truncated = 0usize;
    let mut task = Task::start(obs, &format!("{} {stage}", model.arch()), n as u64, "texts");
    let _guard = tch::no_grad_guard();
    let _autocast = graft_nn::precision::Autocast::enter(r.precision, r.device);
    for chunk in order.chunks(r.batch_size) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let b = tok.encode_batch(&batch)?;
        truncated += b.truncated;
        let x = pack_tokens(&b.ids, &b.attention_mask, &b.type_ids, b.batch, b.len)?
            .f_to_device(r.device)?;
        let raw = model.forward_stages(&x, 0, at, false)?;
        let f = model
            .pool_stage(&raw, at)?
            .f_to_kind(Kind::Float)?
            .f_to_device(Device::Cpu)?
            .f_contiguous()?;
        let rows = Vec::<f32>::try_from(f.f_flatten(0, -1)?)?;
        for (k, &i) in chunk.iter().enumerate() {
            features[i * d..(i + 1) * d].copy_from_slice(&rows[k * d..(k + 1) * d]);
        }
        task.advance(chunk.len() as u64);
    }
    drop(task);

    let mut meta = BTreeMap::new();
    meta.insert("model".into(), tm.dir.display().to_string());
    meta.insert("precision".into(), r.precision.to_string());
    meta.insert("architecture".into(), model.arch().to_string());
    meta.insert("weights".into(), tm.weights.display().to_string());
    meta.insert("weights_sha256".into(), tm.weights_sha256.clone());
    meta.insert("stage".into(), stage);
    meta.insert("pooling".into(), pooling_name(&tm));
    meta.insert("max_length".into(), max_length.to_string());
    meta.insert("texts_truncated".into(), truncated.to_string());
    meta.insert("texts_skipped_empty".into(), ds.skipped_empty.to_string());
    meta.insert("data".into(), r.data.display().to_string());
    meta.insert(
        "graft_version".into(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    Ok(Extracted {
        set: FeatureSet {
            features,
            n,
            d,
            labels: ds.labels.clone(),
            class_names: ds.class_names.clone(),
            paths: Vec::new(),
            metadata: meta,
        },
        skipped: Vec::new(),
        source_probs: None,
    })
}

/// Feeds `put` everything that determines the features of `r` (model files, stage, token limit,
/// how texts are read, and the texts and labels themselves), for the feature cache's key.
pub fn describe(r: &Request<'_>, put: &mut dyn FnMut(&str)) -> anyhow::Result<()> {
    let dir = resolve_model_dir(r.model)?;
    let weights = graft_nn::weights::hf::weights_file_in(&dir)?;
    put("graft-text-features-v1");
    for file in [dir.join("config.json"), weights, dir.join("tokenizer.json")] {
        put(&graft_nn::weights::sha256_file(&file)?);
    }
    for file in [
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
    ] {
        put(&std::fs::read_to_string(dir.join(file)).unwrap_or_default());
    }
    put(r.stage.unwrap_or("(last)"));
    put(&format!("{:?}", r.text.max_length));
    put(&format!("{:?}", r.text.options()));
    let ds = open_texts(r)?;
    for c in &ds.class_names {
        put(c);
    }
    for (t, l) in ds.texts.iter().zip(&ds.labels) {
        put(t);
        put(&l.to_string());
    }
    Ok(())
}

fn pooling_name(tm: &TextModel) -> String {
    let p = tm.model.pooling();
    if p.normalize {
        format!("{}+l2", p.mode.name())
    } else {
        p.mode.name().to_string()
    }
}
