//! A run directory and the names of the files in it. Every command that writes or reads a run
//! asks this type for the path, so a file's name is written once.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// A run directory (`runs/<command>-<model>-N/` by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `recipe.toml`: everything needed to repeat the run.
    pub fn recipe(&self) -> PathBuf {
        self.path.join("recipe.toml")
    }

    /// `checkpoint.safetensors`: the last finished step, for resuming.
    pub fn checkpoint(&self) -> PathBuf {
        self.path.join("checkpoint.safetensors")
    }

    /// `model.safetensors`: the trained model with PyTorch's key names.
    pub fn model(&self) -> PathBuf {
        self.path.join("model.safetensors")
    }

    /// `metrics.jsonl`: one JSON record per epoch.
    pub fn metrics(&self) -> PathBuf {
        self.path.join("metrics.jsonl")
    }

    /// `summary.json`: the run's outcome.
    pub fn summary(&self) -> PathBuf {
        self.path.join("summary.json")
    }

    /// `environment.json`: machine, library versions, threads and device.
    pub fn environment(&self) -> PathBuf {
        self.path.join("environment.json")
    }

    /// `report.html`.
    pub fn report(&self) -> PathBuf {
        self.path.join("report.html")
    }

    /// `projection.json`: the 2-D projection of source and target features before and after
    /// adaptation, with their proxy A-distance (adaptation runs).
    pub fn projection(&self) -> PathBuf {
        self.path.join("projection.json")
    }

    /// `projection.safetensors`: the features that projection was computed from.
    pub fn projection_features(&self) -> PathBuf {
        self.path.join("projection.safetensors")
    }

    /// `adapter/`: LoRA adapters as PEFT saves them.
    pub fn adapter(&self) -> PathBuf {
        self.path.join("adapter")
    }

    /// Writes `summary` as `summary.json`, atomically: every run's outcome goes through here.
    pub fn write_summary(&self, summary: &impl serde::Serialize) -> anyhow::Result<()> {
        let p = self.summary();
        let text = serde_json::to_string_pretty(summary)
            .with_context(|| format!("serialising {}", p.display()))?;
        graft_data::atomic::write_atomic_bytes(&p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
        Ok(())
    }

    /// The engine's view of the same directory.
    pub fn files(&self) -> graft_nn::train::RunFiles {
        graft_nn::train::RunFiles {
            dir: self.path.clone(),
        }
    }
}

impl AsRef<Path> for RunDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}
