//! The density ratio from a probabilistic domain classifier.

use super::input;
use super::ratio::{DensityRatio, Fitted};
use super::weights::InstanceWeights;
use super::Reweighter;
use crate::error::Result;
use crate::logistic::{LogisticModel, LogisticRegression};
use crate::matrix::Matrix;

/// Bickel et al. 2007 (ICML), "Discriminative learning for differing training and test
/// distributions", the domain-classifier ratio by Bayes' rule: `p_t(x) / p_s(x) =
/// (ns / nt) p(target | x) / p(source | x)`, with a logistic regression telling the domains
/// apart (scikit-learn's defaults, as in ADAPT's `IWC`, whose weights lack the `ns / nt`
/// prior factor).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiscriminativeRatio {
    pub classifier: LogisticRegression,
}

/// `r(x) = (ns / nt) exp(f(x))`, `f` the classifier's log-odds of "target": computed from the
/// log-odds directly, so that confident rows neither divide by zero nor lose precision.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierRatio {
    pub model: LogisticModel,
    /// `ns / nt`.
    pub prior: f64,
}

impl DensityRatio for ClassifierRatio {
    fn ratio(&self, x: &Matrix) -> Result<Vec<f64>> {
        let z = self.model.decision_function(x)?;
        Ok(z.data().iter().map(|&f| self.prior * f.exp()).collect())
    }
}

impl DiscriminativeRatio {
    /// The classifier-based ratio and the source weights.
    pub fn fit(&self, source: &Matrix, target: &Matrix) -> Result<Fitted<ClassifierRatio>> {
        input::domains(source, target)?;
        let (ns, nt) = (source.rows(), target.rows());
        let mut data = Vec::with_capacity((ns + nt) * source.cols());
        data.extend_from_slice(source.data());
        data.extend_from_slice(target.data());
        let x = Matrix::new(ns + nt, source.cols(), data)?;
        let y: Vec<usize> = (0..ns + nt).map(|i| usize::from(i >= ns)).collect();
        let model = self.classifier.fit(&x, &y, None)?;
        let ratio = ClassifierRatio {
            model,
            prior: ns as f64 / nt as f64,
        };
        let weights = ratio.ratio(source)?;
        let mut w = InstanceWeights::new("discriminative", weights).chose("c", ratio.model.c());
        if !ratio.model.converged() {
            w.notes.push(format!(
                "domain classifier stopped after {} iterations without meeting tol",
                ratio.model.n_iter()
            ));
        }
        if w.weights.iter().any(|v| !v.is_finite()) {
            w.notes
                .push("some log-odds overflowed; those weights are clipped to f64::MAX".into());
            w.weights.iter_mut().for_each(|v| *v = v.min(f64::MAX));
        }
        Ok(Fitted { ratio, weights: w })
    }
}

impl Reweighter for DiscriminativeRatio {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights> {
        Ok(self.fit(source, target)?.weights)
    }
}
