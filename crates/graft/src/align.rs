//! `graft align`: feature-representation transfer on feature matrices. Maps source and target
//! features into a shared space (PCA, CORAL, subspace alignment, TCA, JDA, feature
//! augmentation), trains a classifier on the mapped source (plus mapped labelled target rows)
//! and reports target accuracy next to the unaligned baseline, so every run says whether
//! alignment helped.

use crate::feature_input::{Features, Labelled};
use crate::shallow_head::{Head, HeadName};
use crate::shallow_io::{normalise, same_width, training_set, write_aligned, Normalize};
use anyhow::Context;
use graft_shallow::align::{
    AlignMethod, Coral, Domains, FeatureAugmentation, Jda, LambdaScale, Pca, SubspaceAlignment, Tca,
};
use graft_shallow::kernel::median_sq_distance;
use graft_shallow::{metrics::ClassificationReport, Kernel, Matrix};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Method {
    /// No adaptation: the baseline
    None,
    Pca,
    Coral,
    Sa,
    Tca,
    Jda,
    Fa,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CoralScale {
    Variance,
    Absolute,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum KernelName {
    /// The linear map in feature space (`z = x A`, a d x d problem), as the JDA benchmark
    Primal,
    /// Linear kernel over source + target (an n x n problem)
    Linear,
    /// Gaussian kernel over source + target
    Rbf,
}

/// An alignment as the `graft align` flags describe it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct AlignSpec {
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub method: Method,
    /// Labelled source features: a graft feature file, .npz (X, y), `FILE.npz:NAME` (NAME_X,
    /// NAME_y), svmlight or CSV
    #[cfg_attr(feature = "clap", arg(long))]
    pub source: PathBuf,
    /// Target features (the unlabelled domain to adapt to); its labels, when present, are only
    /// used to measure accuracy unless --test is given
    #[cfg_attr(feature = "clap", arg(long))]
    pub target: PathBuf,
    /// A few labelled target samples (feature augmentation needs them; every method trains on
    /// them next to the source)
    #[cfg_attr(feature = "clap", arg(long))]
    pub target_labelled: Option<PathBuf>,
    /// Separate labelled target test set, mapped the way the target is
    #[cfg_attr(feature = "clap", arg(long))]
    pub test: Option<PathBuf>,
    /// Dimension of the shared space (pca, sa, tca, jda)
    #[cfg_attr(feature = "clap", arg(long))]
    pub dim: Option<usize>,
    /// Regulariser: TCA's mu, JDA's lambda, CORAL's lambda (default: the paper's)
    #[cfg_attr(feature = "clap", arg(long))]
    pub lambda: Option<f64>,
    /// CORAL: --lambda in units of the features' mean variance (variance: the paper's lambda
    /// = 1 on standardised features, the same strength at any scale) or as it is (absolute)
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = CoralScale::Variance))]
    pub coral_scale: CoralScale,
    /// Form of TCA and JDA
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = KernelName::Primal))]
    pub kernel: KernelName,
    /// RBF kernel width gamma in exp(-gamma |a-b|^2) (default: 1 / median squared distance)
    #[cfg_attr(feature = "clap", arg(long))]
    pub gamma: Option<f64>,
    /// JDA refinement iterations with pseudo-labels
    #[cfg_attr(feature = "clap", arg(long))]
    pub iterations: Option<usize>,
    /// Per-sample normalisation applied to every set first (l2: unit-length rows, whose
    /// TCA/JDA embeddings are normalised again before the classifier; zscore: mean and standard
    /// deviation of source and target together; none). Default: the method's reference
    /// protocol, l2 for none, pca, tca and jda (Long et al.'s benchmark code), none for coral,
    /// sa and fa
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub normalize: Option<Normalize>,
    /// Classifier trained on the aligned source
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = HeadName::Nn1))]
    pub classifier: HeadName,
    /// Inverse regularisation of logreg and svm, penalty of ridge
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1.0))]
    pub c: f64,
    /// Write the aligned features here (source.npz, target.npz[, test.npz]) for `graft probe`
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: Option<PathBuf>,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
}

