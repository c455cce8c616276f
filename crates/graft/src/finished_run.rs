//! A finished training run opened for use: its recipe, and its `model.safetensors` loaded into
//! the architecture with the run's head, with the input the model takes. Shared by
//! `graft eval` and `graft predict`.

use crate::backbone_load::{self, LoadedModel};
use crate::recipe::Recipe;
use anyhow::bail;
use graft_data::preprocess::Preprocess;
use graft_nn::models::find;
use graft_nn::train::InputSpec;
use std::path::Path;
use tch::Device;

pub struct FinishedRun {
    pub recipe: Recipe,
    pub loaded: LoadedModel,
    /// The model's own preprocessing (how images are stored before the input view).
    pub pre: Preprocess,
    pub input: InputSpec,
}

impl FinishedRun {
    pub fn open(run_dir: &Path, device: Device) -> anyhow::Result<FinishedRun> {
        let recipe = Recipe::read(run_dir)?;
        let weights = run_dir.join("model.safetensors");
        if !weights.exists() {
            bail!(
                "{}: no model.safetensors (the run has not finished; continue it with --resume)",
                run_dir.display()
            );
        }
        let pre = find(&recipe.model)?.preprocess();
        let loaded = backbone_load::load(
            &recipe.model,
            Some(&weights.display().to_string()),
            Some(recipe.classes.len() as i64),
            device,
            false,
        )?;
        let input = InputSpec::from_preprocess(&pre, recipe.image_size);
        Ok(FinishedRun {
            recipe,
            loaded,
            pre,
            input,
        })
    }
}
