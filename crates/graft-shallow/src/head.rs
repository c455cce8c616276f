//! One interface over the four heads, so a caller (the `probe` command) can hold any of them.

use crate::error::Result;
use crate::matrix::Matrix;
use crate::{
    KNeighborsClassifier, KnnModel, LinearSvc, LogisticModel, LogisticRegression, RidgeClassifier,
    RidgeModel, SvmModel,
};

/// A classifier's hyper-parameters.
pub trait Classifier {
    type Model: FittedClassifier;
    fn fit(&self, x: &Matrix, y: &[usize], sample_weight: Option<&[f64]>) -> Result<Self::Model>;
}

/// A fitted classifier.
pub trait FittedClassifier: Send + Sync {
    /// Training labels, ascending: the column order of `predict_proba`.
    fn classes(&self) -> &[usize];
    fn predict(&self, x: &Matrix) -> Result<Vec<usize>>;
    /// Class probabilities, or `None` for heads that have none (ridge, linear SVM).
    fn predict_proba(&self, x: &Matrix) -> Option<Result<Matrix>>;
    /// Signed scores of the linear heads (one column for two classes, positive meaning
    /// `classes()[1]`; else one per class), `None` for the others.
    fn decision_function(&self, x: &Matrix) -> Option<Result<Matrix>> {
        let _ = x;
        None
    }
}

/// Probabilities from linear scores as scikit-learn's `_predict_proba_lr` makes them (the
/// rule ADAPT applies to heads without `predict_proba`): the logistic of every score, `[1 - p,
/// p]` for one column, else each row divided by its sum (one-vs-rest).
pub fn proba_from_decision(scores: &Matrix) -> Matrix {
    let sigmoid = |s: f64| 1.0 / (1.0 + (-s).exp());
    let n = scores.rows();
    if scores.cols() == 1 {
        let data = (0..n)
            .flat_map(|i| {
                let p = sigmoid(scores.get(i, 0));
                [1.0 - p, p]
            })
            .collect();
        return Matrix::new(n, 2, data).expect("n x 2");
    }
    let mut out = Matrix::zeros(n, scores.cols());
    for i in 0..n {
        let row: Vec<f64> = scores.row(i).iter().map(|&s| sigmoid(s)).collect();
        let sum: f64 = row.iter().sum();
        out.row_mut(i)
            .iter_mut()
            .zip(&row)
            .for_each(|(o, p)| *o = p / sum);
    }
    out
}

macro_rules! classifier {
    ($est:ty, $model:ty, $proba:expr, $decision:expr) => {
        impl Classifier for $est {
            type Model = $model;
            fn fit(
                &self,
                x: &Matrix,
                y: &[usize],
                sample_weight: Option<&[f64]>,
            ) -> Result<$model> {
                <$est>::fit(self, x, y, sample_weight)
            }
        }
        impl FittedClassifier for $model {
            fn classes(&self) -> &[usize] {
                <$model>::classes(self)
            }
            fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
                <$model>::predict(self, x)
            }
            fn predict_proba(&self, x: &Matrix) -> Option<Result<Matrix>> {
                let f: fn(&$model, &Matrix) -> Option<Result<Matrix>> = $proba;
                f(self, x)
            }
            fn decision_function(&self, x: &Matrix) -> Option<Result<Matrix>> {
                let f: fn(&$model, &Matrix) -> Option<Result<Matrix>> = $decision;
                f(self, x)
            }
        }
    };
}

classifier!(
    LogisticRegression,
    LogisticModel,
    |m, x| Some(m.predict_proba(x)),
    |_, _| None
);
classifier!(RidgeClassifier, RidgeModel, |_, _| None, |m, x| Some(
    m.decision_function(x)
));
classifier!(
    KNeighborsClassifier,
    KnnModel,
    |m, x| Some(m.predict_proba(x)),
    |_, _| None
);
classifier!(LinearSvc, SvmModel, |_, _| None, |m, x| Some(
    m.decision_function(x)
));
