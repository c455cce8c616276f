//! Classification metrics with scikit-learn's conventions: macro-F1 over the union of true
//! and predicted labels with 0 for an undefined ratio, recall per class, confusion matrix with
//! true classes as rows.

use crate::error::{LinalgError, Result};
use crate::validate;

fn pair(y_true: &[usize], y_pred: &[usize]) -> Result<()> {
    if y_true.is_empty() {
        return Err(LinalgError::Empty {
            input: "y_true",
            rows: 0,
            cols: 1,
        });
    }
    validate::length("y_pred", y_pred.len(), "y_true", y_true.len())
}

/// Fraction of equal labels.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    pair(y_true, y_pred)?;
    let hits = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Unweighted mean over labels present in either input of F1 = 2 TP / (2 TP + FP + FN)
/// (scikit-learn's `f1_score(average="macro", zero_division=0)`).
pub fn macro_f1(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    pair(y_true, y_pred)?;
    let mut labels: Vec<usize> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let pos = |l: usize| labels.binary_search(&l).unwrap_or(0);
    let (mut tp, mut fp, mut fnn) = (
        vec![0usize; labels.len()],
        vec![0usize; labels.len()],
        vec![0usize; labels.len()],
    );
    for (&t, &p) in y_true.iter().zip(y_pred) {
        if t == p {
            tp[pos(t)] += 1;
        } else {
            fp[pos(p)] += 1;
            fnn[pos(t)] += 1;
        }
    }
    let sum: f64 = (0..labels.len())
        .map(|j| {
            let den = 2 * tp[j] + fp[j] + fnn[j];
            if den == 0 {
                0.0
            } else {
                2.0 * tp[j] as f64 / den as f64
            }
        })
        .sum();
    Ok(sum / labels.len() as f64)
}

/// `n_classes x n_classes` counts, rows = true class, columns = predicted class.
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<Vec<Vec<usize>>> {
    pair(y_true, y_pred)?;
    validate::labels_below("y_true", y_true, n_classes)?;
    validate::labels_below("y_pred", y_pred, n_classes)?;
    let mut m = vec![vec![0usize; n_classes]; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        m[t][p] += 1;
    }
    Ok(m)
}

/// Recall of each class 0..n_classes (accuracy on that class's samples); `None` for a class
/// with no true sample.
pub fn per_class_recall(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<Vec<Option<f64>>> {
    let m = confusion_matrix(y_true, y_pred, n_classes)?;
    Ok(m.iter()
        .enumerate()
        .map(|(c, row)| {
            let total: usize = row.iter().sum();
            (total > 0).then(|| row[c] as f64 / total as f64)
        })
        .collect())
}

/// All of the above at once, for run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class_recall: Vec<Option<f64>>,
    pub confusion: Vec<Vec<usize>>,
}

impl ClassificationReport {
    pub fn new(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<Self> {
        Ok(ClassificationReport {
            accuracy: accuracy(y_true, y_pred)?,
            macro_f1: macro_f1(y_true, y_pred)?,
            per_class_recall: per_class_recall(y_true, y_pred, n_classes)?,
            confusion: confusion_matrix(y_true, y_pred, n_classes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        // true 0 0 1 1 2, pred 0 1 1 1 3: F1 per label {0: 2/3, 1: 4/5, 2: 0, 3: 0}.
        let t = [0, 0, 1, 1, 2];
        let p = [0, 1, 1, 1, 3];
        assert_eq!(accuracy(&t, &p).unwrap(), 0.6);
        let f1 = macro_f1(&t, &p).unwrap();
        assert!((f1 - (2.0 / 3.0 + 0.8) / 4.0).abs() < 1e-12, "{f1}");
        let m = confusion_matrix(&t, &p, 4).unwrap();
        assert_eq!(m[0], vec![1, 1, 0, 0]);
        assert_eq!(m[2], vec![0, 0, 0, 1]);
        assert_eq!(
            per_class_recall(&t, &p, 4).unwrap(),
            vec![Some(0.5), Some(1.0), Some(0.0), None]
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(accuracy(&[], &[]), Err(LinalgError::Empty { .. })));
        assert!(matches!(
            accuracy(&[1], &[1, 2]),
            Err(LinalgError::LengthMismatch { .. })
        ));
        assert!(matches!(
            confusion_matrix(&[0, 5], &[0, 1], 3),
            Err(LinalgError::LabelOutOfRange {
                index: 1,
                label: 5,
                ..
            })
        ));
    }
}
