//! `graft demo`: transfer learning's whole story in a few minutes on two cores, with no files.
//! It renders a clean source domain of digits and a shifted target domain (colour, textured
//! backgrounds, noise, other stroke widths, in the spirit of SynDigits and MNIST-M), pre-trains
//! LeNet on 20,000 source images, then, with only a few labels per target class, compares
//! training from scratch against the ways of reusing the source model: the source model as it
//! is, feature extraction (a logistic regression on the frozen backbone's features), partial
//! and full fine-tuning; and, with unlabelled target images instead of labels, domain
//! adaptation from the source model (DANN, Deep CORAL, self-training).

use crate::observe::{Event, Observer};
use crate::{CancelToken, Error, RunDir, Runtime};
use anyhow::Context;
use graft_data::synth_digits::{render, DigitDomain, DigitImages};
use graft_nn::models::find;
use graft_nn::train::adapt::{AdaptConfig, Adapter, DomainLoss, SelfTraining};
use graft_nn::train::{
    evaluate, features, Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, Samples, Schedule,
    TrainConfig, Trainer,
};
use graft_nn::transfer::PseudoLabelRule;
use graft_nn::NnError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::VarStore;
use tch::Device;

/// The demo's sizes, as the `graft demo` flags set them.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct DemoSpec {
    /// Run directory (default: runs/demo-N)
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: Option<PathBuf>,
    /// Source images to pre-train on
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 20_000))]
    pub source: usize,
    /// Labelled target images per class
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 10))]
    pub labels_per_class: usize,
    /// Target test images
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 2_000))]
    pub test: usize,
    /// Pre-training epochs on the source
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 3))]
    pub source_epochs: usize,
    /// Unlabelled target images for the domain-adaptation rows
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 3_000))]
    pub unlabelled: usize,
    /// Source images (the first of the pre-training set) beside them
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 3_000))]
    pub adapt_source: usize,
    /// Domain-adaptation epochs
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 5))]
    pub adapt_epochs: usize,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
}

/// `d` as an .npz archive with `X` (N x side x side x 3 bytes) and `y`.
fn write_digits(d: &DigitImages, path: &Path) -> anyhow::Result<()> {
    use graft_data::npy::{write_npz, NpyOut};
    let shape = [d.len(), d.side, d.side, 3];
    graft_data::atomic::write_atomic(path, |w| {
        write_npz(
            w,
            &[
                ("X", &shape, NpyOut::U8(&d.pixels)),
                ("y", &[d.len()], NpyOut::I64(&d.labels)),
            ],
        )
    })?;
    Ok(())
}

/// The domains the demo renders, written as files (`graft demo --export`), to run any command
/// on them.
pub fn export(a: &DemoSpec, dir: &Path, obs: &mut dyn Observer) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let parts = [
        ("source.npz", render(DigitDomain::Source, a.source, a.seed)),
        (
            "target_labelled.npz",
            render(
                DigitDomain::Target,
                a.labels_per_class * 10,
                a.seed ^ LABELLED_SEED,
            ),
        ),
        (
            "target_unlabelled.npz",
            render(DigitDomain::Target, a.unlabelled, a.seed ^ UNLABELLED_SEED),
        ),
        (
            "target_test.npz",
            render(DigitDomain::Target, a.test, a.seed ^ TEST_SEED),
        ),
    ];
    for (name, d) in &parts {
        write_digits(d, &dir.join(name))?;
        obs.info(&format!("{}: {} images", dir.join(name).display(), d.len()));
    }
    Ok(())
}

const MODEL: &str = "lenet";

/// The rows in the order of the tables: without target labels (judged against the source
/// model as it is), then with a few (judged against training from scratch on them).
pub const ORDER: [&str; 8] = [
    "source only",
    "DANN",
    "Deep CORAL",
    "self-training",
    "from scratch",
    "feature extraction",
    "partial fine-tuning",
    "full fine-tuning",
];
/// Mixed into --seed for the target sets, so that each is drawn apart from the others (the
/// source takes --seed itself); `--export` writes the same sets.
const LABELLED_SEED: u64 = 0x7a6;
const UNLABELLED_SEED: u64 = 0xada;
const TEST_SEED: u64 = 0x7e57;

