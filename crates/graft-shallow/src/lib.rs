//! Shallow transfer methods on feature matrices: linear and nearest-neighbour heads fitted on
//! frozen features (probing), classification metrics, and transferability scores that rank
//! pre-trained models without fine-tuning them. No deep-learning dependency: any `n x d`
//! matrix of features works.
//!
//! Estimators follow scikit-learn: a struct of hyper-parameters whose `Default` matches
//! scikit-learn's, and `fit(&x, &y, sample_weight)` returning a fitted model with `predict`,
//! `predict_proba` where meaningful and `decision_function`. Labels are class indices
//! (`usize`); a fitted model remembers the labels it saw (`classes()`).
//!
//! ```
//! use graft_shallow::{metrics, scores, CSpec, LogisticRegression, Matrix};
//!
//! let x = Matrix::from_rows(&[[0.0, 1.0], [0.2, 0.9], [1.0, 0.1], [0.9, 0.0]])?;
//! let y = [0, 0, 1, 1];
//! let model = LogisticRegression { c: CSpec::Fixed(10.0), ..Default::default() }.fit(&x, &y, None)?;
//! assert_eq!(model.predict(&x)?, y);
//! assert_eq!(metrics::accuracy(&y, &model.predict(&x)?)?, 1.0);
//! let logme = scores::log_me(&x, &y)?;
//! assert!(logme.is_finite());
//! # Ok::<(), graft_shallow::LinalgError>(())
//! ```

pub mod align;
pub mod boost;
mod cv;
mod error;
mod head;
pub mod instance;
pub mod kernel;
mod knn;
mod labels;
mod lbfgs;
mod line_search;
mod linear;
mod logistic;
mod matrix;
pub mod metrics;
pub mod regression;
mod ridge;
mod scaler;
pub mod scores;
mod svm;
pub mod tsne;
mod validate;

pub use cv::CrossValidation;
pub use error::{LinalgError, Result};
pub use head::{proba_from_decision, Classifier, FittedClassifier};
pub use kernel::Kernel;
pub use knn::{KNeighborsClassifier, KnnModel, Metric};
pub use lbfgs::Stop;
pub use logistic::{CSpec, LogisticModel, LogisticRegression};
pub use matrix::Matrix;
pub use metrics::ClassificationReport;
pub use ridge::{RidgeClassifier, RidgeModel};
pub use scaler::StandardScaler;
pub use svm::{LinearSvc, SvmModel};
