//! TrAdaBoost for classification over any head that accepts sample weights.

use super::{check_domains, check_rounds, estimator_weight, learner_weights, normalise, stack};
use crate::error::{LinalgError, Result};
use crate::head::{Classifier, FittedClassifier};
use crate::labels;
use crate::linear::argmax;
use crate::matrix::Matrix;
use crate::validate;

/// Dai, Yang, Xue & Yu, "Boosting for transfer learning", ICML 2007, Algorithm 1, with
/// ADAPT's multi-class reading: per-sample error 1/2 sum_k |p_k(x) - [y = k]| (for a linear head
/// without probabilities, `p` from its scores as scikit-learn's `_predict_proba_lr`, as ADAPT
/// does; the 0/1 error for a head with neither), beta_t = e_t / (2 - e_t) instead of e_t / (1 - e_t) so any
/// target error below 1 still raises the weight of missed target samples, and the final
/// vote sums the class probabilities of the last N - floor(N/2) rounds weighted by
/// ln(1 / beta_t) (the paper's rounds ceil(N/2)..N hold one more when N is even).
#[derive(Debug, Clone, PartialEq)]
pub struct TrAdaBoost<C: Classifier> {
    /// The learner fitted each round on source and target with the current weights.
    pub estimator: C,
    /// Boosting rounds N (ADAPT: 10).
    pub n_estimators: usize,
    /// Exponent on every weight update (ADAPT: 1); larger moves weights faster.
    pub lr: f64,
}

impl<C: Classifier> TrAdaBoost<C> {
    /// ADAPT's defaults around `estimator`.
    pub fn new(estimator: C) -> Self {
        TrAdaBoost {
            estimator,
            n_estimators: 10,
            lr: 1.0,
        }
    }
}

impl<C: Classifier + Default> Default for TrAdaBoost<C> {
    fn default() -> Self {
        TrAdaBoost::new(C::default())
    }
}

/// A fitted TrAdaBoost ensemble: the voting rounds and the instance weights it ended with.
#[derive(Debug, Clone)]
pub struct TrAdaBoostModel<M> {
    classes: Vec<usize>,
    n_features: usize,
    estimators: Vec<M>,
    vote_weights: Vec<f64>,
    errors: Vec<f64>,
    source_weights: Vec<f64>,
    target_weights: Vec<f64>,
}

impl<C: Classifier> TrAdaBoost<C> {
    /// Fits on labelled source and (few) labelled target samples. Target labels must all occur
    /// among the source labels: the source defines the classes.
    pub fn fit(
        &self,
        source: &Matrix,
        source_labels: &[usize],
        target: &Matrix,
        target_labels: &[usize],
    ) -> Result<TrAdaBoostModel<C::Model>> {
        check_rounds("n_estimators", self.n_estimators)?;
        validate::positive("lr", self.lr)?;
        check_domains(source, target)?;
        validate::length(
            "source_labels",
            source_labels.len(),
            "source",
            source.rows(),
        )?;
        validate::length(
            "target_labels",
            target_labels.len(),
            "target",
            target.rows(),
        )?;
        let classes = labels::encode("source_labels", source_labels)?.classes;
        if let Some(i) = target_labels
            .iter()
            .position(|l| classes.binary_search(l).is_err())
        {
            return Err(LinalgError::param(
                "target_labels",
                format!("label {} at index {i}", target_labels[i]),
                "labels that also occur in source_labels",
            ));
        }
        let (ns, nt, n_rounds) = (source.rows(), target.rows(), self.n_estimators);
        let x = stack(source, target)?;
        let y: Vec<usize> = source_labels.iter().chain(target_labels).copied().collect();
        let codes: Vec<usize> = y
            .iter()
            .map(|l| classes.binary_search(l).unwrap_or(0))
            .collect();
        let n = (ns + nt) as f64;
        let (mut ws, mut wt) = (vec![1.0 / n; ns], vec![1.0 / n; nt]);
        normalise("tradaboost", 0, &mut ws, &mut wt)?;
        // Algorithm 1: beta = 1 / (1 + sqrt(2 ln n / N)), n the source size.
        let beta_s = 1.0 / (1.0 + (2.0 * (ns as f64).ln() / n_rounds as f64).sqrt());
        let first_vote = n_rounds / 2;
        let mut estimators = Vec::with_capacity(n_rounds - first_vote);
        let mut errors = Vec::with_capacity(n_rounds);
        for round in 0..n_rounds {
            let model = self
                .estimator
                .fit(&x, &y, Some(&learner_weights(&ws, &wt)))?;
            let scores = class_scores(&model, &x, &classes)?;
            let miss: Vec<f64> = codes
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    0.5 * scores
                        .row(i)
                        .iter()
                        .enumerate()
                        .map(|(k, p)| (p - f64::from(u8::from(k == c))).abs())
                        .sum::<f64>()
                })
                .collect();
            let (miss_s, miss_t) = miss.split_at(ns);
            let error =
                wt.iter().zip(miss_t).map(|(w, e)| w * e).sum::<f64>() / wt.iter().sum::<f64>();
            errors.push(error);
            if round >= first_vote {
                estimators.push(model);
            }
            if round + 1 < n_rounds {
                let beta_t = error / (2.0 - error);
                ws.iter_mut()
                    .zip(miss_s)
                    .for_each(|(w, e)| *w *= beta_s.powf(self.lr * e));
                wt.iter_mut()
                    .zip(miss_t)
                    .for_each(|(w, e)| *w *= beta_t.powf(-self.lr * e));
                normalise("tradaboost", round, &mut ws, &mut wt)?;
            }
        }
        let vote_weights = errors[first_vote..]
            .iter()
            .map(|&e| estimator_weight(e))
            .collect();
        Ok(TrAdaBoostModel {
            classes,
            n_features: source.cols(),
            estimators,
            vote_weights,
            errors,
            source_weights: ws,
            target_weights: wt,
        })
    }
}

