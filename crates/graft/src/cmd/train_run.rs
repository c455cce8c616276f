//! What `graft pretrain` and `graft finetune` share: opening the data, building the model and
//! its parameter groups, the run directory, training with progress and checkpoints, the final
//! evaluation and the summary.

use super::train_opts::{DataArgs, TrainOpts};
use crate::backbone_load;
use crate::image_data;
use crate::recipe::Recipe;
use crate::text_data::{self, TextRecipe};
use anyhow::{bail, Context};
use graft_data::preprocess::Preprocess;
use graft_nn::models::bert::load::{is_text_model, resolve_model_dir, tokenizer_file};
use graft_nn::models::find;
use graft_nn::models::lora::{LoraSpec, LORA_MARKERS};
use graft_nn::train::data::{labels_per_class, stratified_split};
use graft_nn::train::{
    evaluate, Augment, ClassMetrics, Event, GroupSpec, ImageTensors, InputSpec, RunFiles, Trainer,
};
use graft_nn::NnError;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A training request from the command line.
pub struct Request {
    pub command: &'static str,
    pub data: DataArgs,
    pub opts: TrainOpts,
    pub weights: Option<String>,
    pub groups: GroupSpec,
    /// Train low-rank adapters (text models) instead of the encoder's weights.
    pub lora: Option<LoraSpec>,
    pub merge_lora: bool,
}

/// How a run's data files are read: texts with the model's tokenizer, or images with the
/// model's preprocessing.
enum Source {
    Text(TextRecipe, PathBuf),
    Images(Preprocess),
}

/// Metadata keys of a run's `model.safetensors`, so that the file describes itself.
pub const META_MODEL: &str = "graft.model";
pub const META_CLASSES: &str = "graft.classes";

