//! A finished run opened for use: its classes, its model loaded with the run's head, and what
//! the model takes as input: images (the model's preprocessing at the run's size) or texts
//! (the run's tokenizer and token limit). Shared by eval and predict; it opens the runs of
//! `pretrain`, `finetune` (full, partial, LoRA merged or not) and `adapt`.

use crate::backbone_load::{self, LoadedModel, WeightsInfo};
use crate::model_ref::ModelRef;
use crate::observe::Observer;
use crate::recipe::Recipe;
use crate::text_data::TextRecipe;
use crate::text_features::TextArgs;
use crate::RunDir;
use anyhow::{bail, Context};
use graft_data::preprocess::Preprocess;
use graft_nn::models::bert::load::tokenizer_file;
use graft_nn::models::lora::LoraSpec;
use graft_nn::train::InputSpec;
use std::path::{Path, PathBuf};
use tch::Device;

/// What the run's model reads.
#[derive(Clone, Debug)]
pub enum RunInput {
    /// Images, stored at the model's own preprocessing (`pre`) and the run's square size.
    Images {
        pre: Preprocess,
        /// The square input size the run trained at, when not the model's own.
        image_size: Option<i64>,
    },
    /// Texts, read and cut as the run read them, with this `tokenizer.json`.
    Text {
        recipe: TextRecipe,
        tokenizer: PathBuf,
    },
    /// Feature vectors of this width (svmlight files are read at it).
    Vectors { width: i64 },
}

pub struct FinishedRun {
    pub classes: Vec<String>,
    pub loaded: LoadedModel,
    pub input: InputSpec,
    pub kind: RunInput,
    /// How the run decodes JPEGs (its own, or the one asked for).
    pub decode_size: graft_data::image_io::DecodeSize,
}

/// What a run directory says about its model.
struct Described {
    model: String,
    classes: Vec<String>,
    image_size: Option<i64>,
    /// Text runs: how texts were read.
    text: Option<TextRecipe>,
    /// Unmerged LoRA runs: the adapters the saved model holds beside the base weights.
    lora: Option<LoraSpec>,
}

impl FinishedRun {
    /// Opens the run in `run_dir` on `rt.device`; its decode size is the run's own unless
    /// `rt` asks for another (warned about on `obs`).
    pub fn open(
        run_dir: &Path,
        rt: &crate::Runtime,
        obs: &mut dyn Observer,
    ) -> anyhow::Result<FinishedRun> {
        let device = rt.device;
        let d = describe(run_dir)?;
        let decode_size = crate::decode_size::for_recorded_run(
            rt.decode_size,
            recorded_decode_size(run_dir),
            &format!("the run in {}", run_dir.display()),
            obs,
        );
        let weights = RunDir::new(run_dir).model();
        if !weights.exists() {
            bail!(
                "{}: no model.safetensors (the run has not finished; continue it with --resume)",
                run_dir.display()
            );
        }
        let classes = d.classes.len() as i64;
        if let Some(text) = d.text {
            let (loaded, tokenizer) =
                open_text(run_dir, &d.model, d.lora.as_ref(), classes, device)?;
            return Ok(FinishedRun {
                classes: d.classes,
                loaded,
                input: InputSpec::tokens(),
                kind: RunInput::Text {
                    recipe: text,
                    tokenizer,
                },
                decode_size,
            });
        }
        let found = ModelRef::resolve(&d.model)?;
        let weights_spec = weights.display().to_string();
        if let ModelRef::Mlp = found {
            let loaded = backbone_load::load_mlp(
                Some(&weights_spec),
                None,
                &[],
                0.0,
                classes,
                device,
                false,
            )?;
            let width = loaded
                .vs
                .variables()
                .get("hidden.0.weight")
                .map_or(0, |w| w.size()[1]);
            return Ok(FinishedRun {
                classes: d.classes,
                loaded,
                input: InputSpec::vectors(width),
                kind: RunInput::Vectors { width },
                decode_size,
            });
        }
        let pre = found.preprocess().with_context(|| {
            format!(
                "{}: the run's model {} reads no images",
                run_dir.display(),
                d.model
            )
        })?;
        let loaded = backbone_load::load_adapted(
            &d.model,
            Some(&weights_spec),
            Some(classes),
            device,
            false,
            d.lora.as_ref(),
        )?;
        let input = InputSpec::from_preprocess(&pre, d.image_size);
        Ok(FinishedRun {
            classes: d.classes,
            loaded,
            input,
            kind: RunInput::Images {
                pre,
                image_size: d.image_size,
            },
            decode_size,
        })
    }
}

