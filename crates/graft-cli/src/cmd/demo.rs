//! `graft demo`: transfer learning's whole story in a few minutes on two cores, with no files.
//! It renders a clean source domain of digits and a shifted target domain (colour, textured
//! backgrounds, noise, other stroke widths, in the spirit of SynDigits and MNIST-M), pre-trains
//! LeNet on 20,000 source images, then, with only a few labels per target class, compares
//! training from scratch against the ways of reusing the source model: the source model as it
//! is, feature extraction (a logistic regression on the frozen backbone's features), partial
//! and full fine-tuning; and, with unlabelled target images instead of labels, domain
//! adaptation from the source model (DANN, Deep CORAL, self-training).

use anyhow::Context;
use graft_data::synth_digits::{render, DigitDomain, DigitImages};
use graft_nn::models::find;
use graft_nn::train::adapt::{AdaptConfig, Adapter, DomainLoss, SelfTraining};
use graft_nn::train::{
    evaluate, features, Augment, BnMode, GroupSpec, ImageTensors, InputSpec, OptimizerSpec,
    RunFiles, Schedule, TrainConfig, Trainer,
};
use graft_nn::transfer::PseudoLabelRule;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use tch::nn::VarStore;
use tch::Device;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directory (default: runs/demo-N)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Source images to pre-train on
    #[arg(long, default_value_t = 20_000)]
    source: usize,
    /// Labelled target images per class
    #[arg(long, default_value_t = 10)]
    labels_per_class: usize,
    /// Target test images
    #[arg(long, default_value_t = 2_000)]
    test: usize,
    /// Pre-training epochs on the source
    #[arg(long, default_value_t = 3)]
    source_epochs: usize,
    /// Unlabelled target images for the domain-adaptation rows
    #[arg(long, default_value_t = 3_000)]
    unlabelled: usize,
    /// Source images (the first of the pre-training set) beside them
    #[arg(long, default_value_t = 3_000)]
    adapt_source: usize,
    /// Domain-adaptation epochs
    #[arg(long, default_value_t = 5)]
    adapt_epochs: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    threads: Option<usize>,
    /// Print the results as one JSON object on stdout
    #[arg(long)]
    json: bool,
    /// Write the demo's domains to this folder as .npz files (source.npz, target_labelled.npz,
    /// target_unlabelled.npz, target_test.npz; X as N x H x W x 3 bytes, y the digits) and
    /// stop, to run `graft auto` or any command on them
    #[arg(long)]
    export: Option<PathBuf>,
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

/// The domains the demo renders, written as files.
fn export(a: &Args, dir: &Path) -> anyhow::Result<()> {
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
        if !a.json {
            eprintln!("{}: {} images", dir.join(name).display(), d.len());
        }
    }
    Ok(())
}

const MODEL: &str = "lenet";
/// Mixed into --seed for the target sets, so that each is drawn apart from the others (the
/// source takes --seed itself); `--export` writes the same sets.
const LABELLED_SEED: u64 = 0x7a6;
const UNLABELLED_SEED: u64 = 0xada;
const TEST_SEED: u64 = 0x7e57;

