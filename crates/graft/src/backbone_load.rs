//! Building a registry model and loading weights into it, shared by every subcommand that
//! runs a network.

use anyhow::Context;
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
    lora: Option<&graft_nn::models::lora::LoraSpec>,
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
    let spec = find(name)?;
    let mut vs = VarStore::new(device);
    let model = spec.build_checked(&vs.root(), classes)?;
    let weights = match weights_spec {
        None => None,
        Some(w) => {
            let path = weights::resolve(w)?;
            let sd = weights::read(&path)?;
            let opts = LoadOptions {
                skip_head: new_head.then(|| model.head_prefix().to_string()),
                ..LoadOptions::default()
            };
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