impl Method {
    /// The normalisation the method's reference code applies: the JDA and TCA benchmark code
    /// (Long et al. 2013, whose table also gives the NN and PCA baselines) scales every row to
    /// unit length; CORAL, SA and FA take the features as they are.
    pub fn default_normalize(self) -> Normalize {
        match self {
            Method::None | Method::Pca | Method::Tca | Method::Jda => Normalize::L2,
            Method::Coral | Method::Sa | Method::Fa => Normalize::None,
        }
    }
}

fn method(a: &AlignSpec, xs: &Matrix, xt: &Matrix) -> anyhow::Result<AlignMethod> {
    let kernel = match a.kernel {
        KernelName::Primal => None,
        KernelName::Linear => Some(Kernel::Linear),
        KernelName::Rbf => Some(Kernel::Rbf {
            gamma: match a.gamma {
                Some(g) => g,
                None => {
                    // Default width: the median heuristic over both domains.
                    let both = Matrix::new(
                        xs.rows() + xt.rows(),
                        xs.cols(),
                        [xs.data(), xt.data()].concat(),
                    )?;
                    1.0 / median_sq_distance(&both, 1000)?.max(f64::MIN_POSITIVE)
                }
            },
        }),
    };
    Ok(match a.method {
        Method::None => AlignMethod::None,
        Method::Pca => {
            let mut m = Pca::default();
            if let Some(d) = a.dim {
                m.dim = d;
            }
            AlignMethod::Pca(m)
        }
        Method::Coral => {
            let mut m = Coral {
                scale: match a.coral_scale {
                    CoralScale::Variance => LambdaScale::MeanVariance,
                    CoralScale::Absolute => LambdaScale::Absolute,
                },
                ..Coral::default()
            };
            if let Some(l) = a.lambda {
                m.lambda = l;
            }
            AlignMethod::Coral(m)
        }
        Method::Sa => {
            let mut m = SubspaceAlignment::default();
            if let Some(d) = a.dim {
                m.dim = d;
            }
            AlignMethod::Sa(m)
        }
        Method::Tca => {
            let mut m = Tca {
                kernel,
                ..Default::default()
            };
            if let Some(d) = a.dim {
                m.dim = d;
            }
            if let Some(l) = a.lambda {
                m.mu = l;
            }
            AlignMethod::Tca(m)
        }
        Method::Jda => {
            let mut m = Jda {
                kernel,
                ..Default::default()
            };
            if let Some(d) = a.dim {
                m.dim = d;
            }
            if let Some(l) = a.lambda {
                m.lambda = l;
            }
            if let Some(t) = a.iterations {
                m.iterations = t;
            }
            AlignMethod::Jda(m)
        }
        Method::Fa => AlignMethod::Fa(FeatureAugmentation),
    })
}

