//! `graft probe`: a new model trained on frozen features (feature extraction, the cheapest
//! transfer): logistic regression, ridge, kNN, linear SVM or a small MLP, with accuracy,
//! macro-F1 and the confusion matrix. Features come from a file or are extracted once by a
//! backbone and cached. [`run`] takes a [`ProbeSpec`] and returns a [`ProbeResult`].

use crate::extract::Request;
use crate::feature_cache::cached_features;
use crate::feature_input::{stratified_holdout, Labelled};
use crate::observe::Observer;
use crate::Runtime;
use anyhow::{bail, Context};
use graft_shallow::{
    metrics::ClassificationReport, CSpec, Classifier, CrossValidation, FittedClassifier,
    KNeighborsClassifier, LinearSvc, LogisticRegression, Metric, RidgeClassifier,
};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Head {
    Logreg,
    Ridge,
    Knn,
    Svm,
    Mlp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MetricName {
    Euclidean,
    Cosine,
}

/// A probe as the `graft probe` flags describe it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ProbeSpec {
    /// Training features: a graft feature file (.safetensors/.npz from `graft extract`), .npz
    /// with X and y, svmlight, or CSV
    #[cfg_attr(feature = "clap", arg(long, conflicts_with = "data"))]
    pub features: Option<PathBuf>,
    /// Extract the training features from this image folder (or text data, with a text
    /// model) with --model (cached)
    #[cfg_attr(feature = "clap", arg(long, requires = "model"))]
    pub data: Option<PathBuf>,
    /// Backbone for --data: a registry name (see `graft models`) or a text model folder
    #[cfg_attr(feature = "clap", arg(long))]
    pub model: Option<String>,
    /// Weights of the backbone for --data
    #[cfg_attr(feature = "clap", arg(long))]
    pub weights: Option<String>,
    /// Features at the end of this stage (with --data)
    #[cfg_attr(feature = "clap", arg(long))]
    pub stage: Option<String>,
    /// A vision transformer's pooling: `token` (the class token), `avg` (the mean of the patch
    /// tokens) or `token+avg` (both concatenated, DINOv2's linear-probe protocol); default the
    /// model's own
    #[cfg_attr(feature = "clap", arg(long))]
    pub pool: Option<graft_nn::models::vit::Pool>,
    /// Test set: features file (with --features) or image folder (with --data)
    #[cfg_attr(feature = "clap", arg(long))]
    pub test: Option<PathBuf>,
    /// Without --test, hold out this fraction of each class for testing
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.2))]
    pub test_fraction: f64,
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = Head::Logreg))]
    pub head: Head,
    /// Inverse regularisation of logreg and svm: a number, or `auto` (logreg: stratified k-fold
    /// cross-validation over 1e-4..1e4)
    #[cfg_attr(feature = "clap", arg(long, default_value = "1"))]
    pub c: String,
    /// Ridge penalty
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1.0))]
    pub alpha: f64,
    /// Neighbours of knn: a number or `auto` (cross-validated)
    #[cfg_attr(feature = "clap", arg(long, default_value = "5"))]
    pub k: String,
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = MetricName::Euclidean))]
    pub metric: MetricName,
    /// Standardise features before logistic regression
    #[cfg_attr(feature = "clap", arg(long))]
    pub standardize: bool,
    /// Cross-validation folds for `auto` choices
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 5))]
    pub folds: usize,
    /// Hidden units of the mlp head
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 512))]
    pub hidden: i64,
    /// Training epochs of the mlp head
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 100))]
    pub epochs: usize,
    /// Learning rate of the mlp head (AdamW)
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1e-3))]
    pub lr: f64,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
    #[cfg_attr(feature = "clap", command(flatten))]
    pub text: crate::text_features::TextArgs,
}

fn parse_auto<T: std::str::FromStr>(flag: &str, v: &str) -> anyhow::Result<Option<T>> {
    if v.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| anyhow::anyhow!("--{flag} must be a number or `auto`, got `{v}`"))
}

fn fit_predict<C: Classifier>(
    est: &C,
    train: &Labelled,
    test: &Labelled,
) -> anyhow::Result<Vec<usize>> {
    let model = est.fit(&train.x, &train.y, None)?;
    Ok(model.predict(&test.x)?)
}

