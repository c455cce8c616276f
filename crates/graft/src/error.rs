//! The error of a library call. A cancelled run is its own variant, so that a caller can tell
//! "stopped as asked, checkpoint saved" from a failure; everything else carries the chain of
//! causes that names the input at fault (file, field, what was expected).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The [`crate::CancelToken`] was set; the run saved a checkpoint in `dir` and continues
    /// from it when resumed.
    #[error("stopped at epoch {}, step {step}; checkpoint saved in {}", epoch + 1, dir.display())]
    Cancelled {
        dir: PathBuf,
        /// Zero-based epoch and step at which the run stopped.
        epoch: usize,
        step: usize,
    },
    /// Bad input or a failure along the way, with its causes.
    #[error(transparent)]
    Failed(anyhow::Error),
}

/// A cancellation carried inside an `anyhow` error (the runs build their errors with `anyhow`)
/// comes back out as [`Error::Cancelled`]; anything else is [`Error::Failed`].
impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<Error>() {
            Ok(e) => e,
            Err(e) => Error::Failed(e),
        }
    }
}

impl From<graft_data::DataError> for Error {
    fn from(e: graft_data::DataError) -> Self {
        Error::Failed(e.into())
    }
}

impl From<graft_nn::NnError> for Error {
    fn from(e: graft_nn::NnError) -> Self {
        Error::Failed(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
