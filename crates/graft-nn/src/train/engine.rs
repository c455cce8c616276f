//! The training loop. One objective, `mean_i w_i * task_loss_i` (plus, later, regularisers and
//! domain losses), minimised over the trainable parameter groups; the frozen prefix of the
//! backbone runs outside autograd. Every random draw (data order, augmentation, dropout)
//! derives from the seed and the global step, so a run resumed from any checkpoint ends
//! exactly where the uninterrupted run does.

use crate::models::Backbone;
use crate::precision::{Autocast, Precision};
use crate::train::checkpoint;
use crate::train::data::Samples;
use crate::train::input::{Augment, InputSpec};
use crate::train::loss::cross_entropy;
use crate::train::loss_scale::LossScale;
use crate::train::metrics::ClassMetrics;
use crate::train::optim::{backward_and_step, Optimizer, OptimizerSpec};
use crate::train::params::{GroupSpec, ParamGroups};
use crate::train::schedule::{LrSchedule, Schedule};
use crate::{NnError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// BatchNorm behaviour in the trainable stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BnMode {
    /// Batch statistics, running averages updated (the usual training mode).
    Train,
    /// Running statistics used and kept as loaded (stages run in inference mode); the right
    /// choice for small batches or when the pre-trained statistics should stay.
    Frozen,
}

/// Everything that defines a training run besides the model and the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub groups: GroupSpec,
    pub optimizer: OptimizerSpec,
    pub schedule: Schedule,
    pub warmup_epochs: f64,
    pub clip_grad_norm: Option<f64>,
    pub label_smoothing: f64,
    pub bn: BnMode,
    pub augment: Augment,
    pub input: InputSpec,
    pub seed: u64,
    /// Stop when validation accuracy has not improved for this many epochs.
    pub early_stopping: Option<usize>,
    /// Precision of the forward passes (training, validation and test); weights, gradients
    /// and losses stay in float32.
    #[serde(default)]
    pub precision: Precision,
}

/// One line of metrics.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub lr: f64,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val: Option<ClassMetrics>,
    /// The process's peak resident memory (MiB) when the epoch ended: flat from epoch to epoch
    /// unless something grows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// fp16 only: the loss scale when the epoch ended, and the steps skipped so far for
    /// overflowing gradients (a few early in a run are normal; many mean the scale keeps
    /// collapsing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_steps: Option<u64>,
}

/// The trainer's progress, saved inside each checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Epoch being trained (0-based) and steps of it done.
    pub epoch: usize,
    pub step_in_epoch: usize,
    pub global_step: usize,
    /// Running sums of the epoch in progress: loss * samples, correct, samples.
    pub partial: (f64, u64, u64),
    pub history: Vec<EpochRecord>,
    pub best_epoch: Option<usize>,
    pub best_val_accuracy: Option<f64>,
    pub stopped_early: bool,
    /// The dynamic loss scale of an fp16 run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<LossScale>,
}

/// What a caller sees while training runs (progress bars).
#[derive(Debug)]
pub enum Event<'a> {
    EpochStart {
        epoch: usize,
        epochs: usize,
        steps: usize,
    },
    Step {
        step: usize,
        loss: f64,
    },
    EpochEnd(&'a EpochRecord),
}

/// Files of a run directory the engine owns.
pub struct RunFiles {
    pub dir: PathBuf,
}

impl RunFiles {
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.safetensors")
    }
    pub fn best(&self) -> PathBuf {
        self.dir.join("best.safetensors")
    }
    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.jsonl")
    }
}

/// A model with its trainable groups and optimiser, ready to train.
pub struct Trainer<'a> {
    pub model: &'a dyn Backbone,
    pub vs: &'a mut VarStore,
    pub groups: ParamGroups,
    pub opt: Optimizer,
    pub cfg: TrainConfig,
    pub progress: Progress,
    pub device: Device,
}