fn tensors(d: &DigitImages, name: &str) -> anyhow::Result<Samples> {
    let classes = (0..10).map(|c| c.to_string()).collect();
    Ok(Samples::from_hwc_u8(
        &d.pixels,
        [d.len(), d.side, d.side, 3],
        d.labels.clone(),
        classes,
        name,
    )?)
}

fn config(epochs: usize, batch_size: usize, lr: f64, groups: GroupSpec, seed: u64) -> TrainConfig {
    let pre = find(MODEL).expect("lenet is registered").preprocess();
    TrainConfig {
        epochs,
        batch_size,
        groups: GroupSpec { lr, ..groups },
        optimizer: OptimizerSpec::sgd(0.9, 5e-4),
        schedule: Schedule::Cosine { min_factor: 0.0 },
        warmup_epochs: 0.0,
        clip_grad_norm: None,
        label_smoothing: 0.0,
        bn: BnMode::Train,
        augment: Augment::digits(),
        input: InputSpec::from_preprocess(&pre, None),
        seed,
        early_stopping: None,
        precision: Default::default(),
    }
}

/// One row of the table: a way of reaching the target, its accuracy and cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    #[serde(rename = "method")]
    pub name: &'static str,
    pub what: &'static str,
    pub accuracy: f64,
    pub seconds: f64,
}

/// Trains LeNet under `cfg` (from `init` weights when given) and returns its target accuracy
/// and seconds. With `adapt`, the unlabelled target images ride beside `train` and the run
/// adds that domain adaptation to the loss.
#[allow(clippy::too_many_arguments)]
fn train_row(
    dir: &Path,
    init: Option<&Path>,
    train: &Samples,
    test: &Samples,
    cfg: TrainConfig,
    adapt: Option<(&Samples, AdaptConfig)>,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
    label: &str,
) -> anyhow::Result<(f64, f64)> {
    let t0 = Instant::now();
    std::fs::create_dir_all(dir)?;
    tch::manual_seed(cfg.seed as i64);
    let loaded = crate::backbone_load::load(
        MODEL,
        init.map(|p| p.display().to_string()).as_deref(),
        Some(10),
        Device::Cpu,
        true,
    )?;
    let mut vs: VarStore = loaded.vs;
    let model = loaded.model;
    let input = cfg.input.clone();
    let mut trainer = Trainer::new(model.as_ref(), &mut vs, cfg)?;
    let files = RunDir::new(dir).files();
    obs.event(Event::Stage(label));
    let stop = cancel.flag();
    let interrupted = |e: NnError| match e {
        NnError::Interrupted { epoch, step } => anyhow::Error::new(Error::Cancelled {
            dir: dir.to_path_buf(),
            epoch,
            step,
        }),
        e => e.into(),
    };
    match adapt {
        None => trainer
            .fit(train, None, None, &files, stop, &mut |e| {
                obs.event(Event::Train(&e))
            })
            .map_err(interrupted)?,
        Some((unlabelled, cfg)) => {
            let mut adapter = Adapter::new(trainer, cfg, 10)?;
            adapter
                .fit(
                    train,
                    None,
                    unlabelled,
                    None,
                    None,
                    &files,
                    stop,
                    &mut |e| {
                        if let graft_nn::train::adapt::AdaptEvent::Engine(e) = e {
                            obs.event(Event::Train(&e))
                        }
                    },
                )
                .map_err(interrupted)?;
        }
    }
    graft_nn::weights::save::save_safetensors(
        &vs,
        &dir.join("model.safetensors"),
        &Default::default(),
    )?;
    let m = evaluate(model.as_ref(), &input, test, Device::Cpu, 256)?;
    Ok((m.accuracy, t0.elapsed().as_secs_f64()))
}

