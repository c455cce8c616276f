//! `summary.json`: what a training run (`pretrain`, `finetune`) ended with, one typed record
//! written by the run and read back by whoever needs its outcome (the caller of
//! [`crate::train::run`], `graft eval`, reports, `graft auto`).

use anyhow::Context;
use graft_nn::models::lora::LoraSpec;
use graft_nn::train::ClassMetrics;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// `pretrain` or `finetune`.
    pub command: String,
    pub run_dir: String,
    pub model: String,
    pub weights: Option<String>,
    pub data: String,
    pub train_samples: usize,
    pub classes: Vec<String>,
    pub epochs_run: usize,
    pub trainable_parameters: i64,
    pub frozen_parameters: i64,
    pub trainable_fraction: f64,
    pub lora: Option<LoraSpec>,
    /// Text models: tokens kept per text.
    pub max_length: Option<usize>,
    pub stopped_early: bool,
    /// Which epoch's weights the model holds, in words.
    pub selected: String,
    pub train_loss: Option<f64>,
    pub train_accuracy: Option<f64>,
    pub val: Option<ClassMetrics>,
    pub test: Option<ClassMetrics>,
    /// The test set's accuracy, else the validation set's.
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub seed: u64,
    pub seconds: f64,
}

impl Summary {
    /// The summary in the run directory `dir`.
    pub fn read(dir: &Path) -> anyhow::Result<Summary> {
        let p = crate::RunDir::new(dir).summary();
        let bytes = std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a training run's summary", p.display()))
    }

    /// Writes it atomically into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        crate::RunDir::new(dir).write_summary(self)
    }
}

/// The summary of any finished run, typed by the command that wrote it.
#[derive(Clone, Debug, PartialEq)]
pub enum RunSummary {
    Adapt(Box<crate::adapt::AdaptSummary>),
    Train(Box<Summary>),
}

impl RunSummary {
    /// The summary in the run directory `dir`, read as its `command` says.
    pub fn read(dir: &Path) -> anyhow::Result<RunSummary> {
        let p = crate::RunDir::new(dir).summary();
        let bytes = std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        #[derive(Deserialize)]
        struct Command {
            command: String,
        }
        let c: Command = serde_json::from_slice(&bytes).with_context(|| {
            format!("{}: expected a run's summary with a `command`", p.display())
        })?;
        Ok(if c.command == "adapt" {
            RunSummary::Adapt(Box::new(serde_json::from_slice(&bytes).with_context(
                || format!("{}: not an adaptation run's summary", p.display()),
            )?))
        } else {
            RunSummary::Train(Box::new(serde_json::from_slice(&bytes).with_context(
                || format!("{}: not a training run's summary", p.display()),
            )?))
        })
    }

    pub fn model(&self) -> &str {
        match self {
            RunSummary::Train(s) => &s.model,
            RunSummary::Adapt(s) => &s.model,
        }
    }

    pub fn classes(&self) -> &[String] {
        match self {
            RunSummary::Train(s) => &s.classes,
            RunSummary::Adapt(s) => &s.classes,
        }
    }
}
