//! `graft reweight`: instance transfer. Weights every source sample by how target-like it is
//! (KMM, KLIEP, uLSIF, RuLSIF, nearest-neighbour weighting, a domain classifier) or by
//! TrAdaBoost with a few labelled target samples, writes the weights for `graft finetune
//! --sample-weights`, and, when labels allow, says whether the weights help a classifier on
//! the target.

use crate::feature_input::{Features, Labelled};
use crate::observe::Observer;
use crate::shallow_head::{Head, HeadName};
use crate::shallow_io::{normalise, same_width, training_set, Normalize};
use anyhow::{bail, Context};
use graft_shallow::boost::TrAdaBoost;
use graft_shallow::instance::{
    DiscriminativeRatio, InstanceWeights, Kliep, Kmm, NearestNeighborsWeighting, Reweighter,
    Rulsif, Ulsif,
};
use graft_shallow::{
    metrics, CSpec, Classifier, FittedClassifier, KNeighborsClassifier, Kernel, LinearSvc,
    LogisticRegression, Matrix, RidgeClassifier,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Method {
    Kmm,
    Kliep,
    Ulsif,
    Rulsif,
    Nnw,
    /// Discriminative density ratio from a probabilistic domain classifier
    Classifier,
    /// TrAdaBoost with labelled target samples (--target-labelled)
    Tradaboost,
}

/// A reweighting as the `graft reweight` flags describe it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ReweightSpec {
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub method: Method,
    /// Source features: a graft feature file, .npz (X[, y]), `FILE.npz:NAME`, svmlight or CSV
    #[cfg_attr(feature = "clap", arg(long))]
    pub source: PathBuf,
    /// Target features (labels not needed to weight; when present they measure the effect)
    #[cfg_attr(feature = "clap", arg(long))]
    pub target: PathBuf,
    /// Labelled target samples (TrAdaBoost trains on them)
    #[cfg_attr(feature = "clap", arg(long))]
    pub target_labelled: Option<PathBuf>,
    /// Labelled target test set for the accuracy check (default: the target's own labels)
    #[cfg_attr(feature = "clap", arg(long))]
    pub test: Option<PathBuf>,
    /// Weights file to write: CSV (`index,weight[,path]`) or .npy
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: PathBuf,
    /// RBF width(s) gamma in exp(-gamma |a-b|^2); a list is searched by cross-validation
    /// (kliep, ulsif, rulsif); default: the method's
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub gamma: Vec<f64>,
    /// Ridge penalty candidates of uLSIF/RuLSIF (cross-validated)
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub lambda: Vec<f64>,
    /// KMM: upper bound B of every weight
    #[cfg_attr(feature = "clap", arg(long))]
    pub b: Option<f64>,
    /// KMM: slack of the mean weight (default (sqrt(ns)-1)/sqrt(ns))
    #[cfg_attr(feature = "clap", arg(long))]
    pub eps: Option<f64>,
    /// RuLSIF: relative-ratio mixing alpha
    #[cfg_attr(feature = "clap", arg(long))]
    pub alpha: Option<f64>,
    /// NNW: neighbours counted per target sample
    #[cfg_attr(feature = "clap", arg(long))]
    pub k: Option<usize>,
    /// TrAdaBoost: boosting rounds
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 10))]
    pub n_estimators: usize,
    /// Classifier for the accuracy check and for TrAdaBoost
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = HeadName::Logreg))]
    pub classifier: HeadName,
    /// Inverse regularisation of logreg/svm (also of the domain classifier), penalty of ridge
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1.0))]
    pub c: f64,
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Normalize::None))]
    pub normalize: Normalize,
    /// Bins of the printed weight histogram
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 10))]
    pub bins: usize,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
}

/// A list flag as given, `None` when it was not given (the method's default applies).
fn given<T: Clone>(list: &[T]) -> Option<Vec<T>> {
    (!list.is_empty()).then(|| list.to_vec())
}

fn density_weights(a: &ReweightSpec, xs: &Matrix, xt: &Matrix) -> anyhow::Result<InstanceWeights> {
    let w = match a.method {
        Method::Kmm => {
            let mut m = Kmm {
                seed: a.seed,
                ..Default::default()
            };
            match a.gamma.as_slice() {
                [] => {}
                [g] => m.kernel = Some(Kernel::Rbf { gamma: *g }),
                _ => bail!("--gamma: KMM takes one kernel width, got {}", a.gamma.len()),
            }
            if let Some(b) = a.b {
                m.b = b;
            }
            m.eps = a.eps.or(m.eps);
            m.reweight(xs, xt)?
        }
        Method::Kliep => {
            let m = Kliep {
                gammas: given(&a.gamma).or(Kliep::default().gammas),
                seed: a.seed,
                ..Default::default()
            };
            m.reweight(xs, xt)?
        }
        Method::Ulsif => {
            let d = Ulsif::default();
            let m = Ulsif {
                gammas: given(&a.gamma).or(d.gammas.clone()),
                lambdas: given(&a.lambda).unwrap_or(d.lambdas),
                seed: a.seed,
                ..d
            };
            m.reweight(xs, xt)?
        }
        Method::Rulsif => {
            let d = Rulsif::default();
            let m = Rulsif {
                alpha: a.alpha.unwrap_or(d.alpha),
                gammas: given(&a.gamma).or(d.gammas.clone()),
                lambdas: given(&a.lambda).unwrap_or(d.lambdas),
                seed: a.seed,
                ..d
            };
            m.reweight(xs, xt)?
        }
        Method::Nnw => {
            let mut m = NearestNeighborsWeighting::default();
            if let Some(k) = a.k {
                m.n_neighbors = k;
            }
            m.reweight(xs, xt)?
        }
        Method::Classifier => {
            let mut m = DiscriminativeRatio::default();
            m.classifier.c = CSpec::Fixed(a.c);
            m.reweight(xs, xt)?
        }
        Method::Tradaboost => unreachable!("TrAdaBoost is handled apart"),
    };
    Ok(w)
}

