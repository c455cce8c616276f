//! An adaptation run's progress and its checkpoint: the model's variables (`model.*`), the
//! adversarial heads' (`adapt.*`), the optimiser's buffers for both, and the progress record,
//! in one safetensors file written atomically.

use crate::train::checkpoint;
use crate::train::engine::EpochRecord;
use crate::train::loss_scale::LossScale;
use crate::train::optim::Optimizer;
use crate::train::params::Param;
use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::nn::VarStore;

/// One line of an adaptation run's metrics.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptRecord {
    #[serde(flatten)]
    pub base: EpochRecord,
    /// Mean domain term over the epoch (before its weight).
    pub domain_loss: Option<f64>,
    /// Mean discriminator accuracy (adversarial terms): 0.5 once the domains are confused.
    pub domain_accuracy: Option<f64>,
    /// Target samples that carried a pseudo-label this epoch.
    pub pseudo_labels: Option<usize>,
    /// Deep-embedded-validation risk at the end of the epoch (needs a source validation set).
    pub dev_risk: Option<f64>,
    /// Accuracy on the monitored labelled target set, for analysis only: never used to choose
    /// anything.
    pub monitor_accuracy: Option<f64>,
}

/// The adapter's progress, saved inside each checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdaptProgress {
    pub epoch: usize,
    pub step_in_epoch: usize,
    pub global_step: usize,
    /// Running sums of the epoch in progress: task loss * samples, correct, samples, domain
    /// loss sum, domain accuracy sum, domain steps.
    pub partial: (f64, u64, u64, f64, f64, u64),
    pub history: Vec<AdaptRecord>,
    /// Pseudo-labels of the epoch in progress: `(epoch, indices, labels)`.
    pub pseudo: Option<(usize, Vec<i64>, Vec<i64>)>,
    /// The epoch (1-based) chosen by the selection rule so far, with its score.
    pub best: Option<(usize, f64)>,
    /// The dynamic loss scale of an fp16 run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<LossScale>,
}

/// The adversarial heads' store, as the checkpoint keeps it.
fn heads(aux: &VarStore) -> checkpoint::Extra<'_> {
    checkpoint::Extra {
        prefix: "adapt",
        vs: aux,
        what: "the adaptation heads' variables",
        hint: "was it written by a run with another domain loss?",
    }
}

/// Writes the checkpoint: `model.*` from `vs`, `adapt.*` from `aux`, the optimiser's state over
/// `params` and the progress.
pub(crate) fn save(
    path: &Path,
    vs: &VarStore,
    aux: &VarStore,
    params: &[Param],
    opt: &Optimizer,
    progress: &AdaptProgress,
) -> Result<()> {
    let json = serde_json::to_string(progress).expect("progress serialises");
    checkpoint::save_with(path, vs, &[heads(aux)], params, opt, &json)
}

/// Restores what [`save`] wrote; returns the progress.
pub(crate) fn load(
    path: &Path,
    vs: &mut VarStore,
    aux: &VarStore,
    params: &[Param],
    opt: &mut Optimizer,
) -> Result<AdaptProgress> {
    let json = checkpoint::load_with(path, vs, &[heads(aux)], params, opt)?;
    serde_json::from_str(&json).map_err(|e| NnError::BadWeights {
        path: path.to_path_buf(),
        what: format!("unreadable adaptation progress record: {e}"),
    })
}