/// Runs the alignment `a`, measures target accuracy with its head, and the same head on the
/// unaligned features as the baseline.
pub fn run(a: &AlignSpec) -> anyhow::Result<AlignResult> {
    let t0 = Instant::now();
    let mut source = Features::open(&a.source)?.labelled("the source domain must be labelled")?;
    let mut target = Features::open(&a.target)?;
    let mut target_labelled = a
        .target_labelled
        .as_deref()
        .map(|p| -> anyhow::Result<Labelled> {
            let l = Features::open(p)?.labelled("--target-labelled must be labelled")?;
            source.align_test(l)
        })
        .transpose()?;
    let mut test = a
        .test
        .as_deref()
        .map(|p| -> anyhow::Result<Labelled> {
            source.align_test(Features::open(p)?.labelled("the test set must be labelled")?)
        })
        .transpose()?;
    same_width(&target.source, &target.x, &source.source, &source.x)?;
    // Accuracy is measured on --test, else on the target's own labels.
    let target_eval = match &test {
        Some(_) => None,
        None => {
            let t = target
                .clone()
                .labelled("give --test, or a target file with labels, to measure accuracy")?;
            Some(source.align_test(t)?.y)
        }
    };
    let normalize = a.normalize.unwrap_or(a.method.default_normalize());
    normalise(
        normalize,
        &mut source.x,
        &mut target.x,
        [
            target_labelled.as_mut().map(|l| &mut l.x),
            test.as_mut().map(|l| &mut l.x),
        ],
    )?;

    let m = method(a, &source.x, &target.x)?;
    let fit_start = Instant::now();
    let aligned = m
        .fit(&Domains {
            source: &source.x,
            source_labels: &source.y,
            target: &target.x,
            target_labelled: target_labelled.as_ref().map(|l| (&l.x, l.y.as_slice())),
        })
        .with_context(|| format!("{:?} alignment", a.method).to_lowercase())?;
    let mut test_x = match &test {
        Some(t) => Some(aligned.transform_target(&t.x)?),
        None => None,
    };
    let mut aligned = aligned;
    if normalize == Normalize::L2 && matches!(a.method, Method::Tca | Method::Jda) {
        // Long et al.'s code, which the JDA benchmark figures come from, normalises the
        // embedded rows again before 1-NN.
        let l2 = graft_shallow::align::l2_normalise_rows;
        aligned.source = l2(&aligned.source);
        aligned.target = l2(&aligned.target);
        aligned.target_labelled = aligned.target_labelled.as_ref().map(l2);
        test_x = test_x.as_ref().map(l2);
    }
    let fit_secs = fit_start.elapsed().as_secs_f64();
    let head = Head {
        name: a.classifier,
        c: a.c,
        seed: a.seed,
    };
    let (eval_x, eval_y) = match (&test_x, &test, &target_eval) {
        (Some(x), Some(t), _) => (x, t.y.as_slice()),
        (None, _, Some(y)) => (&aligned.target, y.as_slice()),
        _ => unreachable!("either --test or target labels were checked above"),
    };
    let tl = match (&aligned.target_labelled, &target_labelled) {
        (Some(x), Some(l)) => Some((x, l.y.as_slice())),
        _ => None,
    };
    let (train_x, train_y) = training_set(&aligned.source, &source.y, tl)?;
    let pred = head.fit_predict(&train_x, &train_y, None, eval_x)?;
    let k = source.class_names.len();
    let r = ClassificationReport::new(eval_y, &pred, k)?;

    // The unaligned baseline with the same head and data, unless this run is the baseline.
    let baseline = if a.method == Method::None {
        None
    } else {
        let plain_eval = match &test {
            Some(t) => &t.x,
            None => &target.x,
        };
        let extra = target_labelled.as_ref().map(|l| (&l.x, l.y.as_slice()));
        let (bx, by) = training_set(&source.x, &source.y, extra)?;
        let p = head.fit_predict(&bx, &by, None, plain_eval)?;
        Some(graft_shallow::metrics::accuracy(eval_y, &p)?)
    };

    if let Some(dir) = &a.out {
        write_aligned(
            dir,
            &aligned,
            &source,
            target_eval.as_deref(),
            test_x.as_ref(),
            test.as_ref(),
        )?;
    }
    Ok(AlignResult {
        command: "align",
        method: a.method,
        normalize,
        classifier: head.label().to_string(),
        source: source.source.clone(),
        target: target.source.clone(),
        test: test.as_ref().map(|t| t.source.clone()),
        n_source: source.x.rows(),
        n_target: target.x.rows(),
        d: source.x.cols(),
        aligned_d: aligned.source.cols(),
        accuracy: r.accuracy,
        macro_f1: r.macro_f1,
        baseline_accuracy: baseline,
        helped: baseline.map(|b| r.accuracy > b),
        notes: aligned.notes.clone(),
        fit_seconds: fit_secs,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// What an alignment measured, as `graft align --json` prints it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AlignResult {
    pub command: &'static str,
    pub method: Method,
    /// The normalisation applied (the method's default unless one was asked for).
    pub normalize: Normalize,
    pub classifier: String,
    pub source: String,
    pub target: String,
    pub test: Option<String>,
    pub n_source: usize,
    pub n_target: usize,
    pub d: usize,
    pub aligned_d: usize,
    /// Target accuracy in [0, 1] (on the test set when one was given).
    pub accuracy: f64,
    pub macro_f1: f64,
    /// The same head on the unaligned features (absent for `--method none`).
    pub baseline_accuracy: Option<f64>,
    /// Whether alignment beat the baseline; `false` is negative transfer.
    pub helped: Option<bool>,
    pub notes: Vec<String>,
    pub fit_seconds: f64,
    pub seconds: f64,
}