/// Mixes the seed with a counter (SplitMix64), so every step and epoch has its own stream.
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Batch size and steps per epoch over `n` samples. A last batch of one is dropped:
/// BatchNorm cannot train on a single sample.
pub fn batching(n: usize, batch_size: usize) -> (usize, usize) {
    let bs = batch_size.min(n).max(1);
    let steps = if n % bs == 1 { n / bs } else { n.div_ceil(bs) }.max(1);
    (bs, steps)
}

/// Refuses an empty training set (`what` names its role) and sample weights that do not match
/// it, before any work.
pub(crate) fn check_training_set(
    train: &Samples,
    weights: Option<&[f32]>,
    what: &str,
) -> Result<()> {
    let n = train.len();
    if n == 0 {
        return Err(NnError::Invalid(format!(
            "{}: no {what} samples",
            train.source
        )));
    }
    if let Some(w) = weights.filter(|w| w.len() != n) {
        return Err(NnError::Invalid(format!(
            "{} sample weights for {n} training samples",
            w.len()
        )));
    }
    Ok(())
}

/// The order in which epoch `epoch` visits `n` samples: a shuffle drawn from the seed alone, so
/// a resumed run visits them as the uninterrupted one did.
pub(crate) fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<i64> {
    let mut order: Vec<i64> = (0..n as i64).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(derive_seed(
        seed,
        1,
        epoch as u64,
    )));
    order
}

impl<'a> Trainer<'a> {
    pub fn new(model: &'a dyn Backbone, vs: &'a mut VarStore, cfg: TrainConfig) -> Result<Self> {
        if cfg.epochs == 0 || cfg.batch_size == 0 {
            return Err(NnError::Invalid(format!(
                "epochs and batch size must be at least 1 (got {} and {})",
                cfg.epochs, cfg.batch_size
            )));
        }
        let groups = ParamGroups::new(vs, model, &cfg.groups)?;
        let opt = Optimizer::new(cfg.optimizer.clone(), &groups.params)?;
        let device = vs.device();
        let loss_scale = LossScale::for_precision(None, cfg.precision);
        Ok(Trainer {
            model,
            vs,
            groups,
            opt,
            cfg,
            progress: Progress {
                loss_scale,
                ..Progress::default()
            },
            device,
        })
    }

    /// The learning-rate schedule of a run of `steps` steps per epoch.
    pub fn lr_schedule(&self, steps: usize) -> LrSchedule {
        LrSchedule {
            schedule: self.cfg.schedule.clone(),
            warmup_steps: (self.cfg.warmup_epochs * steps as f64).round() as usize,
            total_steps: steps * self.cfg.epochs,
            steps_per_epoch: steps,
        }
    }

    /// Restores a checkpoint written by [`Trainer::fit`].
    pub fn resume_from(&mut self, path: &Path) -> Result<()> {
        let json = checkpoint::load(path, self.vs, &self.groups.params, &mut self.opt)?;
        self.progress = serde_json::from_str(&json).map_err(|e| NnError::BadWeights {
            path: path.to_path_buf(),
            what: format!("unreadable progress record: {e}"),
        })?;
        self.progress.loss_scale =
            LossScale::for_precision(self.progress.loss_scale.take(), self.cfg.precision);
        Ok(())
    }

    fn save_checkpoint(&self, files: &RunFiles) -> Result<()> {
        let json = serde_json::to_string(&self.progress).expect("progress serialises");
        checkpoint::save(
            &files.checkpoint(),
            self.vs,
            &self.groups.params,
            &self.opt,
            &json,
        )?;
        let mut lines = String::new();
        for r in &self.progress.history {
            lines.push_str(&serde_json::to_string(r).expect("record serialises"));
            lines.push('\n');
        }
        graft_data::atomic::write_atomic_bytes(&files.metrics(), lines.as_bytes())
            .map_err(|e| NnError::Invalid(e.to_string()))
    }