/// Trains the MLP head with the engine on the features and predicts the test set.
fn mlp_predict(
    a: &ProbeSpec,
    device: tch::Device,
    train: &Labelled,
    test: &Labelled,
) -> anyhow::Result<Vec<usize>> {
    use graft_nn::train::{
        Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, RunFiles, Samples, Schedule,
        TrainConfig, Trainer,
    };
    let to_set = |l: &Labelled| -> anyhow::Result<Samples> {
        let x: Vec<f32> = l.x.data().iter().map(|&v| v as f32).collect();
        let y = l.y.iter().map(|&c| c as i64).collect();
        Ok(Samples::from_features(
            &x,
            l.x.rows(),
            l.x.cols(),
            y,
            l.class_names.clone(),
            l.source.clone(),
        )?)
    };
    let (tr, te) = (to_set(train)?, to_set(test)?);
    tch::manual_seed(a.seed as i64);
    let mut vs = tch::nn::VarStore::new(device);
    let d = train.x.cols() as i64;
    let m = graft_nn::models::mlp::Mlp::new(
        &vs.root(),
        d,
        &[a.hidden],
        0.1,
        Some(train.class_names.len() as i64),
    )?;
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch_size: 64,
        groups: GroupSpec {
            lr: a.lr,
            ..GroupSpec::default()
        },
        optimizer: OptimizerSpec::adamw(1e-4),
        schedule: Schedule::Cosine { min_factor: 0.0 },
        warmup_epochs: 0.0,
        clip_grad_norm: None,
        label_smoothing: 0.0,
        bn: BnMode::Train,
        augment: Augment::none(),
        input: InputSpec {
            channels: d,
            height: 1,
            width: 1,
            normalization: graft_data::preprocess::Normalization::UnitRange,
        },
        seed: a.seed,
        early_stopping: None,
        precision: Default::default(),
    };
    let dir = tempfile_dir()?;
    let mut t = Trainer::new(&m, &mut vs, cfg)?;
    t.fit(
        &tr,
        None,
        None,
        &RunFiles { dir: dir.clone() },
        &std::sync::atomic::AtomicBool::new(false),
        &mut |_| {},
    )?;
    let p = graft_nn::train::predict_proba(&m, &t.cfg.input, &te, device, 256)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Vec::<i64>::try_from(p.f_argmax(-1, false)?)?
        .into_iter()
        .map(|c| c as usize)
        .collect())
}

/// A private scratch folder for the MLP head's checkpoints.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("graft-probe-{}", std::process::id()));
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}

