//! `summary.json` of an adaptation run: one typed record, written by the run and returned to
//! its caller.

use graft_nn::train::adapt::{DeltaSpec, L2SpSpec, SelfTraining};
use graft_nn::train::ClassMetrics;
use graft_nn::transfer::Bss;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The proxy A-distance between the domains' features before and after adaptation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeforeAfter {
    /// On the initial model's features: the source model's when the run starts from weights,
    /// a randomly initialised network's otherwise (see `random_start`).
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// The run started from random weights, so `before` measures a random projection, not a
    /// trained source model.
    #[serde(default)]
    pub random_start: bool,
    /// With a random start: the distance between the inputs themselves (feature vectors as
    /// they are; images average-pooled to at most 16 x 16 per channel), the domains' own
    /// distance that adaptation starts from. None for texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptSummary {
    /// Always `adapt`.
    pub command: String,
    pub run_dir: String,
    pub model: String,
    /// The domain loss (`none`, `dann`, `cdan`, `cdan+e`, `mdd`, `coral`, `mmd`).
    pub method: String,
    pub self_training: Option<SelfTraining>,
    pub l2sp: Option<L2SpSpec>,
    pub delta: Option<DeltaSpec>,
    pub bss: Option<Bss>,
    /// BatchNorm layers whose statistics AdaBN re-estimated on the target.
    pub adabn_layers: Option<usize>,
    pub domain_weight: f64,
    pub source: String,
    pub target_unlabelled: String,
    pub target_test: Option<String>,
    pub source_samples: usize,
    pub target_samples: usize,
    pub classes: Vec<String>,
    pub epochs_run: usize,
    pub selected_epoch: usize,
    /// The kept epoch and why it was kept, in words.
    pub selected: String,
    /// Held-out source samples (`val_fraction`).
    #[serde(default)]
    pub source_val: Option<ClassMetrics>,
    pub source_val_accuracy: Option<f64>,
    /// Deep embedded validation risk of the kept model.
    pub dev_risk: Option<f64>,
    pub domain_accuracy: Option<f64>,
    pub train_loss: Option<f64>,
    pub train_accuracy: Option<f64>,
    /// The labelled target test set: the run's headline.
    pub test: Option<ClassMetrics>,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub proxy_a_distance: Option<BeforeAfter>,
    pub seed: u64,
    pub seconds: f64,
}

impl AdaptSummary {
    /// Writes it atomically into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        crate::RunDir::new(dir).write_summary(self)
    }
}

/// What a finished adaptation run produced.
#[derive(Clone, Debug)]
pub struct AdaptOutcome {
    pub dir: crate::RunDir,
    pub summary: AdaptSummary,
    /// `report.html`, unless it could not be built (a warning was sent).
    pub report: Option<PathBuf>,
}
