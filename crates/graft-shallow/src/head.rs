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
}

macro_rules! classifier {
    ($est:ty, $model:ty, $proba:expr) => {
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
        }
    };
}

classifier!(LogisticRegression, LogisticModel, |m, x| Some(
    m.predict_proba(x)
));
classifier!(RidgeClassifier, RidgeModel, |_, _| None);
classifier!(KNeighborsClassifier, KnnModel, |m, x| Some(
    m.predict_proba(x)
));
classifier!(LinearSvc, SvmModel, |_, _| None);
