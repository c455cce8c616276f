//! The classifier that `graft align` and `graft reweight` train on (aligned or re-weighted)
//! source features to measure target accuracy: 1-NN as the alignment papers evaluate, or one
//! of the probe heads.

use graft_shallow::{
    CSpec, Classifier, FittedClassifier, KNeighborsClassifier, LinearSvc, LogisticRegression,
    Matrix, RidgeClassifier,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum HeadName {
    /// One nearest neighbour (Euclidean), the evaluation of the JDA/TCA papers
    #[cfg_attr(feature = "clap", value(name = "1nn"))]
    Nn1,
    Logreg,
    Svm,
    Ridge,
}

/// A head and its regularisation.
#[derive(Clone, Copy, Debug)]
pub struct Head {
    pub name: HeadName,
    /// Inverse regularisation of logreg and svm, penalty of ridge.
    pub c: f64,
    pub seed: u64,
}

impl HeadName {
    /// The name `--classifier` takes.
    pub fn label(self) -> &'static str {
        match self {
            HeadName::Nn1 => "1nn",
            HeadName::Logreg => "logreg",
            HeadName::Svm => "svm",
            HeadName::Ridge => "ridge",
        }
    }
}

impl Head {
    pub fn label(&self) -> &'static str {
        self.name.label()
    }

    /// Fits on `(x, y)` with optional per-sample weights and predicts the rows of `test`.
    pub fn fit_predict(
        &self,
        x: &Matrix,
        y: &[usize],
        weights: Option<&[f64]>,
        test: &Matrix,
    ) -> anyhow::Result<Vec<usize>> {
        fn go<C: Classifier>(
            est: &C,
            x: &Matrix,
            y: &[usize],
            w: Option<&[f64]>,
            t: &Matrix,
        ) -> anyhow::Result<Vec<usize>> {
            Ok(est.fit(x, y, w)?.predict(t)?)
        }
        match self.name {
            HeadName::Nn1 => go(
                &KNeighborsClassifier {
                    k: Some(1),
                    ..Default::default()
                },
                x,
                y,
                weights,
                test,
            ),
            HeadName::Logreg => go(
                &LogisticRegression {
                    c: CSpec::Fixed(self.c),
                    ..Default::default()
                },
                x,
                y,
                weights,
                test,
            ),
            HeadName::Svm => go(
                &LinearSvc {
                    c: self.c,
                    seed: self.seed,
                    ..Default::default()
                },
                x,
                y,
                weights,
                test,
            ),
            HeadName::Ridge => go(
                &RidgeClassifier {
                    alpha: self.c,
                    ..Default::default()
                },
                x,
                y,
                weights,
                test,
            ),
        }
    }
}