/// The text model of a finished run and its tokenizer. A run that saved a whole model
/// (full fine-tuning, merged adapters) is itself a model folder; an unmerged LoRA run saved
/// the base weights with its adapters, so the base folder's architecture is built with the
/// same adapters. Either way the run's own file is the one read, every tensor matched.
fn open_text(
    run_dir: &Path,
    base: &str,
    lora: Option<&LoraSpec>,
    classes: i64,
    device: Device,
) -> anyhow::Result<(LoadedModel, PathBuf)> {
    let own = run_dir.join("config.json").is_file() && run_dir.join("tokenizer.json").is_file();
    let from = if own && lora.is_none() {
        run_dir.display().to_string()
    } else {
        base.to_string()
    };
    let mut tm = graft_nn::models::bert::init_text_model(&from, Some(classes), device, lora)
        .with_context(|| format!("building the text model of {}", run_dir.display()))?;
    let file = RunDir::new(run_dir).model();
    tm.vs
        .load(&file)
        .with_context(|| format!("{}: not the weights this run's model saved", file.display()))?;
    let tokenizer = tokenizer_file(&from)?;
    let loaded = tm.vs.variables().len();
    Ok((
        LoadedModel {
            vs: tm.vs,
            model: Box::new(tm.model),
            weights: Some(WeightsInfo {
                sha256: graft_nn::weights::sha256_file(&file)?,
                loaded,
                path: file,
            }),
        },
        tokenizer,
    ))
}

/// The decode size the run in `dir` recorded in its recipe (training and adaptation recipes
/// both keep it under `decode_size`); `None` when it recorded none.
fn recorded_decode_size(dir: &Path) -> Option<graft_data::image_io::DecodeSize> {
    let text = std::fs::read_to_string(RunDir::new(dir).recipe()).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table.get("decode_size")?.clone().try_into().ok()
}

/// Model, classes, input size and text settings of the run in `dir`: from the training
/// recipe, or for an adaptation run (whose recipe has no classes) from its summary and recipe.
fn describe(dir: &Path) -> anyhow::Result<Described> {
    // A run that has not finished has no summary yet: its recipe still describes it.
    let summary = match crate::summary::RunSummary::read(dir) {
        Ok(crate::summary::RunSummary::Adapt(s)) => Some(*s),
        Ok(crate::summary::RunSummary::Train(_)) => None,
        Err(e) if RunDir::new(dir).summary().exists() => return Err(e),
        Err(_) => None,
    };
    let Some(summary) = summary else {
        let r = Recipe::read(dir)?;
        let lora = r.lora.clone().filter(|_| !r.merge_lora);
        return Ok(Described {
            model: r.model,
            classes: r.classes,
            image_size: r.image_size,
            text: r.text,
            lora,
        });
    };
    let (model, classes) = (summary.model, summary.classes);
    let text = if ModelRef::resolve(&model)?.is_text() {
        let recipe = crate::adapt::recipe::AdaptRecipe::read(&RunDir::new(dir).recipe())?;
        let args = TextArgs {
            max_length: recipe.max_length,
            ..TextArgs::default()
        };
        Some(TextRecipe::new(&args, args.max_length(&model)?))
    } else {
        None
    };
    Ok(Described {
        model,
        classes,
        image_size: None,
        text,
        lora: None,
    })
}
