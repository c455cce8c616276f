//! Classification metrics reported after every epoch, computed by graft-shallow's
//! scikit-learn-exact functions so the deep and shallow sides report the same numbers.

use crate::{NnError, Result};
use graft_shallow::ClassificationReport;
use serde::{Deserialize, Serialize};

/// Accuracy, macro-F1 (over the classes present in truth or predictions, zero when
/// undefined), per-class accuracy (recall; `None` for a class with no sample) and the confusion
/// matrix (rows: truth).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class_accuracy: Vec<Option<f64>>,
    pub confusion: Vec<Vec<usize>>,
    pub n: usize,
}

impl ClassMetrics {
    /// Metrics over the labelled samples (label >= 0) of `truth`.
    pub fn new(truth: &[i64], pred: &[i64], k: usize) -> Result<Self> {
        let (t, p): (Vec<usize>, Vec<usize>) = truth
            .iter()
            .zip(pred)
            .filter(|(&t, _)| t >= 0)
            .map(|(&t, &p)| (t as usize, p.max(0) as usize))
            .unzip();
        let r = ClassificationReport::new(&t, &p, k)
            .map_err(|e| NnError::Invalid(format!("computing metrics: {e}")))?;
        Ok(ClassMetrics {
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
            per_class_accuracy: r.per_class_recall,
            confusion: r.confusion,
            n: t.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn_on_a_small_case() {
        // sklearn: accuracy_score = 0.6, f1_score(average="macro") = (0.5 + 0.8 + 0) / 3.
        let t = [0, 0, 1, 1, 2, -1];
        let p = [0, 1, 1, 1, 0, 2];
        let m = ClassMetrics::new(&t, &p, 3).unwrap();
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert!((m.macro_f1 - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-12);
        assert_eq!(
            m.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert_eq!(m.per_class_accuracy, vec![Some(0.5), Some(1.0), Some(0.0)]);
        assert_eq!(m.n, 5);
    }
}
