//! Building a registry model and loading weights into it, shared by every subcommand that
//! runs a network.

use anyhow::Context;
use graft_nn::models::lora::{LoraSpec, LORA_MARKERS};
use graft_nn::models::{find, Backbone};
use graft_nn::weights::{self, LoadOptions};
use std::path::PathBuf;
use tch::nn::VarStore;
use tch::Device;

/// Where the weights came from, for recipes and summaries.
#[derive(Clone, Debug)]
pub struct WeightsInfo {
    pub path: PathBuf,
    pub sha256: String,
    pub loaded: usize,
}

pub struct LoadedModel {
    pub vs: VarStore,
    pub model: Box<dyn Backbone>,
    pub weights: Option<WeightsInfo>,
}

/// Builds the text model in the folder `spec` with a fresh head of `classes` outputs (and
/// fresh adapters when `lora` is given) and loads the folder's weights; without `pretrained`,
/// the folder gives only the architecture and the weights are drawn at random (training from
/// scratch).
pub fn load_text(
    spec: &str,
    classes: i64,
    device: Device,
    lora: Option<&LoraSpec>,
    pretrained: bool,
) -> anyhow::Result<LoadedModel> {
    let tm = if pretrained {
        graft_nn::models::bert::load_text_model(spec, Some(classes), device, true, lora)
    } else {
        graft_nn::models::bert::init_text_model(spec, Some(classes), device, None)
    }
    .with_context(|| format!("loading the text model {spec}"))?;
    if !pretrained {
        return Ok(LoadedModel {
            vs: tm.vs,
            model: Box::new(tm.model),
            weights: None,
        });
    }
    tracing::info!(loaded = tm.loaded, skipped = tm.skipped.len(), "weights");
    Ok(LoadedModel {
        vs: tm.vs,
        model: Box::new(tm.model),
        weights: Some(WeightsInfo {
            path: tm.weights,
            sha256: tm.weights_sha256,
            loaded: tm.loaded,
        }),
    })
}

/// Builds `name` with a head of `classes` outputs (none when `None`) and loads `weights`.
/// With `new_head`, the checkpoint's classifier is left out, so the head starts fresh (sized to
/// the new task); otherwise every key must match.
pub fn load(
    name: &str,
    weights_spec: Option<&str>,
    classes: Option<i64>,
    device: Device,
    new_head: bool,
) -> anyhow::Result<LoadedModel> {
    load_adapted(name, weights_spec, classes, device, new_head, None)
}

/// [`load`] with LoRA adapters on the layers `lora` targets. A file without adapters (the
/// pretrained weights) leaves them at their initialisation; a file with them (an unmerged
/// LoRA run's `model.safetensors`) loads them too, strictly.
pub fn load_adapted(
    name: &str,
    weights_spec: Option<&str>,
    classes: Option<i64>,
    device: Device,
    new_head: bool,
    lora: Option<&LoraSpec>,
) -> anyhow::Result<LoadedModel> {
    let spec = find(name)?;
    let mut vs = VarStore::new(device);
    let model = spec.build_adapted(&vs.root(), classes, lora)?;
    let weights = match weights_spec {
        None => None,
        Some(w) => {
            let path = weights::resolve(w)?;
            let sd = weights::read(&path)?;
            let is_adapter = |k: &str| LORA_MARKERS.iter().any(|m| k.contains(m));
            let mut opts = LoadOptions {
                skip_head: new_head.then(|| model.head_prefix().to_string()),
                ..LoadOptions::default()
            };
            if lora.is_some() && !sd.tensors.keys().any(|k| is_adapter(k)) {
                opts.ignore_suffixes
                    .extend(LORA_MARKERS.iter().map(|m| format!("{m}weight")));
            }
            let report = weights::load_into(&mut vs, &sd, &opts, spec.name, &path)
                .with_context(|| format!("loading {} into {}", path.display(), spec.name))?;
            tracing::info!(
                loaded = report.loaded,
                skipped = report.skipped.len(),
                "weights"
            );
            Some(WeightsInfo {
                sha256: weights::sha256_file(&path)?,
                loaded: report.loaded,
                path,
            })
        }
    };
    Ok(LoadedModel { vs, model, weights })
}

/// Widths of the MLP saved in `sd`: its input and its hidden layers (`hidden.I.weight` is
/// `out x in`), so a saved MLP is rebuilt from its file alone.
fn mlp_widths(
    sd: &graft_nn::weights::StateDict,
    path: &std::path::Path,
) -> anyhow::Result<(i64, Vec<i64>)> {
    let mut hidden = Vec::new();
    let mut input = None;
    while let Some(w) = sd.tensors.get(&format!("hidden.{}.weight", hidden.len())) {
        let s = w.size();
        if s.len() != 2 {
            anyhow::bail!(
                "{}: hidden.{}.weight has shape {s:?}; expected out x in",
                path.display(),
                hidden.len()
            );
        }
        input.get_or_insert(s[1]);
        hidden.push(s[0]);
    }
    match input {
        Some(i) => Ok((i, hidden)),
        None => anyhow::bail!(
            "{}: no hidden.0.weight; not the weights of graft's mlp model",
            path.display()
        ),
    }
}

/// The MLP over `input`-wide feature vectors (`None`: the file's width) with a head of
/// `classes` outputs. From `weights` (a run's `model.safetensors`) its widths are the file's,
/// and `new_head` leaves the file's classifier out; from random weights its hidden widths are
/// `hidden`.
pub fn load_mlp(
    weights_spec: Option<&str>,
    input: Option<i64>,
    hidden: &[i64],
    dropout: f64,
    classes: i64,
    device: Device,
    new_head: bool,
) -> anyhow::Result<LoadedModel> {
    let mut vs = VarStore::new(device);
    let Some(w) = weights_spec else {
        let input = input.context("the mlp's input width")?;
        let model =
            graft_nn::models::mlp::Mlp::new(&vs.root(), input, hidden, dropout, Some(classes))?;
        return Ok(LoadedModel {
            vs,
            model: Box::new(model),
            weights: None,
        });
    };
    let path = weights::resolve(w)?;
    let sd = weights::read(&path)?;
    let (saved_input, saved_hidden) = mlp_widths(&sd, &path)?;
    let input = input.unwrap_or(saved_input);
    if saved_input != input {
        anyhow::bail!(
            "{}: an mlp over {saved_input} features, but the data have {input} per sample",
            path.display()
        );
    }
    let model =
        graft_nn::models::mlp::Mlp::new(&vs.root(), input, &saved_hidden, dropout, Some(classes))?;
    let opts = LoadOptions {
        skip_head: new_head.then(|| model.head_prefix().to_string()),
        ..LoadOptions::default()
    };
    let report = weights::load_into(&mut vs, &sd, &opts, crate::model_ref::MLP, &path)
        .with_context(|| format!("loading {} into the mlp", path.display()))?;
    Ok(LoadedModel {
        vs,
        model: Box::new(model),
        weights: Some(WeightsInfo {
            sha256: weights::sha256_file(&path)?,
            loaded: report.loaded,
            path,
        }),
    })
}