/// `n x classes.len()` probabilities of one round's head, columns in the order of `classes`:
/// as ADAPT takes them, the head's `predict_proba`, else probabilities from a linear head's
/// scores (scikit-learn's `_predict_proba_lr`, [`crate::head::proba_from_decision`]), else
/// one-hot predictions.
fn class_scores<M: FittedClassifier>(model: &M, x: &Matrix, classes: &[usize]) -> Result<Matrix> {
    let col = |label: usize| classes.binary_search(&label).ok();
    let mut out = Matrix::zeros(x.rows(), classes.len());
    let proba = match (model.predict_proba(x), model.decision_function(x)) {
        (Some(p), _) => Some(p),
        (None, Some(d)) => Some(d.map(|d| crate::head::proba_from_decision(&d))),
        (None, None) => None,
    };
    match proba {
        Some(p) => {
            let p = p?;
            let cols: Vec<Option<usize>> = model.classes().iter().map(|&l| col(l)).collect();
            for i in 0..x.rows() {
                let (src, dst) = (p.row(i), out.row_mut(i));
                for (v, c) in src.iter().zip(&cols) {
                    if let Some(c) = c {
                        dst[*c] += v;
                    }
                }
            }
        }
        None => {
            for (i, l) in model.predict(x)?.into_iter().enumerate() {
                if let Some(c) = col(l) {
                    out.row_mut(i)[c] = 1.0;
                }
            }
        }
    }
    Ok(out)
}

impl<M: FittedClassifier> TrAdaBoostModel<M> {
    /// Weighted target error of every round (ADAPT's `estimator_errors_`).
    pub fn errors(&self) -> &[f64] {
        &self.errors
    }

    /// Source instance weights of the last round, normalised with the target's to sum to one
    /// (ADAPT's `predict_weights("src")`): low weight marks source samples unlike the target task.
    pub fn source_weights(&self) -> &[f64] {
        &self.source_weights
    }

    /// Target instance weights of the last round, on the same scale as `source_weights`.
    pub fn target_weights(&self) -> &[f64] {
        &self.target_weights
    }

    /// The heads of the voting rounds (the second half), oldest first.
    pub fn estimators(&self) -> &[M] {
        &self.estimators
    }

    /// Vote of each head in `estimators()`: ln(1 / beta_t).
    pub fn estimator_weights(&self) -> &[f64] {
        &self.vote_weights
    }

