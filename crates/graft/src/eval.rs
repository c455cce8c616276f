//! Measuring a finished run on a labelled set (`graft eval`): images or texts, read the way the
//! run read its own data.

use crate::finished_run::{FinishedRun, RunInput};
use crate::observe::Observer;
use crate::Runtime;
use anyhow::bail;
use graft_nn::precision::{Autocast, Precision};
use graft_nn::train::{evaluate, Samples};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to evaluate: a run directory and a labelled set with the run's classes.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct EvalSpec {
    /// A run directory written by `graft pretrain`, `graft finetune` or `graft adapt`
    pub run_dir: PathBuf,
    /// Labelled data with the run's classes: images (folder, manifest) or arrays for an image
    /// run; texts (JSONL, CSV/TSV, .txt folders, reviews) for a text run
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: String,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 64))]
    pub batch_size: usize,
}

/// A run's metrics on a set, as `graft eval --json` prints them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalResult {
    pub command: &'static str,
    pub run_dir: String,
    pub data: String,
    pub n: usize,
    pub precision: Precision,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class_accuracy: Vec<Option<f64>>,
    pub confusion: Vec<Vec<usize>>,
    pub classes: Vec<String>,
}

/// Reads `spec` (a data set's path) for `run`: images at the run's size and decode size, or
/// texts with the run's tokenizer; `labelled` texts must carry labels.
pub fn open_for(
    run: &FinishedRun,
    spec: &str,
    labelled: bool,
    threads: usize,
    obs: &mut dyn Observer,
) -> anyhow::Result<Samples> {
    match &run.kind {
        RunInput::Images { pre, image_size } => {
            crate::image_data::open(spec, pre, *image_size, threads, run.decode_size, obs)
        }
        RunInput::Text { recipe, tokenizer } => {
            crate::text_data::open(spec, tokenizer, recipe, labelled, obs)
        }
        RunInput::Vectors { width } => crate::vector_data::open(spec, Some(*width as usize)),
    }
}

/// Evaluates the run of `spec` on its data.
pub fn run(spec: &EvalSpec, rt: &Runtime, obs: &mut dyn Observer) -> anyhow::Result<EvalResult> {
    let threads = rt.apply_threads();
    let device = rt.device;
    let run = FinishedRun::open(&spec.run_dir, rt, obs)?;
    let data = open_for(&run, &spec.data, true, threads, obs)?;
    same_classes(&spec.data, &data, &run.classes, &spec.run_dir)?;
    if let Some(a) = rt.precision.advice(device) {
        obs.warn(a);
    }
    let m = {
        let _autocast = Autocast::enter(rt.precision, device);
        evaluate(
            run.loaded.model.as_ref(),
            &run.input,
            &data,
            device,
            spec.batch_size.max(1),
        )?
    };
    Ok(EvalResult {
        command: "eval",
        run_dir: spec.run_dir.display().to_string(),
        data: spec.data.clone(),
        n: m.n,
        precision: rt.precision,
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        per_class_accuracy: m.per_class_accuracy,
        confusion: m.confusion,
        classes: run.classes,
    })
}

fn same_classes(
    spec: &str,
    data: &Samples,
    classes: &[String],
    run_dir: &Path,
) -> anyhow::Result<()> {
    if data.class_names != classes {
        bail!(
            "{spec} has classes [{}] but the run in {} was trained on [{}]",
            data.class_names.join(", "),
            run_dir.display(),
            classes.join(", ")
        );
    }
    Ok(())
}
