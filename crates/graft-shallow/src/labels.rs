//! Class bookkeeping: models know the labels they were fitted on (scikit-learn's `classes_`),
//! so a training set that lacks some class index still works and predictions use the
//! caller's labels.

use crate::error::{LinalgError, Result};
use crate::matrix::Matrix;
use crate::validate;

/// Sorted distinct training labels and each sample's position among them.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub classes: Vec<usize>,
    pub codes: Vec<usize>,
}

impl Encoded {
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }
}

/// Checks `x`, `y` and the weights of a training set and encodes `y`.
pub(crate) fn training(
    x: &Matrix,
    y: &[usize],
    sample_weight: Option<&[f64]>,
) -> Result<(Encoded, Vec<f64>)> {
    validate::matrix("x", x)?;
    validate::length("y", y.len(), "x", x.rows())?;
    let w = validate::weights(sample_weight, x.rows())?;
    Ok((encode("y", y)?, w))
}

/// At least two distinct labels are required.
pub(crate) fn encode(input: &'static str, y: &[usize]) -> Result<Encoded> {
    let mut classes = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    match classes.len() {
        0 => {
            return Err(LinalgError::Empty {
                input,
                rows: 0,
                cols: 1,
            })
        }
        1 => {
            return Err(LinalgError::SingleClass {
                input,
                class: classes[0],
            })
        }
        _ => {}
    }
    let codes = y
        .iter()
        .map(|l| classes.binary_search(l).unwrap_or(0))
        .collect();
    Ok(Encoded { classes, codes })
}