    /// Logits of the whole model on a batch already in the network's input form. The frozen
    /// prefix runs without autograd and in inference mode.
    pub fn forward_train(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_train_parts(x)?.1)
    }

    /// Features (the last stage, pooled) and logits of a training forward pass, for the
    /// domain losses that compare source and target features ([`crate::train::adapt`]).
    /// Samples `idx` of `train` on the device as the step trains on them: the augmented
    /// training view, their labels (from `labels`, all of the set's) and their loss weights.
    pub(crate) fn labelled_batch(
        &self,
        train: &Samples,
        labels: &Tensor,
        weights: Option<&Tensor>,
        idx: &[i64],
        rng: &mut ChaCha8Rng,
    ) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let idx_t = Tensor::from_slice(idx);
        let x = train.batch_unit(idx)?.f_to_device(self.device)?;
        let x = self
            .cfg
            .input
            .train_view(train.kind, &x, &self.cfg.augment, rng)?;
        let y = labels.f_index_select(0, &idx_t)?.f_to_device(self.device)?;
        let w = match weights {
            Some(w) => Some(w.f_index_select(0, &idx_t)?.f_to_device(self.device)?),
            None => None,
        };
        Ok((x, y, w))
    }

    pub fn forward_train_parts(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (f, logits, _) = self.forward_train_taps(x, &[])?;
        Ok((f, logits))
    }

    /// [`Trainer::forward_train_parts`] that also returns the raw outputs of the stages `taps`
    /// (indices, any order), in increasing stage order, from the same single pass: a stage
    /// regulariser (DELTA) sees the very maps the loss is computed from, and BatchNorm counts
    /// each batch once.
    pub fn forward_train_taps(
        &self,
        x: &Tensor,
        taps: &[usize],
    ) -> Result<(Tensor, Tensor, Vec<Tensor>)> {
        let model = self.model;
        let last = model.stages().len() - 1;
        let frozen = self.groups.frozen_stages;
        let bn_train = self.cfg.bn == BnMode::Train;
        // Segment ends: every tap, the end of the frozen prefix, the last stage. Each segment is
        // wholly frozen (no autograd) or wholly trained.
        let mut ends: Vec<usize> = taps.iter().copied().filter(|&t| t <= last).collect();
        if frozen > 0 {
            ends.push(frozen - 1);
        }
        ends.push(last);
        ends.sort_unstable();
        ends.dedup();
        let autocast = self.autocast();
        let mut h = x.shallow_clone();
        let mut maps = Vec::new();
        let mut next = 0;
        for e in ends {
            h = if e < frozen {
                tch::no_grad(|| model.forward_stages(&h, next, e, false))?
            } else {
                model.forward_stages(&h, next, e, bn_train)?
            };
            if taps.contains(&e) {
                maps.push(h.shallow_clone());
            }
            next = e + 1;
        }
        let f = model.pool_stage(&h, last)?;
        let logits = model.forward_head(&f, true)?;
        drop(autocast);
        // Losses and domain heads work in float32 whatever the precision of the pass.
        // (`to_kind` returns the tensor itself when it is float32 already.)
        let f32 = |t: &Tensor| t.f_to_kind(Kind::Float);
        let maps = maps
            .iter()
            .map(f32)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((f32(&f)?, f32(&logits)?, maps))
    }

    /// Trains to the configured number of epochs (or early stop), from the current progress.
    /// `val` is evaluated after every epoch; with it, the best epoch's weights are kept in
    /// `best.safetensors` and restored at the end. `stop` is polled every step (Ctrl-C).
    pub fn fit(
        &mut self,
        train: &Samples,
        weights: Option<&[f32]>,
        val: Option<&Samples>,
        files: &RunFiles,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<()> {
        let n = train.len();
        check_training_set(train, weights, "training")?;
        let (bs, steps) = batching(n, self.cfg.batch_size);
        let sched = self.lr_schedule(steps);
        let labels = Tensor::from_slice(&train.labels);
        let weights_t = weights.map(Tensor::from_slice);
        while self.progress.epoch < self.cfg.epochs && !self.progress.stopped_early {
            let epoch = self.progress.epoch;
            let started = Instant::now();
            on_event(Event::EpochStart {
                epoch,
                epochs: self.cfg.epochs,
                steps,
            });
            let order = epoch_order(n, self.cfg.seed, epoch);
            while self.progress.step_in_epoch < steps {
                if stop.load(Ordering::SeqCst) {
                    self.save_checkpoint(files)?;
                    return Err(NnError::Interrupted {
                        epoch,
                        step: self.progress.step_in_epoch,
                    });
                }
                let s = self.progress.step_in_epoch;
                let idx = &order[s * bs..((s + 1) * bs).min(n)];
                let step_seed = derive_seed(self.cfg.seed, 2, self.progress.global_step as u64);
                tch::manual_seed(step_seed as i64);
                let mut rng = ChaCha8Rng::seed_from_u64(step_seed);
                let (x, y, w) =
                    self.labelled_batch(train, &labels, weights_t.as_ref(), idx, &mut rng)?;
                let logits = self.forward_train(&x)?;
                let loss = cross_entropy(&logits, &y, self.cfg.label_smoothing, w.as_ref())?;
                let loss_v = loss.double_value(&[]);
                let factor = sched.factor(self.progress.global_step);
                if !loss_v.is_finite() {
                    return Err(NnError::Diverged {
                        epoch,
                        step: s,
                        what: format!(
                            "the loss is {loss_v} (learning rate {:.3e}); the last good \
                             checkpoint is {}. Lower --lr, add --clip-grad, or check the \
                             inputs for extreme values",
                            self.cfg.groups.lr * factor,
                            files.checkpoint().display()
                        ),
                    });
                }
                backward_and_step(
                    &mut self.opt,
                    self.progress.loss_scale.as_mut(),
                    self.cfg.clip_grad_norm,
                    &loss,
                    &self.groups.params,
                    factor,
                    (epoch, s),
                )?;
                let correct = logits
                    .f_argmax(-1, false)?
                    .f_eq_tensor(&y)?
                    .f_sum(Kind::Int64)?
                    .int64_value(&[]) as u64;
                let p = &mut self.progress.partial;
                p.0 += loss_v * idx.len() as f64;
                p.1 += correct;
                p.2 += idx.len() as u64;
                self.progress.step_in_epoch += 1;
                self.progress.global_step += 1;
                on_event(Event::Step {
                    step: s,
                    loss: loss_v,
                });
            }
            let (sum, correct, seen) = self.progress.partial;
            let val_metrics = match val {
                Some(v) => Some(self.evaluate(v)?),
                None => None,
            };
            let record = EpochRecord {
                epoch: epoch + 1,
                train_loss: sum / seen.max(1) as f64,
                train_accuracy: correct as f64 / seen.max(1) as f64,
                lr: self.cfg.groups.lr * sched.factor(self.progress.global_step.saturating_sub(1)),
                seconds: started.elapsed().as_secs_f64(),
                val: val_metrics,
                peak_rss_mib: crate::train::memory::peak_rss_mib(),
                loss_scale: self.progress.loss_scale.as_ref().map(|s| s.scale),
                skipped_steps: self.progress.loss_scale.as_ref().map(|s| s.skipped_steps),
            };
            on_event(Event::EpochEnd(&record));
            if let Some(m) = &record.val {
                if self
                    .progress
                    .best_val_accuracy
                    .is_none_or(|b| m.accuracy > b)
                {
                    self.progress.best_val_accuracy = Some(m.accuracy);
                    self.progress.best_epoch = Some(epoch + 1);
                    crate::weights::save::save_safetensors(
                        self.vs,
                        &files.best(),
                        &Default::default(),
                    )?;
                }
                if let (Some(patience), Some(best)) =
                    (self.cfg.early_stopping, self.progress.best_epoch)
                {
                    if epoch + 1 >= best + patience {
                        self.progress.stopped_early = true;
                    }
                }
            }
            self.progress.history.push(record);
            self.progress.epoch += 1;
            self.progress.step_in_epoch = 0;
            self.progress.partial = (0.0, 0, 0);
            self.save_checkpoint(files)?;
        }
        Ok(())
    }

    /// Loads the best validation epoch's weights when there was one.
    pub fn restore_best(&mut self, files: &RunFiles) -> Result<Option<usize>> {
        let Some(best) = self.progress.best_epoch else {
            return Ok(None);
        };
        let sd = crate::weights::safetensors::read(&files.best())?;
        tch::no_grad(|| -> Result<()> {
            for (name, mut var) in self.vs.variables() {
                if let Some(t) = sd.get(&name) {
                    var.f_copy_(t)?;
                }
            }
            Ok(())
        })?;
        Ok(Some(best))
    }

    /// Accuracy, macro-F1, per-class accuracy and confusion on a labelled set.
    pub fn evaluate(&self, data: &Samples) -> Result<ClassMetrics> {
        let _autocast = self.autocast();
        evaluate(self.model, &self.cfg.input, data, self.device, 64)
    }

    /// Autocast at the run's precision, for passes made outside [`Trainer::forward_train_taps`].
    pub fn autocast(&self) -> Autocast {
        Autocast::enter(self.cfg.precision, self.device)
    }
}

