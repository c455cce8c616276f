//! `graft adapt`: deep domain adaptation and parameter-transfer regularisers, alone or mixed
//! by a recipe. A labelled source, an unlabelled target and (optionally) a labelled target test
//! set; the model is trained on the source with the recipe's domain loss, self-training and
//! regularisers, the epoch to keep is chosen without target labels, and the target test
//! accuracy is the run's headline.

mod data;
mod projection;
use graft::adapt::recipe;

use anyhow::{bail, Context};
use graft::backbone_load;
use graft_nn::models::bert::load::is_text_model;
use graft_nn::models::{find, mlp::Mlp, Backbone};
use graft_nn::precision::Precision;
use graft_nn::train::adapt::{AdaptEvent, Adapter, Selection};
use graft_nn::train::data::stratified_split;
use graft_nn::train::{evaluate, ClassMetrics, ImageTensors, RunFiles, Trainer};
use graft_nn::NnError;
use recipe::{AdaptRecipe, DomainSection, Freeze, SelfTrainingSection, TrainSection};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::VarStore;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectName {
    Last,
    SourceVal,
    Dev,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A recipe (TOML); flags given beside it override its values
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Registry model (see `graft models`), a text model folder (BERT, MiniLM, DistilBERT), or
    /// `mlp` for feature vectors
    #[arg(long)]
    pub model: Option<String>,
    /// Text models: tokens kept per text, special tokens included (default: the model's own)
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Hidden widths of the mlp model (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<i64>>,
    /// Initial weights (e.g. a `graft pretrain` run's model.safetensors); L2-SP pulls towards them
    #[arg(long)]
    pub weights: Option<String>,
    /// Labelled source set: image folder, IDX, .npz (`FILE.npz:NAME`), svmlight (mlp)
    #[arg(long)]
    pub source: Option<String>,
    /// Draw this many source samples at random (with --seed)
    #[arg(long)]
    pub source_samples: Option<usize>,
    /// Unlabelled target set (labels in it, if any, are never read for training)
    #[arg(long)]
    pub target_unlabelled: Option<String>,
    #[arg(long)]
    pub target_samples: Option<usize>,
    /// Labelled target test set: the `accuracy` of the summary
    #[arg(long)]
    pub target_test: Option<String>,
    /// Domain loss: none (source only), dann, cdan, cdan+e, mdd, coral, mmd; or self-training
    /// (no domain loss, pseudo-labels only)
    #[arg(long)]
    pub method: Option<String>,
    /// Weight of the domain loss
    #[arg(long)]
    pub domain_weight: Option<f64>,
    /// Hidden width of the discriminator (DANN, CDAN) or adversarial head (MDD)
    #[arg(long)]
    pub head_width: Option<i64>,
    /// Self-training: keep target predictions at least this confident as pseudo-labels
    #[arg(long)]
    pub pseudo_threshold: Option<f64>,
    /// Self-training, class-balanced (CBST): keep this fraction of each predicted class
    #[arg(long, conflicts_with = "pseudo_threshold")]
    pub pseudo_class_balanced: Option<f64>,
    #[arg(long)]
    pub pseudo_weight: Option<f64>,
    /// First epoch (0-based) with pseudo-labels
    #[arg(long)]
    pub pseudo_start_epoch: Option<usize>,
    /// L2-SP strength towards the initial weights (backbone)
    #[arg(long)]
    pub l2sp_alpha: Option<f64>,
    /// L2-SP strength towards zero (new head); default 0.01 when --l2sp-alpha is given
    #[arg(long)]
    pub l2sp_beta: Option<f64>,
    /// DELTA strength: attention-weighted distance of the stages' feature maps to those of the
    /// pre-trained model (--weights); stages by recipe (`[delta] stages`)
    #[arg(long)]
    pub delta_alpha: Option<f64>,
    /// DELTA strength towards zero for the new head; default 0.01 when --delta-alpha is given
    #[arg(long)]
    pub delta_beta: Option<f64>,
    /// Batch spectral shrinkage strength (k = 1)
    #[arg(long)]
    pub bss_eta: Option<f64>,
    /// Re-estimate BatchNorm statistics on the target after training (AdaBN)
    #[arg(long)]
    pub adabn: bool,
    /// Per-sample source loss weights (a `graft reweight` file)
    #[arg(long)]
    pub sample_weights: Option<String>,
    /// Freeze the stages up to and including this one
    #[arg(long)]
    pub freeze_until: Option<String>,
    /// Fraction of each source class held out for validation (0 for none)
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Which epoch to keep: last, source-val (best source validation accuracy) or dev (lowest
    /// deep-embedded-validation risk; needs no target label)
    #[arg(long, value_enum)]
    pub select: Option<SelectName>,
    /// Record the target test accuracy after every epoch (for analysis; never used to select)
    #[arg(long)]
    pub monitor: bool,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub lr: Option<f64>,
    /// sgd or adamw
    #[arg(long)]
    pub optimizer: Option<String>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// auto, digits, standard or none
    #[arg(long)]
    pub augment: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, help = crate::cmd::PRECISION_HELP)]
    pub precision: Option<Precision>,
    /// Run directory (default: runs/adapt-<model>-N)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint
    #[arg(long)]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub runtime: crate::cmd::runtime_args::RuntimeArgs,
    /// Print the summary as one JSON object on stdout (`accuracy`: target test, a fraction)
    #[arg(long)]
    pub json: bool,
    /// Source and target samples (each) whose features the report projects before and after
    /// adaptation, with their proxy A-distance; 0 for none
    #[arg(long, default_value_t = 500)]
    pub projection_samples: usize,
}

