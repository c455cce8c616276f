//! Training runs: `pretrain` (from random weights) and `finetune` (from pre-trained weights,
//! all of them or the later stages, with per-layer rates, or LoRA adapters for text models).
//! [`run`] opens the data, builds the model and its parameter groups, creates or continues the
//! run directory, trains with checkpoints, evaluates, and writes the model, the summary and the
//! report.

mod options;
mod output;
mod spec;

pub use options::{AugName, BnName, OptName, SchedName, TrainOpts};
pub use spec::{DataSpec, Start, TrainCommand, TrainSpec};

use crate::backbone_load;
use crate::image_data;
use crate::model_ref::{ModelRef, MLP_HIDDEN};
use crate::observe::{Event, Observer};
use crate::recipe::Recipe;
use crate::summary::Summary;
use crate::text_data::{self, TextRecipe};
use crate::vector_data;
use crate::weights_file::{pick, read_for};
use crate::{CancelToken, Error, RunDir, Runtime};
use anyhow::{bail, Context};
use graft_data::image_io::DecodeSize;
use graft_data::preprocess::Preprocess;
use graft_nn::models::bert::load::{resolve_model_dir, tokenizer_file};
use graft_nn::models::lora::{LoraSpec, LORA_MARKERS};
use graft_nn::train::data::{labels_per_class, stratified_split};
use graft_nn::train::{evaluate, Augment, ClassMetrics, InputSpec, Samples, Trainer};
use graft_nn::NnError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `--precision`'s help, shared by every command that runs a backbone.
pub const PRECISION_HELP: &str = "Precision of the forward passes: fp32; bf16 (autocast: bfloat16 \
    matrix products and convolutions, float32 weights, losses and optimiser; about twice as fast \
    on CPUs with AVX-512 BF16 or AMX); or fp16 (float16 autocast, with dynamic loss scaling in \
    training; for CUDA GPUs, slow on most CPUs)";

/// Metadata keys of a run's `model.safetensors`, so that the file describes itself.
pub const META_MODEL: &str = "graft.model";
pub const META_CLASSES: &str = "graft.classes";

/// What a finished training run produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    pub dir: RunDir,
    pub summary: Summary,
    /// `report.html`, unless it could not be built (a warning was sent).
    pub report: Option<PathBuf>,
}

/// How a run's data files are read: texts with the model's tokenizer, images with the
/// model's preprocessing, or feature vectors (svmlight at this width).
enum Source {
    Text(TextRecipe, PathBuf),
    Images(Preprocess),
    Vectors(Option<usize>),
}