/// TrAdaBoost with the chosen head: returns the final source weights and the ensemble's
/// predictions on `test`.
fn tradaboost(
    a: &ReweightSpec,
    source: &Labelled,
    tl: &Labelled,
    test: &Matrix,
) -> anyhow::Result<(Vec<f64>, Vec<usize>)> {
    fn go<C: Classifier>(
        est: C,
        n: usize,
        s: &Labelled,
        t: &Labelled,
        test: &Matrix,
    ) -> anyhow::Result<(Vec<f64>, Vec<usize>)> {
        let mut boost = TrAdaBoost::new(est);
        boost.n_estimators = n;
        let m = boost.fit(&s.x, &s.y, &t.x, &t.y)?;
        // The boosting weights of source and target sum to one together; as loss weights
        // they are rescaled to mean one over the source.
        let w = m.source_weights();
        let sum: f64 = w.iter().sum();
        let scale = if sum > 0.0 { w.len() as f64 / sum } else { 1.0 };
        Ok((w.iter().map(|v| v * scale).collect(), m.predict(test)?))
    }
    let n = a.n_estimators;
    match a.classifier {
        HeadName::Logreg => go(
            LogisticRegression {
                c: CSpec::Fixed(a.c),
                ..Default::default()
            },
            n,
            source,
            tl,
            test,
        ),
        HeadName::Svm => go(
            LinearSvc {
                c: a.c,
                seed: a.seed,
                ..Default::default()
            },
            n,
            source,
            tl,
            test,
        ),
        HeadName::Ridge => go(
            RidgeClassifier {
                alpha: a.c,
                ..Default::default()
            },
            n,
            source,
            tl,
            test,
        ),
        HeadName::Nn1 => go(
            KNeighborsClassifier {
                k: Some(1),
                ..Default::default()
            },
            n,
            source,
            tl,
            test,
        ),
    }
}

/// Source rows' file paths when the source is a graft feature file, for the weights file.
fn source_paths(path: &std::path::Path) -> Vec<String> {
    graft_data::features::FeatureSet::read(path)
        .map(|f| f.paths)
        .unwrap_or_default()
}

