//! One error type for the whole crate. Every message starts with the file it is about, and says
//! where in it (line, column, key) and what was expected, because the person reading it is
//! usually looking at a dataset they did not write.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading, preprocessing or writing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused: missing file, permissions, full disk.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What was being attempted, e.g. "read", "create", "rename onto".
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// An image file that the decoder rejected.
    #[error("{}: cannot decode image: {reason}", path.display())]
    Image { path: PathBuf, reason: String },

    /// A preprocessing recipe that cannot be applied (zero sizes, wrong number of means).
    #[error("invalid preprocessing: {0}")]
    Preprocess(String),

    /// A dataset layout problem: empty folders, too few classes, missing class images.
    #[error("{}: {reason}", path.display())]
    Dataset { path: PathBuf, reason: String },

    /// A file whose bytes are not what its format promises (bad magic, truncated data,
    /// unsupported dtype, inconsistent header).
    #[error("{}: {reason}", path.display())]
    Format { path: PathBuf, reason: String },

    /// A text row that cannot be parsed (CSV, svmlight, manifests). `line` is 1-based.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    /// An archive or container without the requested entry.
    #[error("{}: no array named '{key}' (present: {})", path.display(), present.join(", "))]
    MissingKey {
        path: PathBuf,
        key: String,
        present: Vec<String>,
    },

    /// Options that cannot work together (batch size 0, no fixed output size, ...).
    #[error("invalid options: {0}")]
    Options(String),
}

/// Result with [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;

impl DataError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    pub(crate) fn format(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Format {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn dataset(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Dataset {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn parse(path: &Path, line: usize, reason: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.to_path_buf(),
            line,
            reason: reason.into(),
        }
    }

    /// The file this error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DataError::Io { path, .. }
            | DataError::Image { path, .. }
            | DataError::Dataset { path, .. }
            | DataError::Format { path, .. }
            | DataError::Parse { path, .. }
            | DataError::MissingKey { path, .. } => Some(path),
            DataError::Preprocess(_) | DataError::Options(_) => None,
        }
    }
}
