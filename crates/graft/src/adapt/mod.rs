//! Domain adaptation runs (`graft adapt`): deep domain adaptation and parameter-transfer
//! regularisers, alone or mixed by a recipe. A labelled source, an unlabelled target and
//! (optionally) a labelled target test set; the model is trained on the source with the
//! recipe's domain loss, self-training and regularisers, the epoch to keep is chosen without
//! target labels, and the target test accuracy is the run's headline.

mod data;
mod projection;
pub mod recipe;
mod spec;
mod summary;

pub use spec::{AdaptSpec, SelectName};
pub use summary::{AdaptOutcome, AdaptSummary, BeforeAfter};

use crate::backbone_load;
use crate::model_ref::{ModelRef, MLP_HIDDEN};
use crate::observe::{Event, Observer};
use crate::weights_file::{pick, read_for};
use crate::{CancelToken, Error, RunDir, Runtime};
use anyhow::{bail, Context};
use graft_nn::models::Backbone;
use graft_nn::train::adapt::{AdaptEvent, Adapter};
use graft_nn::train::data::stratified_split;
use graft_nn::train::{evaluate, ClassMetrics, Samples, Trainer};
use graft_nn::NnError;
use recipe::AdaptRecipe;
use std::collections::BTreeMap;
use std::time::Instant;
use tch::nn::VarStore;