/// A new run directory: `--out`, or `runs/<command>-<model>-N` with the first free N.
pub(crate) fn new_run_dir(
    out: Option<&Path>,
    command: &str,
    model: &str,
) -> anyhow::Result<PathBuf> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => (1..)
            .map(|i| PathBuf::from("runs").join(format!("{command}-{model}-{i:03}")))
            .find(|p| !p.exists())
            .expect("some run number is free"),
    };
    if dir.join("checkpoint.safetensors").exists() {
        bail!(
            "{}: already holds a run; continue it with --resume {} or choose another --out",
            dir.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn same_classes(what: &str, a: &ImageTensors, train: &ImageTensors) -> anyhow::Result<()> {
    if a.class_names != train.class_names {
        bail!(
            "{} ({what}) has classes [{}] but the training set {} has [{}]; they must match",
            a.source,
            a.class_names.join(", "),
            train.source,
            train.class_names.join(", ")
        );
    }
    Ok(())
}

/// The weights file `path`, one weight per sample of `train`, as the engine takes them.
fn sample_weights_for(path: &str, train: &ImageTensors) -> anyhow::Result<Vec<f32>> {
    let w = crate::weights_file::read(Path::new(path))?;
    if w.len() != train.len() {
        bail!(
            "{path}: {} weights but the training set {} has {} samples; expected one weight per sample, in its order",
            w.len(),
            train.source,
            train.len()
        );
    }
    Ok(w.into_iter().map(|v| v as f32).collect())
}

fn pick(w: &[f32], idx: &[i64]) -> Vec<f32> {
    idx.iter().map(|&i| w[i as usize]).collect()
}

pub fn run(req: Request) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let stop = crate::interrupt::stop_flag();
    let d = &req.data;
    let threads = crate::threads::resolve(d.threads);
    crate::threads::configure_torch(threads);
    let device = graft_nn::device::parse_device(&d.device)?;
    let quiet = d.json;

    let (mut recipe, dir, resuming) = match (&d.resume, &d.recipe) {
        (Some(dir), _) => (Recipe::read(dir)?, dir.clone(), true),
        (None, Some(file)) => {
            let mut recipe = Recipe::read_file(file)?;
            if recipe.command != req.command {
                bail!(
                    "{}: a `{}` recipe; repeat it with `graft {} --recipe {}`",
                    file.display(),
                    recipe.command,
                    recipe.command,
                    file.display()
                );
            }
            // The classes are found again from the data, as in a new run.
            recipe.classes.clear();
            let dir = new_run_dir(d.out.as_deref(), req.command, &recipe.model)?;
            (recipe, dir, false)
        }
        (None, None) => {
            let model = d
                .model
                .clone()
                .context("--model is required (or --resume RUN_DIR)")?;
            let data = d
                .data
                .clone()
                .context("--data is required (or --resume RUN_DIR)")?;
            let is_text = is_text_model(&model);
            let input = if is_text {
                InputSpec::tokens()
            } else {
                InputSpec::from_preprocess(&find(&model)?.preprocess(), d.image_size)
            };
            let small = !is_text && input.height <= 32;
            if req.lora.is_some() && !is_text {
                bail!("--lora applies to text models (a folder holding config.json and tokenizer.json); {model} is an image model");
            }
            if req.merge_lora && req.lora.is_none() {
                bail!("--merge-lora needs --lora");
            }
            let text = if is_text {
                Some(TextRecipe::new(&d.text, d.text.max_length(&model)?))
            } else {
                None
            };
            let mut groups = req.groups.clone();
            if req.lora.is_some() {
                groups.train_only = LORA_MARKERS.iter().map(|m| m.to_string()).collect();
            }
            let mut train = req.opts.config(groups, input, small);
            if is_text {
                train.augment = Augment::none(); // token ids take no pixel augmentation
            }
            let recipe = Recipe {
                command: req.command.to_string(),
                model,
                weights: req.weights.clone(),
                weights_sha256: None,
                data,
                val: d.val.clone(),
                val_fraction: d.val_fraction,
                test: d.test.clone(),
                labels_per_class: d.labels_per_class,
                sample_weights: d.sample_weights.clone(),
                image_size: d.image_size,
                classes: Vec::new(),
                merge_lora: req.merge_lora,
                train,
                text,
                lora: req.lora.clone(),
                decode_size: Some(crate::decode_size::for_new_run()),
            };
            let dir = new_run_dir(d.out.as_deref(), req.command, &recipe.model)?;
            (recipe, dir, false)
        }
    };
    recipe.decode_size = Some(crate::decode_size::for_recorded_run(
        recipe.decode_size,
        &format!("the run in {}", dir.display()),
    ));
    if let Some(f) = recipe.val_fraction {
        if !(0.0..1.0).contains(&f) {
            bail!("--val-fraction must be in [0, 1), got {f}");
        }
    }
    let seed = recipe.train.seed;
    let text = recipe.text.clone();
    let source = match &text {
        Some(t) => Source::Text(t.clone(), tokenizer_file(&recipe.model)?),
        None => Source::Images(find(&recipe.model)?.preprocess()),
    };
    let open_data = |path: &str| -> anyhow::Result<ImageTensors> {
        match &source {
            Source::Text(t, tok) => text_data::open(path, tok, t, true, quiet),
            Source::Images(pre) => image_data::open(path, pre, recipe.image_size, threads, quiet),
        }
    };

    let mut train = open_data(&recipe.data)?;
    if train.num_classes() < 2 {
        bail!(
            "{}: training needs at least 2 classes, found {}",
            train.source,
            train.num_classes()
        );
    }
    let mut weights = recipe
        .sample_weights
        .as_deref()
        .map(|f| sample_weights_for(f, &train))
        .transpose()?;
    if let Some(k) = recipe.labels_per_class {
        if k == 0 {
            bail!("--labels-per-class must be at least 1");
        }
        let idx = labels_per_class(&train.labels, k, seed);
        weights = weights.map(|w| pick(&w, &idx));
        train = train.select(&idx)?;
    }
    let val = match (&recipe.val, recipe.val_fraction) {
        (Some(v), _) => {
            let v = open_data(v)?;
            same_classes("validation set", &v, &train)?;
            Some(v)
        }
        (None, Some(f)) if f > 0.0 => {
            let (tr, va) = stratified_split(&train.labels, f, seed ^ 0x5eed);
            let v = train.select(&va)?;
            weights = weights.map(|w| pick(&w, &tr));
            train = train.select(&tr)?;
            Some(v)
        }
        _ => None,
    };
    let empty = train.empty_classes();
    if !empty.is_empty() {
        bail!(
            "{}: no training sample of class(es) {}",
            train.source,
            empty.join(", ")
        );
    }
    let test = match &recipe.test {
        Some(t) => {
            let t = open_data(t)?;
            same_classes("test set", &t, &train)?;
            Some(t)
        }
        None => None,
    };

    tch::manual_seed(seed as i64);
    let classes = train.num_classes() as i64;
    let mut loaded = match &text {
        Some(_) => backbone_load::load_text(&recipe.model, classes, device, recipe.lora.as_ref())?,
        None => backbone_load::load(
            &recipe.model,
            recipe.weights.as_deref(),
            Some(classes),
            device,
            true,
        )?,
    };
    if let (Some(w), Some(sha)) = (&loaded.weights, &recipe.weights_sha256) {
        if &w.sha256 != sha {
            bail!(
                "{}: the weights changed since {} (SHA-256 {} instead of {sha})",
                w.path.display(),
                if resuming {
                    "the run started"
                } else {
                    "the recipe was written"
                },
                w.sha256
            );
        }
    }
    recipe.weights_sha256 = loaded.weights.as_ref().map(|w| w.sha256.clone());
    recipe.classes = train.class_names.clone();
    if !resuming {
        recipe.write(&dir)?;
    }
    crate::report::environment::record_or_warn(&dir, threads, &d.device, seed, resuming);

    let files = RunFiles { dir: dir.clone() };
    let model = loaded.model;
    super::warn_precision(recipe.train.precision, device);
    let mut trainer = Trainer::new(model.as_ref(), &mut loaded.vs, recipe.train.clone())?;
    if resuming {
        // A killed writer's temporaries are dead weight once the run goes on.
        graft_data::atomic::remove_stale_temporaries(&dir)?;
    }
    // A run killed inside its first epoch has a recipe but no checkpoint yet: it starts over,
    // which is what the uninterrupted run did (same recipe, same seed).
    if resuming && files.checkpoint().exists() {
        trainer
            .resume_from(&files.checkpoint())
            .with_context(|| format!("resuming {}", dir.display()))?;
    }
    if !quiet {
        eprintln!(
            "{} {} on {} ({} samples, {} classes{}): {} parameters trained, {} frozen -> {}",
            recipe.command,
            recipe.model,
            recipe.data,
            train.len(),
            train.num_classes(),
            val.as_ref()
                .map_or(String::new(), |v| format!(", {} for validation", v.len())),
            trainer.groups.trainable_count,
            trainer.groups.frozen_count,
            dir.display()
        );
    }
    let mut bars = crate::progress::EpochBars::new("", quiet);
    let result = trainer.fit(
        &train,
        weights.as_deref(),
        val.as_ref(),
        &files,
        stop,
        &mut |e| {
            bars.observe(&e);
            if let Event::EpochEnd(r) = e {
                if !quiet {
                    let val = r.val.as_ref().map_or(String::new(), |m| {
                        format!("  val {:.2}%", 100.0 * m.accuracy)
                    });
                    eprintln!(
                        "epoch {:>3}  loss {:.4}  train {:.2}%{val}  ({:.1} s)",
                        r.epoch,
                        r.train_loss,
                        100.0 * r.train_accuracy,
                        r.seconds
                    );
                }
            }
        },
    );
    match result {
        Ok(()) => {}
        Err(NnError::Interrupted { epoch, step }) => {
            eprintln!(
                "stopped at epoch {}, step {step}; checkpoint saved. Continue with: graft {} --resume {}",
                epoch + 1,
                recipe.command,
                dir.display()
            );
            std::process::exit(130);
        }
        Err(e) => return Err(e.into()),
    }
    let best = trainer.restore_best(&files)?;
    let progress = trainer.progress.clone();
    let (trainable, frozen) = (trainer.groups.trainable_count, trainer.groups.frozen_count);
    let cfg_input = trainer.cfg.input.clone();
    drop(trainer);

    let meta = BTreeMap::from([
        (META_MODEL.to_string(), recipe.model.clone()),
        (
            META_CLASSES.to_string(),
            serde_json::to_string(&recipe.classes)?,
        ),
    ]);
    let model_file = dir.join("model.safetensors");
    match recipe.lora.as_ref().filter(|_| recipe.merge_lora) {
        Some(spec) => {
            let merged = graft_nn::models::lora::merged_tensors(&loaded.vs, spec)?;
            graft_nn::weights::save::save_tensors(&merged, &model_file, &meta)?;
        }
        None => graft_nn::weights::save::save_safetensors(&loaded.vs, &model_file, &meta)?,
    }
    if let Some(spec) = &recipe.lora {
        save_adapter(&loaded.vs, spec, &recipe.model, &dir.join("adapter"))?;
    }
    if text.is_some() && (recipe.lora.is_none() || recipe.merge_lora) {
        copy_model_folder_files(&resolve_model_dir(&recipe.model)?, &dir)?;
    }

    let eval = |data: &ImageTensors| -> anyhow::Result<ClassMetrics> {
        Ok(evaluate(model.as_ref(), &cfg_input, data, device, 64)?)
    };
    let val_m = match &val {
        Some(v) => Some(eval(v)?),
        None => None,
    };
    let test_m = match &test {
        Some(t) => Some(eval(t)?),
        None => None,
    };
    let headline = test_m.as_ref().or(val_m.as_ref());
    let last = progress.history.last();
    let selected = match best {
        Some(e) => format!("epoch {e} (best validation accuracy)"),
        None => format!("epoch {} (last)", progress.history.len()),
    };
    let summary = json!({
        "command": recipe.command,
        "run_dir": dir.display().to_string(),
        "model": recipe.model,
        "weights": recipe.weights,
        "data": recipe.data,
        "train_samples": train.len(),
        "classes": recipe.classes,
        "epochs_run": progress.history.len(),
        "trainable_parameters": trainable,
        "frozen_parameters": frozen,
        "trainable_fraction": trainable as f64 / (trainable + frozen).max(1) as f64,
        "lora": recipe.lora,
        "max_length": recipe.text.as_ref().map(|t| t.max_length),
        "stopped_early": progress.stopped_early,
        "selected": selected,
        "train_loss": last.map(|r| r.train_loss),
        "train_accuracy": last.map(|r| r.train_accuracy),
        "val": val_m,
        "test": test_m,
        "accuracy": headline.map(|m| m.accuracy),
        "macro_f1": headline.map(|m| m.macro_f1),
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
        let show = |name: &str, m: &Option<ClassMetrics>| {
            if let Some(m) = m {
                println!(
                    "{name}: accuracy {:.2}%  macro-F1 {:.4}  ({} samples)",
                    100.0 * m.accuracy,
                    m.macro_f1,
                    m.n
                );
            }
        };
        show("validation", &val_m);
        show("test", &test_m);
        println!(
            "selected {selected}; run saved in {} ({:.1} s)",
            dir.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    crate::report::after_run(&dir, quiet);
    Ok(())
}

/// Writes the adapters as PEFT saves them (`adapter_model.safetensors` and
/// `adapter_config.json`), so `PeftModel.from_pretrained(base, dir)` loads them.
fn save_adapter(
    vs: &tch::nn::VarStore,
    spec: &LoraSpec,
    base_model: &str,
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tensors = graft_nn::models::lora::peft_tensors(vs);
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    graft_nn::weights::save::save_tensors(&tensors, &dir.join("adapter_model.safetensors"), &meta)?;
    let config = graft_nn::models::lora::peft_config(spec, base_model);
    graft_data::atomic::write_atomic_bytes(
        &dir.join("adapter_config.json"),
        serde_json::to_string_pretty(&config)?.as_bytes(),
    )?;
    Ok(())
}

/// Files of a text model folder besides its weights: configuration, tokenizer and the
/// sentence-transformers pooling files.
const MODEL_FOLDER_FILES: &[&str] = &[
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
];

/// Copies the model folder's own files next to the run's `model.safetensors`, so that a
/// fine-tuned text run is itself a model folder: `graft extract --model RUN`, Transformers'
/// `AutoModel.from_pretrained(RUN)` and sentence-transformers open it as they open the original.
fn copy_model_folder_files(from: &Path, run: &Path) -> anyhow::Result<()> {
    for name in MODEL_FOLDER_FILES {
        let src = from.join(name);
        if !src.is_file() {
            continue;
        }
        let dst = run.join(name);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let bytes = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
        graft_data::atomic::write_atomic_bytes(&dst, &bytes)?;
    }
    Ok(())
}
