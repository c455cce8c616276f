//! What a `--model` name means, looked up in one place for every family: a registry image
//! model (`resnet50`, `lenet`, ...), a text encoder folder (BERT-family, as Hugging Face and
//! sentence-transformers save it), or `mlp`, the multilayer perceptron over feature vectors.
//! Every command asks this lookup what the model reads instead of testing names and folders
//! itself, so a new family (audio encoders, vision transformers) is added here once.

use anyhow::bail;
use graft_data::preprocess::Preprocess;
use graft_nn::models::bert::load::{is_text_model, text_stage_names};
use graft_nn::models::{find, ModelSpec};
use graft_nn::train::SampleKind;

/// The name of the MLP over feature vectors.
pub const MLP: &str = "mlp";

/// Hidden widths of the MLP when none are given: one layer of 50, as the DANN paper's
/// experiments on Amazon reviews (Ganin et al. 2016, section 5.1.1).
pub const MLP_HIDDEN: [i64; 1] = [50];

/// A model graft can build, found by name.
#[derive(Clone, Debug)]
pub enum ModelRef {
    /// A registry model over images.
    Image(&'static ModelSpec),
    /// A text encoder folder (or `hf:ORG/NAME`).
    Text(String),
    /// The MLP over feature vectors; its widths come from the data and `--hidden`.
    Mlp,
}

/// One family of models as `graft models` lists it.
pub struct Family {
    pub name: &'static str,
    pub reads: SampleKind,
    pub summary: &'static str,
}

/// The families that are not registry entries (those are listed one by one).
pub const OTHER_FAMILIES: [Family; 2] = [
    Family {
        name: MLP,
        reads: SampleKind::Vectors,
        summary: "multilayer perceptron over feature vectors (.npz, svmlight, CSV, graft \
                  feature files); hidden widths by --hidden (default 50)",
    },
    Family {
        name: "FOLDER",
        reads: SampleKind::Tokens,
        summary: "a BERT-family text encoder folder (BERT, RoBERTa, DistilBERT, MiniLM, ...) \
                  holding config.json, tokenizer.json and the weights, as Hugging Face and \
                  sentence-transformers save it",
    },
];

impl ModelRef {
    /// The model called `name`: `mlp`, a text model folder, or a registry name; an error lists
    /// what is known.
    pub fn resolve(name: &str) -> anyhow::Result<ModelRef> {
        if name == MLP {
            return Ok(ModelRef::Mlp);
        }
        if is_text_model(name) {
            return Ok(ModelRef::Text(name.to_string()));
        }
        match find(name) {
            Ok(spec) => Ok(ModelRef::Image(spec)),
            Err(_) if std::path::Path::new(name).is_dir() => bail!(
                "{name}: not a text model folder (expected config.json with a BERT-family \
                 model_type, beside tokenizer.json and the weights)"
            ),
            Err(e) => bail!("{e}; `{MLP}` for feature vectors, or a text model folder"),
        }
    }

    /// What the model reads.
    pub fn reads(&self) -> SampleKind {
        match self {
            ModelRef::Image(_) => SampleKind::Pixels,
            ModelRef::Text(_) => SampleKind::Tokens,
            ModelRef::Mlp => SampleKind::Vectors,
        }
    }

    pub fn is_text(&self) -> bool {
        matches!(self, ModelRef::Text(_))
    }

    /// The preprocessing of an image model's published weights; `None` for the others.
    pub fn preprocess(&self) -> Option<Preprocess> {
        match self {
            ModelRef::Image(s) => Some(s.preprocess()),
            _ => None,
        }
    }

    /// Stage names in forward order (the MLP's with `hidden` layers).
    pub fn stage_names(&self, hidden: &[i64]) -> anyhow::Result<Vec<String>> {
        Ok(match self {
            ModelRef::Image(s) => s.stage_names().iter().map(|s| s.to_string()).collect(),
            ModelRef::Text(dir) => text_stage_names(dir)?
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ModelRef::Mlp => (0..hidden.len().max(1))
                .map(|i| format!("hidden.{i}"))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_found_and_an_unknown_name_lists_them() {
        assert!(matches!(
            ModelRef::resolve("lenet").unwrap(),
            ModelRef::Image(_)
        ));
        assert_eq!(
            ModelRef::resolve("mlp").unwrap().reads(),
            SampleKind::Vectors
        );
        let e = ModelRef::resolve("resnet7").unwrap_err().to_string();
        assert!(e.contains("resnet18") && e.contains("mlp"), "{e}");
        let d = tempfile::tempdir().unwrap();
        let e = ModelRef::resolve(d.path().to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.json"), "{e}");
    }
}