/// Runs `a`: adapts, selects the epoch to keep without target labels, evaluates, and saves the
/// run. Cancelling through `cancel` stops at the next step with a checkpoint saved
/// ([`Error::Cancelled`]); the same spec with `resume` set to the run directory finishes it.
pub fn run(
    a: &AdaptSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<AdaptOutcome, Error> {
    run_inner(a, rt, obs, cancel).map_err(Error::from)
}

fn run_inner(
    a: &AdaptSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> anyhow::Result<AdaptOutcome> {
    let t0 = Instant::now();
    let threads = rt.apply_threads();
    let device = rt.device;
    let asked = rt.decode_size;
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
            let r = base.overlay(&a.recipe()?).complete();
            let model = r
                .model
                .clone()
                .context("--model is required (or a recipe with `model`, or --resume RUN_DIR)")?;
            let dir = crate::train::new_run_dir(a.out.as_deref(), "adapt", &model)?;
            (r, dir, false)
        }
    };
    let recorded = match (resuming, recipe.decode_size) {
        (false, None) => Some(crate::decode_size::for_new_run(asked)),
        (_, r) => r,
    };
    let decode = crate::decode_size::for_recorded_run(
        asked,
        recorded,
        &format!("the run in {}", dir.display()),
        obs,
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
    let found = ModelRef::resolve(&model_name)?;
    let vectors = matches!(found, ModelRef::Mlp);
    let text = found.is_text();
    if text && recipe.weights.is_some() {
        bail!("--weights does not apply to a text model: {model_name} holds its own weights");
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
            obs,
        )?
    } else {
        let pre = found.preprocess().context("an image model")?;
        data::images(
            &source,
            &target,
            recipe.target_test.as_deref(),
            &pre,
            threads,
            decode,
            obs,
        )?
    };
    let mut weights = recipe
        .sample_weights
        .as_deref()
        .map(|f| read_for(f, "the source", &sets.source))
        .transpose()?;
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
        // From random weights, or from a trained mlp's file (its widths), keeping its head
        // when it fits these classes.
        let hidden = recipe.hidden.clone().unwrap_or_else(|| MLP_HIDDEN.to_vec());
        let load = |new_head| {
            backbone_load::load_mlp(
                recipe.weights.as_deref(),
                Some(sets.input.channels),
                &hidden,
                recipe.train.dropout.unwrap_or(0.0),
                classes,
                device,
                new_head,
            )
        };
        let l = load(false).or_else(|_| load(true))?;
        (l.vs, l.model)
    } else if text {
        let l = backbone_load::load_text(&model_name, classes, device, None, true)?;
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
    crate::report::environment::record_or_warn(
        &dir,
        threads,
        &rt.device_name(),
        seed,
        resuming,
        obs,
    );
    if let Some(advice) = train_cfg.precision.advice(device) {
        obs.warn(advice);
    }
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
            .map_err(|e| obs.warn(&format!("no feature projection in the report: {e:#}")))
            .ok()
        })
        .flatten();
    let files = RunDir::new(&dir).files();
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
    {
        obs.info(&format!(
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
        ));
    }
    let monitor = if a.monitor { sets.test.as_ref() } else { None };
    let result = adapter.fit(
        &sets.source,
        weights.as_deref(),
        &sets.target,
        val.as_ref(),
        monitor,
        &files,
        cancel.flag(),
        &mut |e| match e {
            AdaptEvent::Engine(e) => obs.event(Event::Train(&e)),
            AdaptEvent::EpochEnd(r) => obs.event(Event::AdaptEpochEnd(r)),
        },
    );
    match result {
        Ok(()) => {}
        Err(NnError::Interrupted { epoch, step }) => {
            return Err(Error::Cancelled { dir, epoch, step }.into());
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
        (crate::train::META_MODEL.to_string(), model_name.clone()),
        (
            crate::train::META_CLASSES.to_string(),
            serde_json::to_string(&sets.source.class_names)?,
        ),
    ]);
    graft_nn::weights::save::save_safetensors(&vs, &dir.join("model.safetensors"), &meta)?;
    let eval = |d: &Samples| -> anyhow::Result<ClassMetrics> {
        Ok(evaluate(model.as_ref(), &input, d, device, 256)?)
    };
    let val_m = val.as_ref().map(&eval).transpose()?;
    let test_m = sets.test.as_ref().map(&eval).transpose()?;
    let random_start = recipe.weights.is_none() && !text;
    let inputs = match (&sample, random_start) {
        (Some(s), true) => s
            .input_distance(&sets.source, &sets.target, seed)
            .map_err(|e| obs.warn(&format!("no proxy A-distance of the inputs: {e:#}")))
            .ok()
            .flatten(),
        _ => None,
    };
    let pad = sample.and_then(|s| {
        let projected = s
            .after(model.as_ref(), &input, &sets.source, &sets.target, device)
            .and_then(|f| f.save(&dir))
            .and_then(|()| crate::report::projection::analyse(&dir, seed));
        match projected {
            Ok(p) => Some(BeforeAfter {
                before: p.before.pad.map(|d| d.pad),
                after: p.after.pad.map(|d| d.pad),
                random_start,
                inputs,
            }),
            Err(e) => {
                obs.warn(&format!("no feature projection in the report: {e:#}"));
                None
            }
        }
    });
    let last = progress.history.last();
    let summary = AdaptSummary {
        command: "adapt".into(),
        run_dir: dir.display().to_string(),
        model: model_name,
        method: method.to_string(),
        self_training: adapt_cfg.self_training,
        l2sp: adapt_cfg.l2sp,
        delta: adapt_cfg.delta,
        bss: adapt_cfg.bss,
        adabn_layers: adabn,
        domain_weight: adapt_cfg.domain_weight,
        source,
        target_unlabelled: target,
        target_test: recipe.target_test.clone(),
        source_samples: sets.source.len(),
        target_samples: sets.target.len(),
        classes: sets.source.class_names.clone(),
        epochs_run: progress.history.len(),
        selected_epoch: selected,
        selected: format!("epoch {selected}: {why}"),
        source_val_accuracy: val_m.as_ref().map(|m| m.accuracy),
        source_val: val_m,
        dev_risk: dev.as_ref().map(|d| d.risk),
        domain_accuracy: last.and_then(|r| r.domain_accuracy),
        train_loss: last.map(|r| r.base.train_loss),
        train_accuracy: last.map(|r| r.base.train_accuracy),
        accuracy: test_m.as_ref().map(|m| m.accuracy),
        macro_f1: test_m.as_ref().map(|m| m.macro_f1),
        test: test_m,
        proxy_a_distance: pad,
        seed,
        seconds: t0.elapsed().as_secs_f64(),
    };
    summary.write(&dir)?;
    let report = crate::report::after_run(&dir, obs);
    Ok(AdaptOutcome {
        dir: RunDir::new(dir),
        summary,
        report,
    })
}
