//! The recipe of a training run: everything needed to repeat it, saved as `recipe.toml` in
//! the run directory and read back by `--resume`, `graft eval` and `graft predict`.

use crate::text_data::TextRecipe;
use anyhow::Context;
use graft_nn::models::lora::LoraSpec;
use graft_nn::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Unknown keys are refused, as in adaptation recipes: a misspelt setting would otherwise be
/// dropped without a word and the run would silently use the default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// `pretrain` or `finetune`.
    pub command: String,
    pub model: String,
    /// Initial weights (absent: trained from scratch) and their SHA-256.
    pub weights: Option<String>,
    pub weights_sha256: Option<String>,
    pub data: String,
    pub val: Option<String>,
    pub val_fraction: Option<f64>,
    pub test: Option<String>,
    pub labels_per_class: Option<usize>,
    /// Per-sample loss weights (a `graft reweight` file over the rows of `data`).
    #[serde(default)]
    pub sample_weights: Option<String>,
    pub image_size: Option<i64>,
    pub classes: Vec<String>,
    /// LoRA runs: save the adapted model with the adapters folded into its weights.
    #[serde(default)]
    pub merge_lora: bool,
    pub train: TrainConfig,
    /// The mlp model: its hidden widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<i64>>,
    /// Text models: how the texts are read and cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextRecipe>,
    /// Low-rank adapters trained in place of the encoder's own weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraSpec>,
    /// How JPEGs were decoded ([`crate::decode_size`]); absent in recipes written before the
    /// setting existed, which decoded at full size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_size: Option<graft_data::image_io::DecodeSize>,
}

impl Recipe {
    /// The recipe of the run in `dir`.
    pub fn read(dir: &Path) -> anyhow::Result<Recipe> {
        Recipe::read_file(&dir.join("recipe.toml"))
    }

    pub fn read_file(p: &Path) -> anyhow::Result<Recipe> {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("{}: cannot read the recipe", p.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: not a valid recipe", p.display()))
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let text = toml::to_string(self).context("serialising the recipe")?;
        graft_data::atomic::write_atomic_bytes(&dir.join("recipe.toml"), text.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("recipe.toml");
        let good = Recipe {
            command: "finetune".into(),
            model: "lenet".into(),
            weights: None,
            weights_sha256: None,
            data: "d.npz".into(),
            val: None,
            val_fraction: None,
            test: None,
            labels_per_class: None,
            sample_weights: None,
            image_size: None,
            classes: vec!["a".into(), "b".into()],
            merge_lora: false,
            train: crate::train::TrainOpts::default().config(
                graft_nn::train::GroupSpec::default(),
                graft_nn::train::InputSpec::tokens(),
                false,
            ),
            hidden: None,
            text: None,
            lora: None,
            decode_size: None,
        };
        let text = toml::to_string(&good).unwrap();
        std::fs::write(&p, &text).unwrap();
        assert_eq!(Recipe::read_file(&p).unwrap(), good);
        std::fs::write(&p, format!("epochz = 3\n{text}")).unwrap();
        let e = format!("{:#}", Recipe::read_file(&p).unwrap_err());
        assert!(e.contains("recipe.toml") && e.contains("epochz"), "{e}");
    }
}