/// The flags as a recipe, to lay over the file's.
fn flags_recipe(a: &Args) -> anyhow::Result<AdaptRecipe> {
    let mut r = AdaptRecipe {
        model: a.model.clone(),
        hidden: a.hidden.clone(),
        weights: a.weights.clone(),
        source: a.source.clone(),
        source_samples: a.source_samples,
        target_unlabelled: a.target_unlabelled.clone(),
        target_samples: a.target_samples,
        target_test: a.target_test.clone(),
        val_fraction: a.val_fraction,
        sample_weights: a.sample_weights.clone(),
        seed: a.seed,
        select: a.select.map(|s| match s {
            SelectName::Last => Selection::Last,
            SelectName::SourceVal => Selection::SourceVal,
            SelectName::Dev => Selection::Dev,
        }),
        adabn: a.adabn.then_some(true),
        max_length: a.max_length,
        freeze: Freeze {
            until: a.freeze_until.clone(),
            head_only: None,
        },
        train: TrainSection {
            epochs: a.epochs,
            batch_size: a.batch_size,
            lr: a.lr,
            optimizer: a.optimizer.clone(),
            weight_decay: a.weight_decay,
            augment: a.augment.clone(),
            precision: a.precision,
            ..TrainSection::default()
        },
        ..AdaptRecipe::default()
    };
    let mut self_training = a.pseudo_threshold.is_some() || a.pseudo_class_balanced.is_some();
    if let Some(m) = &a.method {
        let loss = if m == "self-training" || m == "self_training" {
            self_training = true;
            "none".to_string()
        } else {
            recipe::domain_loss(m, None).map_err(|_| {
                anyhow::anyhow!(
                    "--method: unknown method `{m}`; valid: {}, self-training",
                    recipe::DOMAIN_LOSSES
                )
            })?;
            m.clone()
        };
        r.domain = Some(DomainSection {
            loss,
            weight: a.domain_weight,
            head_width: a.head_width,
            grl_gamma: None,
            margin: None,
        });
    } else if a.domain_weight.is_some() || a.head_width.is_some() {
        bail!("--domain-weight and --head-width need --method");
    }
    if self_training || a.pseudo_weight.is_some() || a.pseudo_start_epoch.is_some() {
        r.self_training = Some(SelfTrainingSection {
            threshold: a.pseudo_threshold,
            class_balanced: a.pseudo_class_balanced,
            weight: a.pseudo_weight,
            start_epoch: a.pseudo_start_epoch,
        });
    }
    if a.l2sp_alpha.is_some() || a.l2sp_beta.is_some() {
        r.l2sp = Some(graft_nn::train::adapt::L2SpSpec {
            alpha: a.l2sp_alpha.unwrap_or(0.01),
            beta: a.l2sp_beta.unwrap_or(0.01),
        });
    }
    if a.delta_alpha.is_some() || a.delta_beta.is_some() {
        r.delta = Some(graft_nn::train::adapt::DeltaSpec {
            alpha: a
                .delta_alpha
                .unwrap_or(graft_nn::transfer::Delta::DEFAULT_ALPHA),
            beta: a
                .delta_beta
                .unwrap_or(graft_nn::transfer::Delta::DEFAULT_BETA),
            stages: Vec::new(),
        });
    }
    if let Some(eta) = a.bss_eta {
        r.bss = Some(recipe::BssSection {
            eta: Some(eta),
            k: None,
        });
    }
    Ok(r)
}

