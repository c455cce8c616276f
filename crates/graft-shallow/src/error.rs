//! The one error type of the crate: every variant names the input and what was expected.

/// Result alias used throughout the crate.
pub type Result<T, E = LinalgError> = std::result::Result<T, E>;

/// Why a shallow method refused its input or could not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinalgError {
    /// A matrix or vector with nothing in it.
    #[error("{input}: empty ({rows} x {cols}); expected at least one row and one column")]
    Empty {
        input: &'static str,
        rows: usize,
        cols: usize,
    },
    /// Raw data whose length does not match the declared shape.
    #[error("{input}: {got} values cannot form a {rows} x {cols} matrix (expected {expected})")]
    Shape {
        input: &'static str,
        rows: usize,
        cols: usize,
        expected: usize,
        got: usize,
    },
    /// NaN or infinity inside a matrix.
    #[error(
        "{input}: non-finite value {value} at row {row}, column {col}; expected finite numbers"
    )]
    NonFinite {
        input: &'static str,
        row: usize,
        col: usize,
        value: f64,
    },
    /// A negative entry where probabilities are expected.
    #[error(
        "{input}: negative value {value} at row {row}, column {col}; expected probabilities >= 0"
    )]
    Negative {
        input: &'static str,
        row: usize,
        col: usize,
        value: f64,
    },
    /// Feature count differs between what a model was fitted on and what it is given.
    #[error("{input}: {got} columns, expected {expected} (the feature count of {reference})")]
    DimensionMismatch {
        input: &'static str,
        reference: &'static str,
        expected: usize,
        got: usize,
    },
    /// A per-row vector (labels, weights) whose length differs from the row count.
    #[error("{input}: {got} entries, expected {expected} (one per row of {reference})")]
    LengthMismatch {
        input: &'static str,
        reference: &'static str,
        expected: usize,
        got: usize,
    },
    /// A classifier needs at least two classes to separate.
    #[error("{input}: every sample has class {class}; expected at least two distinct classes")]
    SingleClass { input: &'static str, class: usize },
    /// A class index beyond the declared number of classes.
    #[error("{input}: label {label} at index {index} is outside 0..{n_classes}")]
    LabelOutOfRange {
        input: &'static str,
        index: usize,
        label: usize,
        n_classes: usize,
    },
    /// A negative, NaN or infinite sample weight.
    #[error("{input}: weight {value} at index {index}; expected a finite number >= 0")]
    InvalidWeight {
        input: &'static str,
        index: usize,
        value: f64,
    },
    /// Sample weights that are all zero leave nothing to fit.
    #[error("{input}: all weights are zero; expected at least one positive weight")]
    ZeroWeights { input: &'static str },
    /// A hyper-parameter outside its domain.
    #[error("{name} = {value}: expected {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A factorisation failed on the data (for example a singular system).
    #[error("{method}: {reason}")]
    Numerical {
        method: &'static str,
        reason: String,
    },
}

impl LinalgError {
    pub(crate) fn param(name: &'static str, value: impl ToString, expected: &'static str) -> Self {
        LinalgError::InvalidParameter {
            name,
            value: value.to_string(),
            expected,
        }
    }
}
