//! One error type for the deep side. Every variant names the input it is about, so the CLI can
//! show it as it is.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A weights file that cannot be parsed: `what` says where in the file and what was expected.
    #[error("{path}: {what}")]
    BadWeights { path: PathBuf, what: String },
    /// Weights that parse but do not fit the model (missing / unexpected keys, shape mismatches).
    #[error("{path}: weights do not fit model `{model}`:\n{details}")]
    Mismatch {
        path: PathBuf,
        model: String,
        details: String,
    },
    #[error("unknown model `{name}`; known models: {known}")]
    UnknownModel { name: String, known: String },
    #[error("model `{model}` has no stage `{stage}`; its stages are: {known}")]
    UnknownStage {
        model: String,
        stage: String,
        known: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// The loss became NaN or infinite; the last good checkpoint is kept.
    #[error("training diverged at epoch {epoch}, step {step}: {what}")]
    Diverged {
        epoch: usize,
        step: usize,
        what: String,
    },
    /// The run was stopped on request (Ctrl-C) after saving a checkpoint.
    #[error("stopped on request at epoch {epoch}, step {step}; checkpoint saved, continue with --resume")]
    Interrupted { epoch: usize, step: usize },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

pub type Result<T, E = NnError> = std::result::Result<T, E>;