/// A new run directory: `out`, or `runs/<command>-<model>-N` with the first free N.
pub fn new_run_dir(out: Option<&Path>, command: &str, model: &str) -> anyhow::Result<PathBuf> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => (1..)
            .map(|i| PathBuf::from("runs").join(format!("{command}-{model}-{i:03}")))
            .find(|p| !p.exists())
            .expect("some run number is free"),
    };
    if RunDir::new(&dir).checkpoint().exists() {
        bail!(
            "{}: already holds a run; continue it with --resume {} or choose another --out",
            dir.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Checks that `a` (the run's `what`) has the classes of `reference` (`reference_what`: "the
/// training set", "the source"), in the same order.
pub(crate) fn same_classes(
    a: &Samples,
    what: &str,
    reference: &Samples,
    reference_what: &str,
) -> anyhow::Result<()> {
    if a.class_names != reference.class_names {
        bail!(
            "{} ({what}) has classes [{}] but {reference_what} {} has [{}]; they must match",
            a.source,
            a.class_names.join(", "),
            reference.source,
            reference.class_names.join(", ")
        );
    }
    Ok(())
}

/// The recipe of a new run of `spec`, before its classes are known.
fn new_recipe(spec: &TrainSpec, decode: DecodeSize) -> anyhow::Result<Recipe> {
    let d = &spec.data;
    let model = d
        .model
        .clone()
        .context("--model is required (or --resume RUN_DIR)")?;
    let data = d
        .data
        .clone()
        .context("--data is required (or --resume RUN_DIR)")?;
    let found = ModelRef::resolve(&model)?;
    let is_text = found.is_text();
    // A vector run's width is set once its data are read.
    let input = match &found {
        ModelRef::Image(m) => InputSpec::from_preprocess(&m.preprocess(), d.image_size),
        ModelRef::Text(_) => InputSpec::tokens(),
        ModelRef::Mlp => InputSpec::vectors(1),
    };
    let pixels = matches!(found, ModelRef::Image(_));
    let small = pixels && input.height <= 32;
    if d.image_size.is_some() && !pixels {
        bail!("--image-size applies to image models; {model} does not read images");
    }
    let hidden = match (&found, &d.hidden) {
        (ModelRef::Mlp, h) => Some(h.clone().unwrap_or_else(|| MLP_HIDDEN.to_vec())),
        (_, None) => None,
        (_, Some(_)) => bail!("--hidden applies to the mlp model, not to {model}"),
    };
    // The adapters' targets, the model's usual ones unless named: PEFT's for BERT-family
    // encoders (query, value), the registry's for images (an error for models without).
    let lora = match (&spec.lora, &found) {
        (None, _) => None,
        (Some(l), ModelRef::Image(m)) => Some(m.lora_spec(l)?),
        (Some(l), _) if is_text => {
            let mut l = l.clone();
            if l.targets.is_empty() {
                l.targets = LoraSpec::new(l.rank).targets;
            }
            Some(l)
        }
        (Some(_), _) => {
            bail!("--lora applies to text models and vision transformers, not to {model}")
        }
    };
    if spec.merge_lora && lora.is_none() {
        bail!("--merge-lora needs --lora");
    }
    let text = if is_text {
        Some(TextRecipe::new(&d.text, d.text.max_length(&model)?))
    } else {
        None
    };
    let mut groups = spec.groups.clone();
    groups.lr = spec.opts.lr;
    if lora.is_some() {
        groups.train_only = LORA_MARKERS.iter().map(|m| m.to_string()).collect();
    }
    let mut train = spec.opts.config(groups, input, small);
    if !pixels {
        train.augment = Augment::none(); // token ids and vectors take no pixel augmentation
    }
    Ok(Recipe {
        command: spec.command.name().to_string(),
        model,
        weights: spec.weights.clone(),
        weights_sha256: None,
        data,
        val: d.val.clone(),
        val_fraction: d.val_fraction,
        test: d.test.clone(),
        labels_per_class: d.labels_per_class,
        sample_weights: d.sample_weights.clone(),
        image_size: d.image_size,
        classes: Vec::new(),
        merge_lora: spec.merge_lora,
        train,
        hidden,
        text,
        lora,
        decode_size: Some(decode),
    })
}

/// Runs `spec`: trains, evaluates, and saves the run. Cancelling through `cancel` stops at the
/// next step with a checkpoint saved and returns [`Error::Cancelled`]; running the same
/// spec with [`Start::Resume`] then finishes it as an uninterrupted run would have.
pub fn run(
    spec: &TrainSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<TrainOutcome, Error> {
    run_inner(spec, rt, obs, cancel).map_err(Error::from)
}

fn run_inner(
    spec: &TrainSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> anyhow::Result<TrainOutcome> {
    let t0 = Instant::now();
    let threads = rt.apply_threads();
    let device = rt.device;
    let command = spec.command.name();

    let (mut recipe, dir, resuming) = match &spec.start {
        Start::Resume(dir) => (Recipe::read(dir)?, dir.clone(), true),
        Start::Recipe(file) => {
            let mut recipe = Recipe::read_file(file)?;
            if recipe.command != command {
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
            let dir = new_run_dir(spec.out.as_deref(), command, &recipe.model)?;
            (recipe, dir, false)
        }
        Start::New => {
            let recipe = new_recipe(spec, crate::decode_size::for_new_run(rt.decode_size))?;
            let dir = new_run_dir(spec.out.as_deref(), command, &recipe.model)?;
            (recipe, dir, false)
        }
    };
    let run_dir = RunDir::new(&dir);
    let decode = crate::decode_size::for_recorded_run(
        rt.decode_size,
        recipe.decode_size,
        &format!("the run in {}", dir.display()),
        obs,
    );
    recipe.decode_size = Some(decode);
    if let Some(f) = recipe.val_fraction {
        if !(0.0..1.0).contains(&f) {
            bail!("--val-fraction must be in [0, 1), got {f}");
        }
    }
    let seed = recipe.train.seed;
    let text = recipe.text.clone();
    let found = ModelRef::resolve(&recipe.model)?;
    let source = match (&text, &found) {
        (Some(t), _) => Source::Text(t.clone(), tokenizer_file(&recipe.model)?),
        (None, ModelRef::Mlp) => {
            let specs: Vec<&str> = [
                Some(&recipe.data),
                recipe.val.as_ref(),
                recipe.test.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
            Source::Vectors(vector_data::common_width(&specs)?)
        }
        (None, m) => Source::Images(m.preprocess().with_context(|| {
            format!(
                "{}: not an image model, and the recipe has no text settings",
                recipe.model
            )
        })?),
    };
    let open_data = |path: &str, obs: &mut dyn Observer| -> anyhow::Result<Samples> {
        match &source {
            Source::Text(t, tok) => text_data::open(path, tok, t, true, obs),
            Source::Images(pre) => {
                image_data::open(path, pre, recipe.image_size, threads, decode, obs)
            }
            Source::Vectors(width) => vector_data::open(path, *width),
        }
    };

    let mut train = open_data(&recipe.data, obs)?;
    if matches!(source, Source::Vectors(_)) {
        recipe.train.input = InputSpec::vectors(train.channels());
    }
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
        .map(|f| read_for(f, "the training set", &train))
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
            let v = open_data(v, obs)?;
            same_classes(&v, "validation set", &train, "the training set")?;
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
    let test = match &recipe.test {
        Some(t) => {
            let t = open_data(t, obs)?;
            same_classes(&t, "test set", &train, "the training set")?;
            Some(t)
        }
        None => None,
    };
    // A class no set has a sample of is an unused label value (labels 1..10 of an array file
    // give an empty class 0): harmless. One that only the validation or test set has cannot
    // be learnt.
    let empty = train.empty_classes();
    let missed: Vec<&&str> = empty
        .iter()
        .filter(|c| {
            let i = train
                .class_names
                .iter()
                .position(|n| n == *c)
                .expect("a class") as i64;
            [&val, &test]
                .into_iter()
                .flatten()
                .any(|s| s.labels.contains(&i))
        })
        .collect();
    if !missed.is_empty() || empty.len() == train.class_names.len() {
        bail!(
            "{}: no training sample of class(es) {}",
            train.source,
            empty.join(", ")
        );
    }
    if !empty.is_empty() {
        obs.warn(&format!(
            "{}: no sample of class(es) {} in any set; their outputs are trained to stay unused",
            train.source,
            empty.join(", ")
        ));
    }

    tch::manual_seed(seed as i64);
    let classes = train.num_classes() as i64;
    let mut loaded = match (&text, &found) {
        // `pretrain` trains from scratch: the folder gives the architecture, not the weights.
        (Some(_), _) => backbone_load::load_text(
            &recipe.model,
            classes,
            device,
            recipe.lora.as_ref(),
            recipe.command != "pretrain",
        )?,
        (None, ModelRef::Mlp) => backbone_load::load_mlp(
            recipe.weights.as_deref(),
            Some(train.channels()),
            recipe.hidden.as_deref().unwrap_or(&MLP_HIDDEN),
            0.0,
            classes,
            device,
            true,
        )?,
        (None, _) => backbone_load::load_adapted(
            &recipe.model,
            recipe.weights.as_deref(),
            Some(classes),
            device,
            true,
            recipe.lora.as_ref(),
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
    crate::report::environment::record_or_warn(
        &dir,
        threads,
        &rt.device_name(),
        seed,
        resuming,
        obs,
    );

    let files = run_dir.files();
    let model = loaded.model;
    if let Some(a) = recipe.train.precision.advice(device) {
        obs.warn(a);
    }
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
    obs.info(&format!(
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
    ));
    let result = trainer.fit(
        &train,
        weights.as_deref(),
        val.as_ref(),
        &files,
        cancel.flag(),
        &mut |e| obs.event(Event::Train(&e)),
    );
    match result {
        Ok(()) => {}
        Err(NnError::Interrupted { epoch, step }) => {
            return Err(Error::Cancelled { dir, epoch, step }.into());
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
            serde_json::to_string(&recipe.classes).context("serialising the classes")?,
        ),
    ]);
    let model_file = run_dir.model();
    match recipe.lora.as_ref().filter(|_| recipe.merge_lora) {
        Some(spec) => {
            let merged = graft_nn::models::lora::merged_tensors(&loaded.vs, spec)?;
            graft_nn::weights::save::save_tensors(&merged, &model_file, &meta)?;
        }
        None => graft_nn::weights::save::save_safetensors(&loaded.vs, &model_file, &meta)?,
    }
    if let Some(spec) = &recipe.lora {
        output::save_adapter(&loaded.vs, spec, &recipe.model, &run_dir.adapter())?;
    }
    if text.is_some() && (recipe.lora.is_none() || recipe.merge_lora) {
        output::copy_model_folder_files(&resolve_model_dir(&recipe.model)?, &dir)?;
    }

    let eval = |data: &Samples| -> anyhow::Result<ClassMetrics> {
        Ok(evaluate(model.as_ref(), &cfg_input, data, device, 64)?)
    };
    let val_m = val.as_ref().map(eval).transpose()?;
    let test_m = test.as_ref().map(eval).transpose()?;
    let headline = test_m.as_ref().or(val_m.as_ref());
    let last = progress.history.last();
    let selected = match best {
        Some(e) => format!("epoch {e} (best validation accuracy)"),
        None => format!("epoch {} (last)", progress.history.len()),
    };
    let summary = Summary {
        command: recipe.command.clone(),
        run_dir: dir.display().to_string(),
        model: recipe.model.clone(),
        weights: recipe.weights.clone(),
        data: recipe.data.clone(),
        train_samples: train.len(),
        classes: recipe.classes.clone(),
        epochs_run: progress.history.len(),
        trainable_parameters: trainable,
        frozen_parameters: frozen,
        trainable_fraction: trainable as f64 / (trainable + frozen).max(1) as f64,
        lora: recipe.lora.clone(),
        max_length: recipe.text.as_ref().map(|t| t.max_length),
        stopped_early: progress.stopped_early,
        selected,
        train_loss: last.map(|r| r.train_loss),
        train_accuracy: last.map(|r| r.train_accuracy),
        accuracy: headline.map(|m| m.accuracy),
        macro_f1: headline.map(|m| m.macro_f1),
        val: val_m,
        test: test_m,
        seed,
        seconds: t0.elapsed().as_secs_f64(),
    };
    summary.write(&dir)?;
    let report = crate::report::after_run(&dir, obs);
    Ok(TrainOutcome {
        dir: run_dir,
        summary,
        report,
    })
}
