//! Classification metrics reported after every epoch.

use serde::{Deserialize, Serialize};

/// Accuracy, macro-F1 (scikit-learn's: over the classes present in truth or predictions,
/// zero when undefined), per-class accuracy (recall) and the confusion matrix (rows: truth).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class_accuracy: Vec<f64>,
    pub confusion: Vec<Vec<u64>>,
    pub n: usize,
}

impl ClassMetrics {
    pub fn new(truth: &[i64], pred: &[i64], k: usize) -> Self {
        let mut confusion = vec![vec![0u64; k]; k];
        for (&t, &p) in truth.iter().zip(pred) {
            if (0..k as i64).contains(&t) && (0..k as i64).contains(&p) {
                confusion[t as usize][p as usize] += 1;
            }
        }
        let n = truth.len();
        let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
        let row = |c: usize| confusion[c].iter().sum::<u64>();
        let col = |c: usize| confusion.iter().map(|r| r[c]).sum::<u64>();
        let per_class_accuracy = (0..k)
            .map(|c| match row(c) {
                0 => 0.0,
                r => confusion[c][c] as f64 / r as f64,
            })
            .collect();
        let present: Vec<usize> = (0..k).filter(|&c| row(c) + col(c) > 0).collect();
        let f1 = |c: usize| {
            let tp = confusion[c][c] as f64;
            let denom = (row(c) + col(c)) as f64;
            if denom == 0.0 {
                0.0
            } else {
                2.0 * tp / denom
            }
        };
        let macro_f1 = if present.is_empty() {
            0.0
        } else {
            present.iter().map(|&c| f1(c)).sum::<f64>() / present.len() as f64
        };
        ClassMetrics {
            accuracy: if n == 0 {
                0.0
            } else {
                correct as f64 / n as f64
            },
            macro_f1,
            per_class_accuracy,
            confusion,
            n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn_on_a_small_case() {
        // sklearn: accuracy_score = 0.6, f1_score(average="macro") = 0.5555...
        let t = [0, 0, 1, 1, 2];
        let p = [0, 1, 1, 1, 0];
        let m = ClassMetrics::new(&t, &p, 3);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert!((m.macro_f1 - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-12);
        assert_eq!(
            m.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert_eq!(m.per_class_accuracy, vec![0.5, 1.0, 0.0]);
    }
}
