//! `graft align`: feature-representation transfer on feature matrices. Maps source and target
//! features into a shared space (PCA, CORAL, subspace alignment, TCA, JDA, feature
//! augmentation), trains a classifier on the mapped source (plus mapped labelled target rows)
//! and reports target accuracy next to the unaligned baseline, so every run says whether
//! alignment helped.

use anyhow::Context;
use graft::feature_input::{Features, Labelled};
use graft::shallow_head::{Head, HeadName};
use graft::shallow_io::{normalise, same_width, training_set, write_aligned, Normalize};
use graft_linalg::align::{
    AlignMethod, Coral, Domains, FeatureAugmentation, Jda, Pca, SubspaceAlignment, Tca,
};
use graft_linalg::kernel::median_sq_distance;
use graft_linalg::{metrics::ClassificationReport, Kernel, Matrix};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
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

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelName {
    /// The linear map in feature space (`z = x A`, a d x d problem), as the JDA benchmark
    Primal,
    /// Linear kernel over source + target (an n x n problem)
    Linear,
    /// Gaussian kernel over source + target
    Rbf,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum)]
    pub method: Method,
    /// Labelled source features: a graft feature file, .npz (X, y), `FILE.npz:NAME` (NAME_X,
    /// NAME_y), svmlight or CSV
    #[arg(long)]
    pub source: PathBuf,
    /// Target features (the unlabelled domain to adapt to); its labels, when present, are only
    /// used to measure accuracy unless --test is given
    #[arg(long)]
    pub target: PathBuf,
    /// A few labelled target samples (feature augmentation needs them; every method trains on
    /// them next to the source)
    #[arg(long)]
    pub target_labelled: Option<PathBuf>,
    /// Separate labelled target test set, mapped the way the target is
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Dimension of the shared space (pca, sa, tca, jda)
    #[arg(long)]
    pub dim: Option<usize>,
    /// Regulariser: TCA's mu, JDA's lambda, CORAL's lambda (default: the paper's)
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Form of TCA and JDA
    #[arg(long, value_enum, default_value_t = KernelName::Primal)]
    pub kernel: KernelName,
    /// RBF kernel width gamma in exp(-gamma |a-b|^2) (default: 1 / median squared distance)
    #[arg(long)]
    pub gamma: Option<f64>,
    /// JDA refinement iterations with pseudo-labels
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Per-sample normalisation applied to every set first (l2: unit-length rows, as the
    /// JDA/TCA benchmarks, whose embedded rows are then normalised again; zscore: mean and
    /// standard deviation of source and target together)
    #[arg(long, value_enum, default_value_t = Normalize::None)]
    pub normalize: Normalize,
    /// Classifier trained on the aligned source
    #[arg(long, value_enum, default_value_t = HeadName::Nn1)]
    pub classifier: HeadName,
    /// Inverse regularisation of logreg and svm, penalty of ridge
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Write the aligned features here (source.npz, target.npz[, test.npz]) for `graft probe`
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the result as one JSON object on stdout (`accuracy`: target accuracy in [0, 1])
    #[arg(long)]
    pub json: bool,
}

fn method(a: &Args, xs: &Matrix, xt: &Matrix) -> anyhow::Result<AlignMethod> {
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
            let mut m = Coral::default();
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

pub fn run(a: Args) -> anyhow::Result<()> {
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
    normalise(
        a.normalize,
        &mut source.x,
        &mut target.x,
        [
            target_labelled.as_mut().map(|l| &mut l.x),
            test.as_mut().map(|l| &mut l.x),
        ],
    )?;

    let m = method(&a, &source.x, &target.x)?;
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
    if a.normalize == Normalize::L2 && matches!(a.method, Method::Tca | Method::Jda) {
        // Long et al.'s code, which the JDA benchmark figures come from, normalises the
        // embedded rows again before 1-NN.
        let l2 = graft_linalg::align::l2_normalise_rows;
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
        Some(graft_linalg::metrics::accuracy(eval_y, &p)?)
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
    let method_name = format!("{:?}", a.method).to_lowercase();
    if a.json {
        println!(
            "{}",
            json!({
                "command": "align",
                "method": method_name,
                "classifier": head.label(),
                "source": source.source, "target": target.source,
                "test": test.as_ref().map(|t| t.source.clone()),
                "n_source": source.x.rows(), "n_target": target.x.rows(),
                "d": source.x.cols(), "aligned_d": aligned.source.cols(),
                "accuracy": r.accuracy,
                "macro_f1": r.macro_f1,
                "baseline_accuracy": baseline,
                "helped": baseline.map(|b| r.accuracy > b),
                "notes": aligned.notes,
                "fit_seconds": fit_secs,
                "seconds": t0.elapsed().as_secs_f64(),
            })
        );
    } else {
        println!(
            "{method_name} alignment: {} source x {} target rows, {} -> {} features; {} head",
            source.x.rows(),
            target.x.rows(),
            source.x.cols(),
            aligned.source.cols(),
            head.label()
        );
        for n in &aligned.notes {
            println!("  note: {n}");
        }
        println!(
            "  target accuracy {:.2}%   macro-F1 {:.4}   (alignment {fit_secs:.2} s)",
            100.0 * r.accuracy,
            r.macro_f1
        );
        if let Some(b) = baseline {
            let verdict = if r.accuracy > b {
                "alignment helped"
            } else {
                "warning: no gain over the unaligned baseline (negative transfer)"
            };
            println!(
                "  without alignment {:.2}%: {verdict} ({:+.2} points)",
                100.0 * b,
                100.0 * (r.accuracy - b)
            );
        }
        if let Some(dir) = &a.out {
            println!("  aligned features written to {}", dir.display());
        }
    }
    Ok(())
}