fn pick<T: Copy>(v: &[T], idx: &[i64]) -> Vec<T> {
    idx.iter().map(|&i| v[i as usize]).collect()
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let stop = crate::interrupt::stop_flag();
    let threads = graft::threads::resolve(a.runtime.threads);
    graft::threads::configure_torch(threads);
    let device = graft_nn::device::parse_device(&a.runtime.device)?;
    let quiet = a.json;
    let mut obs = crate::progress::CliObserver::new(quiet);
    let asked = super::runtime_args::decode_size();
    let (mut recipe, dir, resuming) = match &a.resume {
        Some(dir) => {
            let r = AdaptRecipe::read(&dir.join("recipe.toml"))?;
            (r, dir.clone(), true)
        }
        None => {
            let base = match &a.recipe {
                Some(p) => AdaptRecipe::read(p)?,
                None => AdaptRecipe::default(),
            };
            let r = base.overlay(&flags_recipe(&a)?).complete();
            let model = r
                .model
                .clone()
                .context("--model is required (or a recipe with `model`, or --resume RUN_DIR)")?;
            let dir = graft::train::new_run_dir(a.out.as_deref(), "adapt", &model)?;
            (r, dir, false)
        }
    };
    let recorded = match (resuming, recipe.decode_size) {
        (false, None) => Some(graft::decode_size::for_new_run(asked)),
        (_, r) => r,
    };
    let decode = graft::decode_size::for_recorded_run(
        asked,
        recorded,
        &format!("the run in {}", dir.display()),
        &mut obs,
    );
    recipe.decode_size = Some(decode);
    let model_name = recipe.model.clone().context("the recipe names no model")?;
    let source = recipe
        .source
        .clone()
        .context("--source is required (the labelled source set)")?;
    let target = recipe
        .target_unlabelled
        .clone()
        .context("--target-unlabelled is required (the unlabelled target set)")?;
    let seed = recipe.seed.unwrap_or(0);
    let vectors = model_name == "mlp";
    let text = !vectors && is_text_model(&model_name);
    if text && recipe.weights.is_some() {
        bail!("--weights does not apply to a text model: {model_name} holds its own weights");
    }
    if text && recipe.adabn == Some(true) {
        bail!(
            "AdaBN re-estimates BatchNorm statistics; text encoders use LayerNorm, which has none"
        );
    }
    let mut sets = if vectors {
        data::vectors(&source, &target, recipe.target_test.as_deref())?
    } else if text {
        data::texts(
            &source,
            &target,
            recipe.target_test.as_deref(),
            &model_name,
            recipe.max_length,
            &mut obs,
        )?
    } else {
        let pre = find(&model_name)?.preprocess();
        data::images(
            &source,
            &target,
            recipe.target_test.as_deref(),
            &pre,
            threads,
            decode,
            &mut obs,
        )?
    };
    let mut weights: Option<Vec<f32>> = match &recipe.sample_weights {
        Some(f) => {
            let w = graft::weights_file::read(Path::new(f))?;
            if w.len() != sets.source.len() {
                bail!(
                    "{f}: {} weights but the source {} has {} samples; expected one weight per \
                     sample, in its order",
                    w.len(),
                    sets.source.source,
                    sets.source.len()
                );
            }
            Some(w.into_iter().map(|v| v as f32).collect())
        }
        None => None,
    };
    if let Some(k) = recipe.source_samples {
        let idx = data::draw(sets.source.len(), k, seed, 10);
        weights = weights.map(|w| pick(&w, &idx));
        sets.source = sets.source.select(&idx)?;
    }
    if let Some(k) = recipe.target_samples {
        let idx = data::draw(sets.target.len(), k, seed, 11);
        sets.target = sets.target.select(&idx)?;
    }
    data::check(&sets, vectors)?;
    let vf = recipe.val_fraction.unwrap_or(0.0);
    if !(0.0..1.0).contains(&vf) {
        bail!("--val-fraction must be in [0, 1), got {vf}");
    }
    let val = if vf > 0.0 {
        let (tr, va) = stratified_split(&sets.source.labels, vf, seed ^ 0x5eed);
        let v = sets.source.select(&va)?;
        weights = weights.map(|w| pick(&w, &tr));
        sets.source = sets.source.select(&tr)?;
        Some(v)
    } else {
        None
    };
    let classes = sets.source.num_classes() as i64;
    let (train_cfg, adapt_cfg) = recipe.configs(sets.input.clone())?;

    tch::manual_seed(seed as i64);
    let (mut vs, model): (VarStore, Box<dyn Backbone>) = if vectors {
        if recipe.weights.is_some() {
            bail!("the mlp model starts from random weights; --weights is for registry models");
        }
        let vs = VarStore::new(device);
        let hidden = recipe.hidden.clone().unwrap_or_else(|| vec![50]);
        let m = Mlp::new(
            &vs.root(),
            sets.input.channels,
            &hidden,
            recipe.train.dropout.unwrap_or(0.0),
            Some(classes),
        )?;
        (vs, Box::new(m))
    } else if text {
        let l = backbone_load::load_text(&model_name, classes, device, None)?;
        (l.vs, l.model)
    } else {
        // Initial weights keep their head when it fits these classes (a source model being
        // adapted); otherwise the head is new.
        let load = |new_head| {
            backbone_load::load(
                &model_name,
                recipe.weights.as_deref(),
                Some(classes),
                device,
                new_head,
            )
        };
        let l = load(false).or_else(|_| load(true))?;
        (l.vs, l.model)
    };
    if !resuming {
        recipe.write(&dir)?;
    }
    graft::report::environment::record_or_warn(
        &dir,
        threads,
        &a.runtime.device,
        seed,
        resuming,
        &mut obs,
    );
    super::warn_precision(train_cfg.precision, device);
    // The initial model's features, for the report's before-and-after projection.
    let sample = (a.projection_samples > 0)
        .then(|| {
            projection::Sample::before(
                model.as_ref(),
                &train_cfg.input,
                &sets.source,
                &sets.target,
                a.projection_samples,
                seed,
                device,
            )
            .map_err(|e| eprintln!("warning: no feature projection in the report: {e:#}"))
            .ok()
        })
        .flatten();
    let files = RunFiles { dir: dir.clone() };
    let trainer = Trainer::new(model.as_ref(), &mut vs, train_cfg)?;
    let mut adapter = Adapter::new(trainer, adapt_cfg, classes)?;
    if adapter.cfg.delta.is_some() {
        if text {
            bail!("DELTA is not available for text models yet; use L2-SP (--l2sp-alpha)");
        }
        let Some(w) = recipe.weights.as_deref().filter(|_| !vectors) else {
            bail!(
                "DELTA keeps the feature maps close to a pre-trained model's: give --weights (a \
                 registry model's initial weights)"
            );
        };
        // The reference keeps its own head when it has one for these classes (the channel
        // attention needs a head that fits the task); otherwise a fresh one.
        let load =
            |new_head| backbone_load::load(&model_name, Some(w), Some(classes), device, new_head);
        let reference = load(false).or_else(|_| load(true))?;
        adapter = adapter.with_reference(reference.model, reference.vs);
    }
    if resuming {
        // A killed writer's temporaries are dead weight once the run goes on.
        graft_data::atomic::remove_stale_temporaries(&dir)?;
    }
    // Killed inside the first epoch: no checkpoint yet, so the run starts over (same recipe,
    // same seed, same result).
    if resuming && files.checkpoint().exists() {
        adapter
            .resume_from(&files)
            .with_context(|| format!("resuming {}", dir.display()))?;
    }
    let method = adapter.cfg.domain.name();
    if !quiet {
        eprintln!(
            "adapt {model_name} ({method}{}{}{}): source {} ({} samples{}), target {} ({} \
             samples) -> {}",
            if adapter.cfg.self_training.is_some() {
                " + self-training"
            } else {
                ""
            },
            match (adapter.cfg.l2sp.is_some(), adapter.cfg.delta.is_some()) {
                (true, true) => " + L2-SP + DELTA",
                (true, false) => " + L2-SP",
                (false, true) => " + DELTA",
                _ => "",
            },
            if adapter.cfg.bss.is_some() {
                " + BSS"
            } else {
                ""
            },
            source,
            sets.source.len(),
            val.as_ref()
                .map_or(String::new(), |v| format!(", {} for validation", v.len())),
            target,
            sets.target.len(),
            dir.display()
        );
    }
    let monitor = if a.monitor { sets.test.as_ref() } else { None };
    let mut bars = crate::progress::EpochBars::new("", quiet);
    let result = adapter.fit(
        &sets.source,
        weights.as_deref(),
        &sets.target,
        val.as_ref(),
        monitor,
        &files,
        stop,
        &mut |e| match e {
            AdaptEvent::Engine(e) => bars.observe(&e),
            AdaptEvent::EpochEnd(r) => {
                if !quiet {
                    let opt = |name: &str, v: Option<f64>, pct: bool| {
                        v.map_or(String::new(), |v| {
                            if pct {
                                format!("  {name} {:.2}%", 100.0 * v)
                            } else {
                                format!("  {name} {v:.4}")
                            }
                        })
                    };
                    eprintln!(
                        "epoch {:>3}  loss {:.4}  train {:.2}%{}{}{}{}{}{}  ({:.1} s)",
                        r.base.epoch,
                        r.base.train_loss,
                        100.0 * r.base.train_accuracy,
                        opt("val", r.base.val.as_ref().map(|m| m.accuracy), true),
                        opt("domain", r.domain_loss, false),
                        opt("disc acc", r.domain_accuracy, true),
                        r.pseudo_labels
                            .map_or(String::new(), |p| format!("  pseudo {p}")),
                        opt("dev", r.dev_risk, false),
                        opt("target test (monitor)", r.monitor_accuracy, true),
                        r.base.seconds
                    );
                }
            }
        },
    );
    match result {
        Ok(()) => {}
        Err(NnError::Interrupted { epoch, step }) => {
            eprintln!(
                "stopped at epoch {}, step {step}; checkpoint saved. Continue with: graft adapt \
                 --resume {}",
                epoch + 1,
                dir.display()
            );
            std::process::exit(130);
        }
        Err(e) => return Err(e.into()),
    }
    let (selected, why) = adapter.restore_selected(&files)?;
    let adabn = if adapter.cfg.adabn {
        Some(adapter.adabn(&sets.target)?.adapted.len())
    } else {
        None
    };
    let dev = match &val {
        Some(v) if v.len() >= 2 => Some(adapter.dev(&sets.source, &sets.target, v)?),
        _ => None,
    };
    let progress = adapter.progress.clone();
    let input = adapter.trainer.cfg.input.clone();
    let adapt_cfg = adapter.cfg.clone();
    drop(adapter);

    let meta = BTreeMap::from([
        (graft::train::META_MODEL.to_string(), model_name.clone()),
        (
            graft::train::META_CLASSES.to_string(),
            serde_json::to_string(&sets.source.class_names)?,
        ),
    ]);
    graft_nn::weights::save::save_safetensors(&vs, &dir.join("model.safetensors"), &meta)?;
    let eval = |d: &ImageTensors| -> anyhow::Result<ClassMetrics> {
        Ok(evaluate(model.as_ref(), &input, d, device, 256)?)
    };
    let val_m = val.as_ref().map(&eval).transpose()?;
    let test_m = sets.test.as_ref().map(&eval).transpose()?;
    let pad = sample.and_then(|s| {
        let projected = s
            .after(model.as_ref(), &input, &sets.source, &sets.target, device)
            .and_then(|f| f.save(&dir))
            .and_then(|()| graft::report::projection::analyse(&dir, seed));
        match projected {
            Ok(p) => Some(json!({
                "before": p.before.pad.map(|d| d.pad),
                "after": p.after.pad.map(|d| d.pad),
            })),
            Err(e) => {
                eprintln!("warning: no feature projection in the report: {e:#}");
                None
            }
        }
    });
    let last = progress.history.last();
    let summary = json!({
        "command": "adapt",
        "run_dir": dir.display().to_string(),
        "model": model_name,
        "method": method,
        "self_training": adapt_cfg.self_training,
        "l2sp": adapt_cfg.l2sp,
        "delta": adapt_cfg.delta,
        "bss": adapt_cfg.bss,
        "adabn_layers": adabn,
        "domain_weight": adapt_cfg.domain_weight,
        "source": source,
        "target_unlabelled": target,
        "target_test": recipe.target_test,
        "source_samples": sets.source.len(),
        "target_samples": sets.target.len(),
        "classes": sets.source.class_names,
        "epochs_run": progress.history.len(),
        "selected_epoch": selected,
        "selected": format!("epoch {selected}: {why}"),
        "source_val_accuracy": val_m.as_ref().map(|m| m.accuracy),
        "dev_risk": dev.as_ref().map(|d| d.risk),
        "domain_accuracy": last.and_then(|r| r.domain_accuracy),
        "train_loss": last.map(|r| r.base.train_loss),
        "train_accuracy": last.map(|r| r.base.train_accuracy),
        "test": test_m,
        "accuracy": test_m.as_ref().map(|m| m.accuracy),
        "macro_f1": test_m.as_ref().map(|m| m.macro_f1),
        "proxy_a_distance": pad,
        "seed": seed,
        "seconds": t0.elapsed().as_secs_f64(),
    });
    graft_data::atomic::write_atomic_bytes(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if quiet {
        println!("{summary}");
    } else {
        if let Some(m) = &val_m {
            println!(
                "source validation: accuracy {:.2}% ({} samples)",
                100.0 * m.accuracy,
                m.n
            );
        }
        if let Some(d) = &dev {
            println!("deep embedded validation risk: {:.4}", d.risk);
        }
        if let Some(m) = &test_m {
            println!(
                "target test: accuracy {:.2}%  macro-F1 {:.4}  ({} samples)",
                100.0 * m.accuracy,
                m.macro_f1,
                m.n
            );
        }
        println!(
            "selected epoch {selected}: {why}; run saved in {} ({:.1} s)",
            dir.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    graft::report::after_run(&dir, &mut obs);
    Ok(())
}