/// Weights the source rows of `a`, writes them to `a.out` with their report, and measures
/// the weights' effect on a classifier when labels allow.
pub fn run(a: &ReweightSpec, obs: &mut dyn Observer) -> anyhow::Result<ReweightResult> {
    let t0 = Instant::now();
    let mut source = Features::open(&a.source)?;
    let mut target = Features::open(&a.target)?;
    same_width(&target.source, &target.x, &source.source, &source.x)?;
    let source_labelled = source
        .clone()
        .labelled("the accuracy check and TrAdaBoost need source labels")
        .ok();
    let mut tl = match (&a.target_labelled, &source_labelled) {
        (Some(p), Some(s)) => {
            Some(s.align_test(Features::open(p)?.labelled("--target-labelled must be labelled")?)?)
        }
        (Some(_), None) => bail!("{}: TrAdaBoost needs a labelled source", source.source),
        (None, _) => None,
    };
    if a.method == Method::Tradaboost && tl.is_none() {
        bail!("--method tradaboost needs --target-labelled (a few labelled target samples)");
    }
    // The labelled set the effect is measured on: --test, else the target's own labels.
    let mut check: Option<Labelled> = match (&a.test, &source_labelled) {
        (Some(p), Some(s)) => {
            Some(s.align_test(Features::open(p)?.labelled("the test set must be labelled")?)?)
        }
        (None, Some(s)) => target
            .clone()
            .labelled("")
            .ok()
            .map(|t| s.align_test(t))
            .transpose()?,
        _ => None,
    };
    if let Some(t) = &check {
        same_width(&t.source, &t.x, &source.source, &source.x)?;
    }
    if let Some(t) = &tl {
        same_width(&t.source, &t.x, &source.source, &source.x)?;
    }
    let mut source_l = source_labelled;
    normalise(
        a.normalize,
        &mut source.x,
        &mut target.x,
        [
            tl.as_mut().map(|l| &mut l.x),
            check.as_mut().map(|l| &mut l.x),
            source_l.as_mut().map(|l| &mut l.x),
        ],
    )?;
    if let Some(s) = source_l.as_mut() {
        s.x = source.x.clone();
    }
    let fit_start = Instant::now();
    let head = Head {
        name: a.classifier,
        c: a.c,
        seed: a.seed,
    };
    let (weights, boosted_pred) = match a.method {
        Method::Tradaboost => {
            let s = source_l.as_ref().expect("checked above");
            let t = tl.as_ref().expect("checked above");
            let test_x = check.as_ref().map_or(&target.x, |c| &c.x);
            let (w, pred) = tradaboost(a, s, t, test_x)?;
            (
                InstanceWeights {
                    weights: w,
                    method: "tradaboost",
                    chosen: Vec::new(),
                    notes: Vec::new(),
                },
                Some(pred),
            )
        }
        _ => (density_weights(a, &source.x, &target.x)?, None),
    };
    let fit_secs = fit_start.elapsed().as_secs_f64();
    let n_s = weights.weights.len();
    crate::weights_file::write(&a.out, &weights.weights, &source_paths(&a.source))
        .with_context(|| format!("writing the weights to {}", a.out.display()))?;
    let ess = weights.effective_sample_size();
    let hist = weights.histogram(a.bins.max(1));

    // Effect on a classifier: the same head without and with the weights.
    let effect = match (&source_l, &check) {
        (Some(s), Some(t)) => {
            let (train_x, train_y, w_plain, w_new) = match &tl {
                Some(l) => {
                    let (x, y) = training_set(&s.x, &s.y, Some((&l.x, &l.y)))?;
                    let mut wn = weights.weights.clone();
                    wn.extend(std::iter::repeat_n(1.0, l.x.rows()));
                    (x, y, vec![1.0; s.x.rows() + l.x.rows()], wn)
                }
                None => (
                    s.x.clone(),
                    s.y.clone(),
                    vec![1.0; n_s],
                    weights.weights.clone(),
                ),
            };
            let base = head.fit_predict(&train_x, &train_y, Some(&w_plain), &t.x)?;
            let pred = match &boosted_pred {
                Some(p) => p.clone(),
                None => head.fit_predict(&train_x, &train_y, Some(&w_new), &t.x)?,
            };
            Some((
                metrics::accuracy(&t.y, &pred)?,
                metrics::accuracy(&t.y, &base)?,
                t.source.clone(),
            ))
        }
        _ => None,
    };
    let method_name = format!("{:?}", a.method).to_lowercase();
    let chosen: Vec<(String, String)> = weights
        .chosen
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let report = crate::report::weights::write_or_warn(
        &crate::report::weights::WeightsReport {
            method: &method_name,
            source: &source.source,
            target: &target.source,
            weights_file: &a.out,
            weights: &weights.weights,
            n_target: target.x.rows(),
            features: source.x.cols(),
            chosen: &chosen,
            notes: &weights.notes,
            effect: effect
                .as_ref()
                .map(|e| (e.0, e.1, head.label().to_string(), e.2.clone())),
        },
        obs,
    );
    Ok(ReweightResult {
        command: "reweight",
        method: a.method,
        source: source.source.clone(),
        target: target.source.clone(),
        n_source: n_s,
        n_target: target.x.rows(),
        d: source.x.cols(),
        out: a.out.display().to_string(),
        effective_sample_size: ess,
        weight_sum: weights.weights.iter().sum::<f64>(),
        weight_max: weights.weights.iter().cloned().fold(0.0, f64::max),
        histogram: hist,
        chosen: weights.chosen.iter().cloned().collect(),
        notes: weights.notes.clone(),
        classifier: effect.as_ref().map(|_| head.label().to_string()),
        accuracy: effect.as_ref().map(|e| e.0),
        baseline_accuracy: effect.as_ref().map(|e| e.1),
        helped: effect.as_ref().map(|e| e.0 > e.1),
        checked_on: effect.as_ref().map(|e| e.2.clone()),
        report,
        fit_seconds: fit_secs,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// What a reweighting produced and measured, as `graft reweight --json` prints it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReweightResult {
    pub command: &'static str,
    pub method: Method,
    pub source: String,
    pub target: String,
    pub n_source: usize,
    pub n_target: usize,
    pub d: usize,
    /// The weights file written.
    pub out: String,
    /// Kish's effective sample size of the weights.
    pub effective_sample_size: f64,
    pub weight_sum: f64,
    pub weight_max: f64,
    /// `[low, high, count]` per bin.
    pub histogram: Vec<(f64, f64, usize)>,
    /// Hyper-parameters chosen by cross-validation or derived from the data.
    pub chosen: BTreeMap<String, f64>,
    pub notes: Vec<String>,
    /// The head whose target accuracy measured the weights' effect, when labels allowed.
    pub classifier: Option<String>,
    pub accuracy: Option<f64>,
    pub baseline_accuracy: Option<f64>,
    /// Whether the weights beat the unweighted source; `false` is negative transfer.
    pub helped: Option<bool>,
    /// The labelled set the effect was measured on.
    #[serde(skip)]
    pub checked_on: Option<String>,
    pub report: Option<std::path::PathBuf>,
    pub fit_seconds: f64,
    pub seconds: f64,
}