fn tensors(d: &DigitImages, name: &str) -> anyhow::Result<ImageTensors> {
    let classes = (0..10).map(|c| c.to_string()).collect();
    Ok(ImageTensors::from_hwc_u8(
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

/// One row of the table.
struct Row {
    name: &'static str,
    what: &'static str,
    accuracy: f64,
    seconds: f64,
}

/// Trains LeNet under `cfg` (from `init` weights when given) and returns its target accuracy
/// and seconds. With `adapt`, the unlabelled target images ride beside `train` and the run
/// adds that domain adaptation to the loss.
#[allow(clippy::too_many_arguments)]
fn train_row(
    dir: &Path,
    init: Option<&Path>,
    train: &ImageTensors,
    test: &ImageTensors,
    cfg: TrainConfig,
    adapt: Option<(&ImageTensors, AdaptConfig)>,
    quiet: bool,
    label: &str,
) -> anyhow::Result<(f64, f64)> {
    let t0 = Instant::now();
    std::fs::create_dir_all(dir)?;
    tch::manual_seed(cfg.seed as i64);
    let loaded = graft::backbone_load::load(
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
    let files = RunFiles {
        dir: dir.to_path_buf(),
    };
    let mut bars = crate::progress::EpochBars::new(label, quiet);
    let stop = AtomicBool::new(false);
    match adapt {
        None => trainer.fit(train, None, None, &files, &stop, &mut |e| bars.observe(&e))?,
        Some((unlabelled, cfg)) => {
            let mut adapter = Adapter::new(trainer, cfg, 10)?;
            adapter.fit(
                train,
                None,
                unlabelled,
                None,
                None,
                &files,
                &stop,
                &mut |e| {
                    if let graft_nn::train::adapt::AdaptEvent::Engine(e) = e {
                        bars.observe(&e)
                    }
                },
            )?;
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

pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(dir) = &a.export {
        return export(&a, dir);
    }
    let t0 = Instant::now();
    let threads = graft::threads::resolve(a.threads);
    graft::threads::configure_torch(threads);
    let quiet = a.json;
    let dir = match a.out {
        Some(d) => d,
        None => (1..)
            .map(|i| PathBuf::from("runs").join(format!("demo-{i:03}")))
            .find(|p| !p.exists())
            .expect("some run number is free"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let say = |s: String| {
        if !quiet {
            eprintln!("{s}")
        }
    };

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
    say(format!(
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
            quiet,
            "pre-training on source",
        )?
    };
    say(format!(
        "pre-trained {MODEL} on the source: {:.1}% on source test digits ({pre_secs:.1} s)",
        100.0 * src_acc_on_source_test
    ));
    let source_model = pre_dir.join("model.safetensors");

    let mut rows = Vec::new();
    // 2. The source model as it is, on the target (no target labels used).
    {
        let t = Instant::now();
        let loaded = graft::backbone_load::load(
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
        let loaded = graft::backbone_load::load(
            MODEL,
            Some(&source_model.display().to_string()),
            None,
            Device::Cpu,
            true,
        )?;
        let input = config(1, 1, 0.1, GroupSpec::default(), a.seed).input;
        let to_matrix = |d: &ImageTensors| -> anyhow::Result<graft_linalg::Matrix> {
            let f = features(loaded.model.as_ref(), &input, d, Device::Cpu, 256)?;
            let (n, dim) = (f.size()[0] as usize, f.size()[1] as usize);
            let v = Vec::<f32>::try_from(f.f_flatten(0, -1)?)?;
            Ok(graft_linalg::Matrix::from_f32(n, dim, &v)?)
        };
        let labels = |d: &ImageTensors| d.labels.iter().map(|&l| l as usize).collect::<Vec<_>>();
        let head = graft_linalg::LogisticRegression {
            c: graft_linalg::CSpec::Auto,
            standardize: true,
            cv: graft_linalg::CrossValidation {
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
            accuracy: graft_linalg::metrics::accuracy(&labels(&test), &pred)?,
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
                quiet,
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
            quiet,
            name,
        )?;
        rows.push(Row {
            name,
            what,
            accuracy: acc,
            seconds: secs,
        });
    }

    const ORDER: [&str; 8] = [
        "source only",
        "DANN",
        "Deep CORAL",
        "self-training",
        "from scratch",
        "feature extraction",
        "partial fine-tuning",
        "full fine-tuning",
    ];
    rows.sort_by_key(|r| ORDER.iter().position(|n| *n == r.name));
    let scratch = rows
        .iter()
        .find(|r| r.name == "from scratch")
        .map_or(0.0, |r| r.accuracy);
    let results = json!({
        "command": "demo",
        "run_dir": dir.display().to_string(),
        "model": MODEL,
        "source_images": source.len(),
        "target_labels_per_class": a.labels_per_class,
        "target_test_images": test.len(),
        "source_accuracy_on_source": src_acc_on_source_test,
        "pretrain_seconds": pre_secs,
        "rows": rows.iter().map(|r| json!({"method": r.name, "what": r.what, "accuracy": r.accuracy, "seconds": r.seconds})).collect::<Vec<_>>(),
        "seed": a.seed,
        "seconds": t0.elapsed().as_secs_f64(),
    });
    graft_data::atomic::write_atomic_bytes(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    if quiet {
        println!("{results}");
        return Ok(());
    }
    // Rows without target labels are judged against the source model as it is; rows with a
    // few labels against training from scratch on them.
    let source_only = rows
        .iter()
        .find(|r| r.name == "source only")
        .map_or(0.0, |r| r.accuracy);
    let groups = [
        (
            format!(
                "No target labels, {} unlabelled target images:",
                a.unlabelled
            ),
            &ORDER[..4],
            "source only",
            source_only,
        ),
        (
            format!("{} labels per target class:", a.labels_per_class),
            &ORDER[4..],
            "scratch",
            scratch,
        ),
    ];
    println!();
    println!("Target digits, {} test images (chance 10%)", test.len());
    for (title, names, base_name, base) in groups {
        println!("{title}");
        println!("  {:<22} {:>9} {:>9}", "method", "accuracy", "seconds");
        for r in rows.iter().filter(|r| names.contains(&r.name)) {
            let vs = if r.name == names[0] {
                String::new()
            } else {
                format!("{:+.1} vs {base_name}", 100.0 * (r.accuracy - base))
            };
            println!(
                "  {:<22} {:>8.1}% {:>9.1}  {:<20} {}",
                r.name,
                100.0 * r.accuracy,
                r.seconds,
                vs,
                r.what
            );
        }
    }
    if let Some(bad) = rows
        .iter()
        .filter(|r| ORDER[1..4].contains(&r.name))
        .find(|r| r.accuracy < source_only)
    {
        println!(
            "warning: {} fell below the source model ({:.1}% < {:.1}%): negative transfer",
            bad.name,
            100.0 * bad.accuracy,
            100.0 * source_only
        );
    }
    let best = rows
        .iter()
        .max_by(|x, y| x.accuracy.total_cmp(&y.accuracy))
        .expect("rows exist");
    println!(
        "\nbest: {} ({:.1}%); pre-training took {pre_secs:.1} s; everything is in {} ({:.0} s in all)",
        best.name,
        100.0 * best.accuracy,
        dir.display(),
        t0.elapsed().as_secs_f64()
    );
    if best.name == "from scratch" {
        println!("warning: no transfer method beat training from scratch here (negative transfer)");
    }
    Ok(())
}