    /// Weighted sum of the voting heads' class probabilities, `n x classes().len()`.
    fn vote(&self, x: &Matrix) -> Result<Matrix> {
        validate::same_cols("x", x, self.n_features)?;
        let mut vote = Matrix::zeros(x.rows(), self.classes.len());
        for (model, &a) in self.estimators.iter().zip(&self.vote_weights) {
            let s = class_scores(model, x, &self.classes)?;
            vote.data_mut()
                .iter_mut()
                .zip(s.data())
                .for_each(|(v, p)| *v += a * p);
        }
        Ok(vote)
    }
}

impl<M: FittedClassifier> FittedClassifier for TrAdaBoostModel<M> {
    fn classes(&self) -> &[usize] {
        &self.classes
    }

    fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        let vote = self.vote(x)?;
        Ok((0..vote.rows())
            .map(|i| self.classes[argmax(vote.row(i))])
            .collect())
    }

    /// The vote divided by the sum of the vote weights: a convex mix of the heads' probabilities.
    fn predict_proba(&self, x: &Matrix) -> Option<Result<Matrix>> {
        let total: f64 = self.vote_weights.iter().sum();
        Some(self.vote(x).map(|mut v| {
            v.data_mut().iter_mut().for_each(|p| *p /= total);
            v
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LogisticRegression, RidgeClassifier};

    /// Source: two classes split on feature 0, plus a block of source samples whose labels
    /// contradict the target's rule (split on feature 1). Target: split on feature 1 only.
    fn shifted() -> (Matrix, Vec<usize>, Matrix, Vec<usize>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..40 {
            let a = (i % 10) as f64 / 10.0;
            let b = ((i * 7) % 10) as f64 / 10.0;
            xs.push([a, b]);
            // the first 30 follow the target rule, the last 10 the opposite one
            let up = b > 0.45;
            ys.push(usize::from(if i < 30 { up } else { !up }));
        }
        let xt: Vec<[f64; 2]> = (0..8).map(|i| [0.5, 0.05 + 0.12 * i as f64]).collect();
        let yt = xt.iter().map(|r| usize::from(r[1] > 0.45)).collect();
        (
            Matrix::from_rows(&xs).unwrap(),
            ys,
            Matrix::from_rows(&xt).unwrap(),
            yt,
        )
    }

    #[test]
    fn contradicting_source_samples_lose_weight() {
        let (xs, ys, xt, yt) = shifted();
        let head = LogisticRegression {
            c: crate::CSpec::Fixed(10.0),
            ..Default::default()
        };
        let m = TrAdaBoost::new(head).fit(&xs, &ys, &xt, &yt).unwrap();
        let w = m.source_weights();
        let agree = w[..30].iter().sum::<f64>() / 30.0;
        let contra = w[30..].iter().sum::<f64>() / 10.0;
        assert!(contra < agree, "contradicting {contra} vs agreeing {agree}");
        let total: f64 = w.iter().chain(m.target_weights()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(m.errors().len(), 10);
        assert_eq!(m.estimators().len(), 5);
        assert_eq!(m.predict(&xt).unwrap(), yt);
        let p = m.predict_proba(&xt).unwrap().unwrap();
        assert!((p.row(0).iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn linear_heads_without_probabilities_use_probabilities_from_their_scores() {
        let (xs, ys, xt, yt) = shifted();
        let m = TrAdaBoost {
            n_estimators: 3,
            ..TrAdaBoost::new(RidgeClassifier::default())
        }
        .fit(&xs, &ys, &xt, &yt)
        .unwrap();
        // Round 0 weighs the 8 targets equally; a 0/1 error would be a multiple of 1/8.
        let missed = 8.0 * m.errors()[0];
        assert!((missed - missed.round()).abs() > 1e-6, "{missed}");
        assert!(m.errors().iter().all(|e| (0.0..=1.0).contains(e)));
        assert_eq!(m.estimators().len(), 2);
        let p = m.predict_proba(&xt).unwrap().unwrap();
        assert!(p.data().iter().all(|v| (0.0..=1.0 + 1e-12).contains(v)));
    }

    #[test]
    fn deterministic() {
        let (xs, ys, xt, yt) = shifted();
        let b = TrAdaBoost::new(LogisticRegression::default());
        let (m1, m2) = (
            b.fit(&xs, &ys, &xt, &yt).unwrap(),
            b.fit(&xs, &ys, &xt, &yt).unwrap(),
        );
        assert_eq!(m1.source_weights(), m2.source_weights());
        assert_eq!(m1.errors(), m2.errors());
    }
}
