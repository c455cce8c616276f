//! auto's strategies on feature vectors that need no network: a logistic regression on the
//! target labels alone (the baseline), the source used as it is and beside the target labels,
//! the feature alignments (CORAL, SA, feature augmentation, TCA, JDA), the instance weightings
//! (uLSIF, KLIEP, KMM) and TrAdaBoost. Each is the library call of the command that repeats
//! it (`graft probe`, `graft align`, `graft reweight`), trained on the training part of the
//! target labels and measured on the held-out part, with the classifier and preprocessing of
//! the method's paper: 1-NN on L2-normalised rows for TCA and JDA (Long et al.'s code), 1-NN
//! for subspace alignment (Fernando et al. 2013), logistic regression for the others.

use super::trial::Job;
use crate::align::{AlignSpec, CoralScale, KernelName, Method as AlignMethod};
use crate::probe::{Head as ProbeHead, MetricName, ProbeSpec};
use crate::reweight::{Method as ReweightMethod, ReweightSpec};
use crate::shallow_head::HeadName;
use crate::shallow_io::Normalize;
use std::path::PathBuf;

/// The vector sets a search works on (paths of files every command reads).
pub struct VectorSets {
    /// The training and held-out parts of the target labels.
    pub train: String,
    pub val: String,
    pub source: Option<String>,
    /// Unlabelled target rows; the training part stands in when none were given.
    pub unlabelled: Option<String>,
    pub n_source: usize,
    pub n_target: usize,
    /// Features per row.
    pub d: usize,
}

/// A shallow strategy: its name, what it does, whether it transfers, and its run.
pub struct Shallow {
    pub name: &'static str,
    pub what: &'static str,
    pub transfer: bool,
    pub job: Job,
}

/// The shallow strategies `v` allows, cheapest first.
pub fn strategies(v: &VectorSets, seed: u64) -> Vec<Shallow> {
    let mut out = vec![Shallow {
        name: "target only",
        what: "logistic regression on the target labels only (the baseline)",
        transfer: false,
        job: Job::Probe(probe(&v.train, Some(&v.val), seed)),
    }];
    let Some(source) = &v.source else {
        return out;
    };
    let target = v.unlabelled.clone().unwrap_or_else(|| v.train.clone());
    // Kernel TCA and JDA solve an n x n problem instead of a d x d one: the cheaper of the two.
    let kernel = if v.d > v.n_source + v.n_target {
        KernelName::Linear
    } else {
        KernelName::Primal
    };
    // The subspace methods' dimension (100 in the papers) cannot exceed the data's.
    let most = v.d.min(v.n_source).min(v.n_target);
    let dim = (most < 100).then_some(most);
    let align = |method, head, normalize, labelled: bool| {
        Job::Align(AlignSpec {
            method,
            source: PathBuf::from(source),
            target: PathBuf::from(&target),
            target_labelled: labelled.then(|| PathBuf::from(&v.train)),
            test: Some(PathBuf::from(&v.val)),
            dim,
            lambda: None,
            coral_scale: CoralScale::Variance,
            kernel,
            gamma: None,
            iterations: None,
            normalize: Some(normalize),
            classifier: head,
            c: 1.0,
            out: None,
            seed,
        })
    };
    let reweight = |method| {
        Job::Reweight(ReweightSpec {
            method,
            source: PathBuf::from(source),
            target: PathBuf::from(&target),
            target_labelled: Some(PathBuf::from(&v.train)),
            test: Some(PathBuf::from(&v.val)),
            // Set by the trial to a file in its folder.
            out: PathBuf::new(),
            gamma: Vec::new(),
            lambda: Vec::new(),
            b: None,
            eps: None,
            alpha: None,
            k: None,
            n_estimators: 10,
            classifier: HeadName::Logreg,
            c: 1.0,
            normalize: Normalize::None,
            bins: 10,
            seed,
        })
    };
    use HeadName::{Logreg, Nn1};
    use Normalize::{None as Plain, L2};
    let rows: [(&'static str, &'static str, Job); 11] = [
        (
            "source only",
            "logistic regression on the source labels, used on the target as it is",
            align(AlignMethod::None, Logreg, Plain, false),
        ),
        (
            "source + target",
            "logistic regression on the source and target labels together",
            align(AlignMethod::None, Logreg, Plain, true),
        ),
        (
            "CORAL",
            "source features recoloured to the target's covariance (Sun et al. 2016)",
            align(AlignMethod::Coral, Logreg, Plain, true),
        ),
        (
            "SA",
            "source PCA subspace aligned to the target's (Fernando et al. 2013), 1-NN",
            align(AlignMethod::Sa, Nn1, Plain, true),
        ),
        (
            "FA",
            "feature augmentation: shared, source and target copies (Daume III 2007)",
            align(AlignMethod::Fa, Logreg, Plain, true),
        ),
        (
            "TCA",
            "transfer component analysis (Pan et al. 2011), 1-NN on L2-normalised rows",
            align(AlignMethod::Tca, Nn1, L2, true),
        ),
        (
            "JDA",
            "joint distribution adaptation (Long et al. 2013), 1-NN on L2-normalised rows",
            align(AlignMethod::Jda, Nn1, L2, true),
        ),
        (
            "uLSIF",
            "source rows weighted by a least-squares density ratio (Kanamori et al. 2009)",
            reweight(ReweightMethod::Ulsif),
        ),
        (
            "KLIEP",
            "source rows weighted by a KL-fitted density ratio (Sugiyama et al. 2008)",
            reweight(ReweightMethod::Kliep),
        ),
        (
            "KMM",
            "source rows weighted by kernel mean matching (Huang et al. 2007)",
            reweight(ReweightMethod::Kmm),
        ),
        (
            "TrAdaBoost",
            "boosting that down-weights misleading source rows (Dai et al. 2007)",
            reweight(ReweightMethod::Tradaboost),
        ),
    ];
    out.extend(rows.into_iter().map(|(name, what, job)| Shallow {
        name,
        what,
        transfer: true,
        job,
    }));
    out
}

