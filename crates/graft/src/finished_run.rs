//! A finished run opened for use: its classes and input size, and its
//! `model.safetensors` loaded into the architecture with the run's head, with the input the
//! model takes. Shared by `graft eval` and `graft predict`; it opens the runs of
//! `graft pretrain`, `graft finetune` and `graft adapt`.

use crate::backbone_load::{self, LoadedModel};
use crate::recipe::Recipe;
use anyhow::bail;
use graft_data::preprocess::Preprocess;
use graft_nn::models::find;
use graft_nn::train::InputSpec;
use std::path::Path;

pub struct FinishedRun {
    pub classes: Vec<String>,
    /// The square input size the run trained at, when not the model's own.
    pub image_size: Option<i64>,
    pub loaded: LoadedModel,
    /// The model's own preprocessing (how images are stored before the input view).
    pub pre: Preprocess,
    pub input: InputSpec,
    /// How the run decodes JPEGs (its own, or the one asked for).
    pub decode_size: graft_data::image_io::DecodeSize,
}

impl FinishedRun {
    /// Opens the run in `run_dir` on `rt.device`; its decode size is the run's own unless
    /// `rt` asks for another (warned about on `obs`).
    pub fn open(
        run_dir: &Path,
        rt: &crate::Runtime,
        obs: &mut dyn crate::observe::Observer,
    ) -> anyhow::Result<FinishedRun> {
        let device = rt.device;
        let (model, classes, image_size) = describe(run_dir)?;
        let decode_size = crate::decode_size::for_recorded_run(
            rt.decode_size,
            recorded_decode_size(run_dir),
            &format!("the run in {}", run_dir.display()),
            obs,
        );
        let weights = run_dir.join("model.safetensors");
        if !weights.exists() {
            bail!(
                "{}: no model.safetensors (the run has not finished; continue it with --resume)",
                run_dir.display()
            );
        }
        if graft_nn::models::bert::load::is_text_model(&model) {
            bail!(
                "{}: a text model's run; graft eval and graft predict open image and feature runs \
                 only for now. The run's test accuracy is in its summary.json; a full \
                 fine-tuning or --merge-lora run is itself a model folder for `graft extract \
                 --model {}`",
                run_dir.display(),
                run_dir.display()
            );
        }
        let pre = find(&model)?.preprocess();
        let loaded = backbone_load::load(
            &model,
            Some(&weights.display().to_string()),
            Some(classes.len() as i64),
            device,
            false,
        )?;
        let input = InputSpec::from_preprocess(&pre, image_size);
        Ok(FinishedRun {
            classes,
            image_size,
            loaded,
            pre,
            input,
            decode_size,
        })
    }
}

/// The decode size the run in `dir` recorded in its recipe (training and adaptation recipes
/// both keep it under `decode_size`); `None` when it recorded none.
fn recorded_decode_size(dir: &Path) -> Option<graft_data::image_io::DecodeSize> {
    let text = std::fs::read_to_string(dir.join("recipe.toml")).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table.get("decode_size")?.clone().try_into().ok()
}

/// Model, classes and input size of the run in `dir`: from the training recipe, or for an
/// adaptation run (whose recipe has no classes) from its summary.json.
fn describe(dir: &Path) -> anyhow::Result<(String, Vec<String>, Option<i64>)> {
    let summary = dir.join("summary.json");
    let adapt = std::fs::read(&summary)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|v| v["command"] == "adapt");
    let Some(v) = adapt else {
        let r = Recipe::read(dir)?;
        return Ok((r.model, r.classes, r.image_size));
    };
    let model = v["model"].as_str().map(str::to_string);
    let classes: Option<Vec<String>> = v["classes"].as_array().and_then(|c| {
        c.iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
    });
    match (model, classes) {
        (Some(m), Some(c)) => Ok((m, c, None)),
        _ => bail!(
            "{}: expected `model` (a string) and `classes` (a list of strings)",
            summary.display()
        ),
    }
}
