//! Stratified k-fold splits for choosing a hyper-parameter by held-out accuracy (the way
//! scikit-learn's `LogisticRegressionCV` and `GridSearchCV` score classifiers).

use crate::error::{LinalgError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Number of folds and the seed of the shuffle that assigns samples to folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossValidation {
    /// Upper bound; fewer folds are used when the rarest class has fewer samples (at least 2).
    pub folds: usize,
    pub seed: u64,
}

impl Default for CrossValidation {
    fn default() -> Self {
        CrossValidation { folds: 5, seed: 0 }
    }
}

/// One split: training and held-out indices, both ascending.
#[derive(Debug, Clone)]
pub(crate) struct Fold {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Each class is shuffled on its own, then the classes are dealt round-robin into the folds,
/// so every fold holds each class in proportion and fold sizes differ by at most one.
pub(crate) fn stratified(
    codes: &[usize],
    n_classes: usize,
    cv: CrossValidation,
) -> Result<Vec<Fold>> {
    if cv.folds < 2 {
        return Err(LinalgError::param("cv.folds", cv.folds, "at least 2"));
    }
    let mut by_class = vec![Vec::new(); n_classes];
    for (i, &c) in codes.iter().enumerate() {
        by_class[c].push(i);
    }
    let rarest = by_class
        .iter()
        .map(Vec::len)
        .filter(|&m| m > 0)
        .min()
        .unwrap_or(0);
    let k = cv.folds.min(rarest).max(2);
    if codes.len() < 2 * k.max(2) {
        return Err(LinalgError::param(
            "cv.folds",
            k,
            "at least two samples per fold for cross-validation",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cv.seed);
    let mut fold_of = vec![0usize; codes.len()];
    let mut pos = 0;
    for members in &mut by_class {
        members.shuffle(&mut rng);
        for &i in members.iter() {
            fold_of[i] = pos % k;
            pos += 1;
        }
    }
    let folds = (0..k)
        .map(|f| {
            let (test, train) = (0..codes.len()).partition(|&i| fold_of[i] == f);
            Fold { train, test }
        })
        .collect::<Vec<Fold>>();
    for f in &folds {
        let first = codes[f.train[0]];
        if f.train.iter().all(|&i| codes[i] == first) {
            return Err(LinalgError::param(
                "cv.folds",
                k,
                "training folds that hold at least two classes (too few samples per class)",
            ));
        }
    }
    Ok(folds)
}

/// Unstratified shuffled k-fold over `n` samples (scikit-learn's `KFold(shuffle=True)`), for
/// estimators without labels, such as the density-ratio methods' width selection.
#[allow(dead_code)] // used by the density-ratio estimators
pub(crate) fn kfold(n: usize, cv: CrossValidation) -> Result<Vec<Fold>> {
    if cv.folds < 2 {
        return Err(LinalgError::param("cv.folds", cv.folds, "at least 2"));
    }
    if n < 2 * cv.folds {
        return Err(LinalgError::param(
            "cv.folds",
            cv.folds,
            "at least two samples per fold for cross-validation",
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(cv.seed));
    let mut fold_of = vec![0usize; n];
    for (pos, &i) in order.iter().enumerate() {
        fold_of[i] = pos % cv.folds;
    }
    Ok((0..cv.folds)
        .map(|f| {
            let (test, train) = (0..n).partition(|&i| fold_of[i] == f);
            Fold { train, test }
        })
        .collect())
}

/// Index of the best mean score; ties go to the earliest candidate (numpy's argmax).
pub(crate) fn best(scores: &[f64]) -> usize {
    crate::linear::argmax(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_disjoint_and_deterministic() {
        let codes: Vec<usize> = (0..103)
            .map(|i| usize::from(i % 4 == 0) + usize::from(i % 10 == 0))
            .collect();
        let a = stratified(&codes, 3, CrossValidation::default()).unwrap();
        let b = stratified(&codes, 3, CrossValidation::default()).unwrap();
        assert_eq!(a.len(), 5);
        let mut seen = vec![0; codes.len()];
        for (fa, fb) in a.iter().zip(&b) {
            assert_eq!(fa.test, fb.test);
            assert_eq!(fa.train.len() + fa.test.len(), codes.len());
            fa.test.iter().for_each(|&i| seen[i] += 1);
            for c in 0..3 {
                let total = codes.iter().filter(|&&x| x == c).count() as f64;
                let here = fa.test.iter().filter(|&&i| codes[i] == c).count() as f64;
                assert!(
                    (here - total / 5.0).abs() <= 1.0,
                    "class {c}: {here} of {total}"
                );
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        let c = stratified(&codes, 3, CrossValidation { folds: 5, seed: 9 }).unwrap();
        assert_ne!(a[0].test, c[0].test);
    }

    #[test]
    fn kfold_covers_every_sample_once() {
        let folds = kfold(11, CrossValidation { folds: 3, seed: 4 }).unwrap();
        let mut seen = [0; 11];
        for f in &folds {
            assert_eq!(f.train.len() + f.test.len(), 11);
            f.test.iter().for_each(|&i| seen[i] += 1);
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert!(kfold(5, CrossValidation { folds: 3, seed: 0 }).is_err());
    }

    #[test]
    fn fewer_folds_when_a_class_is_rare() {
        let mut codes = vec![0; 20];
        codes.extend([1, 1, 1]);
        assert_eq!(
            stratified(&codes, 2, CrossValidation::default())
                .unwrap()
                .len(),
            3
        );
    }
}