/// Runs the demo: pre-training, then every way of reaching the target, each measured on the
/// same target test set. `graft demo` prints the result as two tables.
pub fn run(
    a: &DemoSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<DemoResult, Error> {
    run_inner(a, rt, obs, cancel).map_err(Error::from)
}

fn run_inner(
    a: &DemoSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> anyhow::Result<DemoResult> {
    let t0 = Instant::now();
    rt.apply_threads();
    let dir = match &a.out {
        Some(d) => d.clone(),
        None => (1..)
            .map(|i| PathBuf::from("runs").join(format!("demo-{i:03}")))
            .find(|p| !p.exists())
            .expect("some run number is free"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let r0 = Instant::now();
    let source = tensors(
        &render(DigitDomain::Source, a.source, a.seed),
        "source digits",
    )?;
    let pool = render(
        DigitDomain::Target,
        a.labels_per_class * 10,
        a.seed ^ LABELLED_SEED,
    );
    let target = tensors(&pool, "target digits (labelled)")?;
    let test = tensors(
        &render(DigitDomain::Target, a.test, a.seed ^ TEST_SEED),
        "target digits (test)",
    )?;
    obs.info(&format!(
        "rendered {} source digits, {} labelled and {} test target digits in {:.1} s -> {}",
        source.len(),
        target.len(),
        test.len(),
        r0.elapsed().as_secs_f64(),
        dir.display()
    ));

    // 1. Pre-train on the source domain.
    let pre_dir = dir.join("source");
    let (src_acc_on_source_test, pre_secs) = {
        let src_test = tensors(
            &render(DigitDomain::Source, 1000, a.seed ^ 0x5e),
            "source test",
        )?;
        train_row(
            &pre_dir,
            None,
            &source,
            &src_test,
            config(a.source_epochs, 64, 0.05, GroupSpec::default(), a.seed),
            None,
            obs,
            cancel,
            "pre-training on source",
        )?
    };
    obs.info(&format!(
        "pre-trained {MODEL} on the source: {:.1}% on source test digits ({pre_secs:.1} s)",
        100.0 * src_acc_on_source_test
    ));
    let source_model = pre_dir.join("model.safetensors");

    let mut rows = Vec::new();
    // 2. The source model as it is, on the target (no target labels used).
    {
        let t = Instant::now();
        let loaded = crate::backbone_load::load(
            MODEL,
            Some(&source_model.display().to_string()),
            Some(10),
            Device::Cpu,
            false,
        )?;
        let input = config(1, 1, 0.1, GroupSpec::default(), a.seed).input;
        let m = evaluate(loaded.model.as_ref(), &input, &test, Device::Cpu, 256)?;
        rows.push(Row {
            name: "source only",
            what: "the pre-trained model, no target labels",
            accuracy: m.accuracy,
            seconds: t.elapsed().as_secs_f64(),
        });
    }
    // 3. With a few target labels. Feature extraction: the frozen source backbone runs once
    // over the target images and a logistic regression (C by cross-validation) is fitted on
    // its features.
    {
        let t = Instant::now();
        let loaded = crate::backbone_load::load(
            MODEL,
            Some(&source_model.display().to_string()),
            None,
            Device::Cpu,
            true,
        )?;
        let input = config(1, 1, 0.1, GroupSpec::default(), a.seed).input;
        let to_matrix = |d: &Samples| -> anyhow::Result<graft_shallow::Matrix> {
            let f = features(loaded.model.as_ref(), &input, d, Device::Cpu, 256)?;
            let (n, dim) = (f.size()[0] as usize, f.size()[1] as usize);
            let v = Vec::<f32>::try_from(f.f_flatten(0, -1)?)?;
            Ok(graft_shallow::Matrix::from_f32(n, dim, &v)?)
        };
        let labels = |d: &Samples| d.labels.iter().map(|&l| l as usize).collect::<Vec<_>>();
        let head = graft_shallow::LogisticRegression {
            c: graft_shallow::CSpec::Auto,
            standardize: true,
            cv: graft_shallow::CrossValidation {
                folds: 5,
                seed: a.seed,
            },
            ..Default::default()
        }
        .fit(&to_matrix(&target)?, &labels(&target), None)?;
        let pred = head.predict(&to_matrix(&test)?)?;
        rows.push(Row {
            name: "feature extraction",
            what: "frozen source backbone run once, logistic regression on its features",
            accuracy: graft_shallow::metrics::accuracy(&labels(&test), &pred)?,
            seconds: t.elapsed().as_secs_f64(),
        });
    }
    // 4. With unlabelled target images and no target label: domain adaptation from the source
    // model, on a slice of the source beside the unlabelled target images.
    {
        let n = a.adapt_source.min(source.len());
        let slice = source.select(&(0..n as i64).collect::<Vec<_>>())?;
        let unlabelled = tensors(
            &render(DigitDomain::Target, a.unlabelled, a.seed ^ UNLABELLED_SEED),
            "target digits (unlabelled)",
        )?;
        let self_training = || SelfTraining {
            rule: PseudoLabelRule::Confidence { threshold: 0.9 },
            weight: 1.0,
            start_epoch: 0,
        };
        let mut dann = AdaptConfig::new(DomainLoss::Dann);
        dann.head_width = 500;
        // From a converged source model a light adversarial term (TLlib's trade-off 1 is
        // meant for training from scratch) keeps the classifier from being pulled apart.
        dann.domain_weight = 0.1;
        let mut coral = AdaptConfig::new(DomainLoss::Coral);
        coral.domain_weight = 1.0;
        let mut st = AdaptConfig::new(DomainLoss::None);
        st.self_training = Some(self_training());
        let rows_adapt: [(&'static str, &'static str, AdaptConfig); 3] = [
            (
                "DANN",
                "source model adapted adversarially to unlabelled target images",
                dann,
            ),
            (
                "Deep CORAL",
                "source model adapted by matching feature covariances",
                coral,
            ),
            (
                "self-training",
                "source model trained on its own confident target predictions",
                st,
            ),
        ];
        for (name, what, cfg) in rows_adapt {
            let slug = name.to_lowercase().replace(' ', "-");
            let (acc, secs) = train_row(
                &dir.join(&slug),
                Some(&source_model),
                &slice,
                &test,
                config(a.adapt_epochs, 64, 0.01, GroupSpec::default(), a.seed),
                Some((&unlabelled, cfg)),
                obs,
                cancel,
                name,
            )?;
            rows.push(Row {
                name,
                what,
                accuracy: acc,
                seconds: secs,
            });
        }
    }
    let epochs = 60;
    let bs = 32;
    let variants: [(&str, &str, bool, GroupSpec, f64); 3] = [
        (
            "from scratch",
            "random init, all layers trained on the target labels",
            false,
            GroupSpec::default(),
            0.03,
        ),
        (
            "partial fine-tuning",
            "conv1..conv2 frozen, fc1 and a new head trained",
            true,
            GroupSpec {
                freeze_until: Some("conv2".into()),
                ..GroupSpec::default()
            },
            0.01,
        ),
        (
            "full fine-tuning",
            "every layer trained from the source weights",
            true,
            GroupSpec::default(),
            0.01,
        ),
    ];
    for (name, what, pretrained, groups, lr) in variants {
        let slug = name.replace(' ', "-");
        let (acc, secs) = train_row(
            &dir.join(&slug),
            pretrained.then_some(source_model.as_path()),
            &target,
            &test,
            config(epochs, bs, lr, groups, a.seed),
            None,
            obs,
            cancel,
            name,
        )?;
        rows.push(Row {
            name,
            what,
            accuracy: acc,
            seconds: secs,
        });
    }

    rows.sort_by_key(|r| ORDER.iter().position(|n| *n == r.name));
    let results = DemoResult {
        command: "demo",
        run_dir: dir.display().to_string(),
        model: MODEL,
        source_images: source.len(),
        target_labels_per_class: a.labels_per_class,
        target_unlabelled_images: a.unlabelled,
        target_test_images: test.len(),
        source_accuracy_on_source: src_acc_on_source_test,
        pretrain_seconds: pre_secs,
        rows,
        seed: a.seed,
        seconds: t0.elapsed().as_secs_f64(),
    };
    RunDir::new(&dir).write_summary(&results)?;
    Ok(results)
}

/// The demo's outcome: both tables' rows, in [`ORDER`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DemoResult {
    pub command: &'static str,
    pub run_dir: String,
    pub model: &'static str,
    pub source_images: usize,
    pub target_labels_per_class: usize,
    pub target_unlabelled_images: usize,
    pub target_test_images: usize,
    pub source_accuracy_on_source: f64,
    pub pretrain_seconds: f64,
    pub rows: Vec<Row>,
    pub seed: u64,
    pub seconds: f64,
}