/// `f` over the evaluation view of `data`, batch by batch, in inference mode; the results
/// concatenated on the CPU.
fn map_eval_batches(
    input: &InputSpec,
    data: &Samples,
    device: Device,
    batch_size: usize,
    f: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let n = data.len();
    let mut out = Vec::new();
    tch::no_grad(|| -> Result<()> {
        for start in (0..n).step_by(batch_size.max(1)) {
            let idx: Vec<i64> = (start as i64..(start + batch_size).min(n) as i64).collect();
            let x = input.eval_view(
                data.kind,
                &data.batch_unit(&idx)?.f_to_device(device)?,
                data.center_fraction,
            )?;
            out.push(f(&x)?.f_to_device(Device::Cpu)?);
        }
        Ok(())
    })?;
    if out.is_empty() {
        return Err(NnError::Invalid(format!("{}: no samples", data.source)));
    }
    Ok(Tensor::f_cat(&out, 0)?)
}

/// Class probabilities `(N, K)` of `model` on `data` (evaluation view, inference mode).
pub fn predict_proba(
    model: &dyn Backbone,
    input: &InputSpec,
    data: &Samples,
    device: Device,
    batch_size: usize,
) -> Result<Tensor> {
    map_eval_batches(input, data, device, batch_size, &|x| {
        Ok(model.forward(x, false)?.f_softmax(-1, Kind::Float)?)
    })
}

/// Features `(N, D)` of `model` at its last stage on `data` (evaluation view, inference mode):
/// the input of a shallow head trained on frozen features.
pub fn features(
    model: &dyn Backbone,
    input: &InputSpec,
    data: &Samples,
    device: Device,
    batch_size: usize,
) -> Result<Tensor> {
    map_eval_batches(input, data, device, batch_size, &|x| {
        Ok(model
            .forward_features(x, None, false)?
            .f_to_kind(Kind::Float)?)
    })
}

/// Metrics of `model` on a labelled set.
pub fn evaluate(
    model: &dyn Backbone,
    input: &InputSpec,
    data: &Samples,
    device: Device,
    batch_size: usize,
) -> Result<ClassMetrics> {
    let p = predict_proba(model, input, data, device, batch_size)?;
    let pred: Vec<i64> = Vec::<i64>::try_from(p.f_argmax(-1, false)?)?;
    ClassMetrics::new(&data.labels, &pred, data.num_classes())
}