/// Logistic regression (C = 1) on the features `train`, measured on `test`.
pub fn probe(train: &str, test: Option<&str>, seed: u64) -> ProbeSpec {
    ProbeSpec {
        features: Some(PathBuf::from(train)),
        data: None,
        model: None,
        weights: None,
        stage: None,
        pool: None,
        test: test.map(PathBuf::from),
        test_fraction: 0.2,
        head: ProbeHead::Logreg,
        c: "1".into(),
        alpha: 1.0,
        k: "5".into(),
        metric: MetricName::Euclidean,
        standardize: false,
        folds: 5,
        hidden: 512,
        epochs: 100,
        lr: 1e-3,
        seed,
        text: Default::default(),
    }
}

/// `job` trained on `labelled` (all the target labels) and measured on `test`, for the final
/// run of a shallow winner.
pub fn on_all_labels(job: &Job, labelled: &str, test: Option<&str>) -> Job {
    let test = test.map(PathBuf::from);
    let mut job = job.clone();
    match &mut job {
        Job::Probe(p) => {
            p.features = Some(PathBuf::from(labelled));
            p.test = test;
        }
        Job::Align(a) => {
            if a.target_labelled.is_some() {
                a.target_labelled = Some(PathBuf::from(labelled));
            }
            a.test = test;
        }
        Job::Reweight(r) => {
            r.target_labelled = Some(PathBuf::from(labelled));
            r.test = test;
        }
        Job::Train(_) | Job::Adapt(_) => {}
    }
    job
}

/// The command line that repeats a shallow `job`.
pub fn command_line(job: &Job) -> String {
    let q = |p: &std::path::Path| shell_word(&p.display().to_string());
    let mut w: Vec<String> = vec!["graft".into(), job.command().into()];
    let mut flag = |name: &str, value: String| {
        w.push(format!("--{name}"));
        w.push(value);
    };
    let lower = |d: &dyn std::fmt::Debug| format!("{d:?}").to_lowercase();
    match job {
        Job::Probe(p) => {
            if let Some(f) = &p.features {
                flag("features", q(f));
            }
            if let Some(t) = &p.test {
                flag("test", q(t));
            }
            flag("head", lower(&p.head));
            flag("c", p.c.clone());
        }
        Job::Align(a) => {
            flag("method", lower(&a.method));
            flag("source", q(&a.source));
            flag("target", q(&a.target));
            if let Some(t) = &a.target_labelled {
                flag("target-labelled", q(t));
            }
            if let Some(t) = &a.test {
                flag("test", q(t));
            }
            if let Some(d) = a.dim {
                flag("dim", d.to_string());
            }
            flag("kernel", lower(&a.kernel));
            if let Some(n) = a.normalize {
                flag("normalize", lower(&n));
            }
            flag("classifier", a.classifier.label().into());
        }
        Job::Reweight(r) => {
            flag("method", lower(&r.method));
            flag("source", q(&r.source));
            flag("target", q(&r.target));
            if let Some(t) = &r.target_labelled {
                flag("target-labelled", q(t));
            }
            if let Some(t) = &r.test {
                flag("test", q(t));
            }
            flag("classifier", r.classifier.label().into());
            flag("out", "weights.csv".into());
        }
        Job::Train(_) | Job::Adapt(_) => {}
    }
    w.push("--seed".into());
    w.push(
        match job {
            Job::Probe(p) => p.seed,
            Job::Align(a) => a.seed,
            Job::Reweight(r) => r.seed,
            _ => 0,
        }
        .to_string(),
    );
    w.join(" ")
}

/// `s` quoted for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:=,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