/// Runs the probe `a`: features from a file or extracted (through the cache), a head fitted on
/// the training rows, measured on the test rows.
pub fn run(a: &ProbeSpec, rt: &Runtime, obs: &mut dyn Observer) -> anyhow::Result<ProbeResult> {
    let t0 = Instant::now();
    let threads = rt.apply_threads();
    let device = rt.device;
    let mut cache_note = None;
    let mut open_images = |data: &PathBuf| -> anyhow::Result<(Labelled, bool, f64)> {
        let t = Instant::now();
        let (e, hit) = cached_features(
            &Request {
                model: a
                    .model
                    .as_deref()
                    .expect("clap requires --model with --data"),
                weights: a.weights.as_deref(),
                data,
                stage: a.stage.as_deref(),
                batch_size: 32,
                threads,
                seed: a.seed,
                device,
                precision: rt.precision,
                skip_bad: false,
                with_source_probs: false,
                decode_size: crate::decode_size::for_new_run(rt.decode_size),
                text: &a.text,
                pool: a.pool,
            },
            obs,
        )?;
        let src = data.clone();
        Ok((
            Labelled::from_arrays(e.set.into_arrays(&src))?,
            hit,
            t.elapsed().as_secs_f64(),
        ))
    };
    let (train, test) = match (&a.features, &a.data) {
        (Some(f), None) => {
            let train = Labelled::open(f)?;
            let test = a.test.as_deref().map(Labelled::open).transpose()?;
            (train, test)
        }
        (None, Some(d)) => {
            let (train, hit, seconds) = open_images(d)?;
            let mut note = CacheNote {
                train: CacheUse { hit, seconds },
                test: None,
            };
            let test = match &a.test {
                Some(t) => {
                    let (test, hit, seconds) = open_images(t)?;
                    note.test = Some(CacheUse { hit, seconds });
                    Some(test)
                }
                None => None,
            };
            cache_note = Some(note);
            (train, test)
        }
        _ => bail!("give --features FILE, or --data DIR with --model (and --weights)"),
    };
    let (train, test) = match test {
        Some(t) => {
            let t = train.align_test(t)?;
            (train, t)
        }
        None => {
            if !(a.test_fraction > 0.0 && a.test_fraction < 1.0) {
                bail!("--test-fraction must be in (0, 1), got {}", a.test_fraction);
            }
            let (tr, te) = stratified_holdout(&train.y, a.test_fraction, a.seed);
            if te.is_empty() {
                bail!(
                    "{}: too few samples to hold out a test set; give --test",
                    train.source
                );
            }
            (
                train.select(&tr, "train split"),
                train.select(&te, "held-out split"),
            )
        }
    };
    let distinct = {
        let mut s = train.y.clone();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    if distinct < 2 {
        bail!(
            "{}: only one class in the training set; a classifier needs at least two",
            train.source
        );
    }
    let cv = CrossValidation {
        folds: a.folds,
        seed: a.seed,
    };
    let fit_start = Instant::now();
    let pred = match a.head {
        Head::Logreg => {
            let c = match parse_auto::<f64>("c", &a.c)? {
                Some(c) => CSpec::Fixed(c),
                None => CSpec::Auto,
            };
            fit_predict(
                &LogisticRegression {
                    c,
                    standardize: a.standardize,
                    cv,
                    ..Default::default()
                },
                &train,
                &test,
            )?
        }
        Head::Ridge => fit_predict(
            &RidgeClassifier {
                alpha: a.alpha,
                ..Default::default()
            },
            &train,
            &test,
        )?,
        Head::Knn => {
            let metric = match a.metric {
                MetricName::Euclidean => Metric::Euclidean,
                MetricName::Cosine => Metric::Cosine,
            };
            fit_predict(
                &KNeighborsClassifier {
                    k: parse_auto("k", &a.k)?,
                    metric,
                    cv,
                    ..Default::default()
                },
                &train,
                &test,
            )?
        }
        Head::Svm => {
            let c = parse_auto::<f64>("c", &a.c)?
                .context("--c auto is for logreg; give the svm a number")?;
            fit_predict(
                &LinearSvc {
                    c,
                    seed: a.seed,
                    ..Default::default()
                },
                &train,
                &test,
            )?
        }
        Head::Mlp => mlp_predict(a, device, &train, &test)?,
    };
    let fit_secs = fit_start.elapsed().as_secs_f64();
    let k = train.class_names.len();
    let r = ClassificationReport::new(&test.y, &pred, k)?;
    Ok(ProbeResult {
        command: "probe",
        head: a.head,
        train: train.source.clone(),
        test: test.source.clone(),
        n_train: train.x.rows(),
        n_test: test.x.rows(),
        d: train.x.cols(),
        classes: train.class_names.clone(),
        accuracy: r.accuracy,
        macro_f1: r.macro_f1,
        per_class_accuracy: r.per_class_recall,
        confusion: r.confusion,
        cache: cache_note,
        fit_seconds: fit_secs,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Whether a set's features came from the cache, and how long getting them took.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CacheUse {
    pub hit: bool,
    pub seconds: f64,
}

/// The feature cache's part in a probe over extracted features.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CacheNote {
    pub train: CacheUse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<CacheUse>,
}

/// What a probe measured, as `graft probe --json` prints it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProbeResult {
    pub command: &'static str,
    pub head: Head,
    /// Where the training and test rows came from.
    pub train: String,
    pub test: String,
    pub n_train: usize,
    pub n_test: usize,
    pub d: usize,
    pub classes: Vec<String>,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class_accuracy: Vec<Option<f64>>,
    /// Rows: true class; columns: predicted.
    pub confusion: Vec<Vec<usize>>,
    /// Extracted features only: whether they came from the cache.
    pub cache: Option<CacheNote>,
    pub fit_seconds: f64,
    pub seconds: f64,
}
