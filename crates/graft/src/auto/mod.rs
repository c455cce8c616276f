//! `graft auto`: most users do not know which kind of transfer to use, so this tries them in
//! order of cost within a time budget: a target-only baseline always first, then the source
//! model as it is, a linear probe of its frozen features, partial, LoRA (transformers) and full
//! fine-tuning, and, with unlabelled target data, domain adaptation (self-training, DANN, CDAN+E with
//! self-training) and fine-tuning of the best adapted model. On feature vectors the shallow
//! methods come first (a logistic-regression baseline, feature alignment, instance weighting,
//! TrAdaBoost, in `auto/shallow.rs`), then the same deep strategies with the `mlp` model.
//! Each trial is a library run in a run directory of its own, with a deadline; the winner is
//! chosen on a held-out part of the target labels,
//! trained again on all of them, and its recipe saved as `winner.toml` for
//! `graft finetune|pretrain|adapt --recipe`. Every strategy that lost to the baseline is
//! flagged as negative transfer.

mod bag_of_words;
pub mod budget;
mod shallow;
mod split;
mod trial;

use crate::adapt::AdaptSpec;
use crate::model_ref::{ModelRef, MLP, MLP_HIDDEN};
use crate::observe::Observer;
use crate::train::OptName;
use crate::train::{new_run_dir, TrainOpts, TrainSpec};
use crate::{CancelToken, Error, Runtime};
use anyhow::{bail, Context};
use budget::Budget;
use graft_nn::models::lora::LoraSpec;
use graft_nn::precision::Precision;
use graft_nn::train::SampleKind;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trial::{Ended, Job};

/// A search as the `graft auto` flags describe it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct AutoSpec {
    /// Labelled target data: an image folder, a CSV manifest or an array file
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: String,
    /// Keep only K labelled samples per class of --data (drawn with --seed)
    #[cfg_attr(feature = "clap", arg(long))]
    pub labels_per_class: Option<usize>,
    /// Target test set: the winner is measured on it once, after it has been chosen
    #[cfg_attr(feature = "clap", arg(long))]
    pub test: Option<String>,
    /// Labelled source data: a source model is trained on it for the transfer strategies
    /// (unless --weights are given), and the domain methods train on it
    #[cfg_attr(feature = "clap", arg(long))]
    pub source: Option<String>,
    /// Draw this many source samples at random (with the seed)
    #[cfg_attr(feature = "clap", arg(long, requires = "source"))]
    pub source_samples: Option<usize>,
    /// Unlabelled target data, for the domain-adaptation strategies (needs --source)
    #[cfg_attr(feature = "clap", arg(long, requires = "source"))]
    pub target_unlabelled: Option<String>,
    /// Draw this many unlabelled target samples at random
    #[cfg_attr(feature = "clap", arg(long, requires = "target_unlabelled"))]
    pub target_samples: Option<usize>,
    /// Candidate models, comma-separated; several are ranked by LogME first (image data and
    /// --weights for each needed) and the best is used. Default: lenet for images, mlp for
    /// feature vectors (.npz rows, svmlight, CSV, graft feature files); text data need a text
    /// model folder
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub models: Vec<String>,
    /// Pre-trained weights of the models, comma-separated in the same order
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub weights: Vec<String>,
    /// Wall-clock budget of the whole search: 90s, 10m, 1h, 1h30m
    #[cfg_attr(feature = "clap", arg(long, default_value = "10m", value_parser = crate::auto::budget::parse))]
    pub budget: Duration,
    /// Fraction of every class of --data held out to choose the winner
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.3))]
    pub val_fraction: f64,
    /// Run directory (default: runs/auto-MODEL-N)
    #[cfg_attr(feature = "clap", arg(long))]
    pub out: Option<PathBuf>,
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0))]
    pub seed: u64,
    // Every trial runs at this precision; it is in their recipes, so the final run keeps it.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = Precision::Fp32, help = crate::train::PRECISION_HELP))]
    pub precision: Precision,
}

/// One strategy tried, and how it went.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    #[serde(rename = "strategy")]
    pub name: String,
    pub what: String,
    /// The command that repeats it.
    pub command: &'static str,
    /// Whether it reuses anything beyond the target labels (compared with the baseline).
    pub transfer: bool,
    #[serde(rename = "run_dir")]
    pub dir: PathBuf,
    pub status: String,
    #[serde(rename = "val_accuracy")]
    pub val: Option<f64>,
    /// Macro-F1 on the held-out part, which breaks ties of accuracy (a few dozen held-out
    /// samples tie often).
    #[serde(rename = "val_macro_f1")]
    pub f1: Option<f64>,
    pub seconds: f64,
}

/// A strategy to try: its run and its cost in sample-epochs (1 for a shallow method).
struct Try {
    name: &'static str,
    what: String,
    transfer: bool,
    job: Job,
    work: f64,
    /// A shallow method's run on all the labels, measured on the test set, should it win.
    again: Option<Job>,
}

impl Try {
    fn shallow(s: shallow::Shallow, again: Job) -> Try {
        Try {
            name: s.name,
            what: s.what.to_string(),
            transfer: s.transfer,
            job: s.job,
            work: 1.0,
            again: Some(again),
        }
    }
}

/// `spec` with its file part made absolute, so that recipes work from any folder.
fn absolute_spec(spec: &str) -> String {
    let p = Path::new(spec);
    if p.exists() {
        return std::path::absolute(p).map_or(spec.to_string(), |a| a.display().to_string());
    }
    if let Some((file, part)) = graft_data::arrays::split_array_spec(spec) {
        if let Ok(a) = std::path::absolute(file) {
            return format!("{}:{part}", a.display());
        }
    }
    spec.to_string()
}

/// Number of samples in a labelled or unlabelled data spec (texts, images or arrays).
fn count(spec: &str, text: bool) -> anyhow::Result<usize> {
    let p = Path::new(spec);
    if text {
        let opts = graft_data::text::TextOptions {
            label_column: None,
            ..crate::text_features::TextArgs::default().options()
        };
        return Ok(graft_data::text::open_text(p, &opts)
            .with_context(|| format!("reading the texts at {spec}"))?
            .len());
    }
    if p.exists() && crate::image_data::is_image_source(p) {
        let ds = graft_data::image_folder::ImageDataset::open_with(
            p,
            graft_data::image_folder::OpenOptions { min_classes: 1 },
        )
        .with_context(|| format!("reading {spec}"))?;
        return Ok(ds.samples.len());
    }
    Ok(graft_data::arrays::open_array_spec(spec)
        .with_context(|| format!("reading {spec}"))?
        .n)
}

fn epochs_for(samples: usize, batch: usize, steps: usize, lo: usize, hi: usize) -> usize {
    let per_epoch = samples.div_ceil(batch).max(1);
    steps.div_ceil(per_epoch).clamp(lo, hi)
}

/// A trial given less time than this could not even load its data.
const MIN_TRIAL_SECONDS: f64 = 5.0;

/// Source samples of an adaptation trial (a slice is enough to align the domains).
const MAX_ADAPT_SOURCE: usize = 5000;

struct Search<'a> {
    a: &'a AutoSpec,
    dir: PathBuf,
    budget: Budget,
    rows: Vec<Row>,
    /// The shallow rows' runs on all the labels, to repeat the winner with.
    again: Vec<Option<Job>>,
    /// Device, threads and decode size of every trial.
    rt: &'a Runtime,
    obs: &'a mut dyn Observer,
    cancel: &'a CancelToken,
}

impl Search<'_> {
    fn say(&mut self, msg: String) {
        self.obs.info(&msg);
    }

    fn interrupted(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Time to keep for training the best finished strategy again on all the labels: twice
    /// its trial's, as the machine may be busier then.
    fn reserve(&self) -> f64 {
        self.best_of(0..self.rows.len())
            .map(|i| &self.rows[i])
            .filter(|r| r.command != "adapt")
            .map_or(0.0, |r| 2.0 * r.seconds + 5.0)
    }

    /// The row of `rows` with the best held-out accuracy, then macro-F1; the earlier
    /// (cheaper) on a tie of both.
    fn best_of(&self, rows: impl IntoIterator<Item = usize>) -> Option<usize> {
        let key = |i: usize| (self.rows[i].val, self.rows[i].f1.unwrap_or(0.0));
        rows.into_iter()
            .filter(|&i| self.rows[i].val.is_some())
            .fold(None, |b: Option<usize>, i| match b {
                Some(b) if key(b) >= key(i) => Some(b),
                _ => Some(i),
            })
    }

    /// Runs `t` when it fits the budget; its row either way.
    fn attempt(&mut self, t: Try) -> anyhow::Result<Option<usize>> {
        // `CDAN+E + self-training` -> `CDAN-E-self-training`.
        let slug = t
            .name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let dir = self.dir.join("trials").join(&slug);
        let left = self.budget.left().as_secs_f64();
        let command = t.job.command();
        // Shallow methods differ in cost by orders of magnitude: each is timed on its own.
        let kind = if t.job.shallow() { t.name } else { command };
        let need = self.budget.estimate(kind, t.work);
        let again = t.again.clone();
        let mut row = Row {
            name: t.name.to_string(),
            what: t.what,
            command,
            transfer: t.transfer,
            dir: dir.clone(),
            status: String::new(),
            val: None,
            f1: None,
            seconds: 0.0,
        };
        if let Some(need) = need {
            if need + self.reserve() > left {
                row.status = format!("skipped: needs about {need:.0} s, {left:.0} s left");
                self.say(format!("  {:<24} {}", row.name, row.status));
                self.push(row, None);
                return Ok(None);
            }
        }
        if self.interrupted() {
            row.status = "skipped: interrupted".into();
            self.push(row, None);
            return Ok(None);
        }
        // Too little left to train anything (the first trial, the baseline, always runs).
        if left - self.reserve() < MIN_TRIAL_SECONDS && !self.rows.is_empty() || left < 1.0 {
            row.status = "skipped: the budget is spent".into();
            self.say(format!("  {:<24} {}", row.name, row.status));
            self.push(row, None);
            return Ok(None);
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        let limit = Duration::from_secs_f64((left - self.reserve()).max(1.0));
        let (ended, secs) = trial::run(t.job, &dir, limit, self.rt, self.cancel)?;
        row.seconds = secs;
        match ended {
            Ended::Finished { accuracy, macro_f1 } => {
                row.val = accuracy;
                row.f1 = macro_f1;
                row.status = "finished".into();
                self.budget.learn(kind, t.work, secs);
            }
            Ended::OutOfTime => row.status = "stopped: out of budget".into(),
            Ended::Interrupted => row.status = "interrupted".into(),
            Ended::Failed(m) => row.status = format!("failed: {m}"),
        }
        self.say(format!(
            "  {:<24} {:>7} {:>7.1} s  {}",
            row.name,
            row.val.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v)),
            row.seconds,
            row.status
        ));
        self.push(row, again);
        Ok(Some(self.rows.len() - 1))
    }

    fn push(&mut self, row: Row, job: Option<Job>) {
        self.rows.push(row);
        self.again.push(job);
    }

    /// The best held-out accuracy of the strategies that reuse nothing: what transfer must beat.
    fn baseline(&self) -> Option<f64> {
        self.rows
            .iter()
            .filter(|r| !r.transfer)
            .filter_map(|r| r.val)
            .reduce(f64::max)
    }
}

/// What a search found, as `graft auto --json` prints it (and `auto.json` keeps it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutoResult {
    pub command: &'static str,
    pub run_dir: String,
    pub model: String,
    pub data: String,
    pub labelled: usize,
    pub held_out: usize,
    pub budget_seconds: f64,
    pub seconds: f64,
    pub baseline_val_accuracy: Option<f64>,
    pub rows: Vec<Row>,
    pub winner: Winner,
    pub warnings: Vec<String>,
    pub seed: u64,
    /// The caller's cancel token was set: the rows after the interrupted one were skipped.
    #[serde(skip)]
    pub interrupted: bool,
}

/// The strategy chosen on the held-out labels, and where its recipe and final run are.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Winner {
    pub strategy: String,
    pub command: &'static str,
    pub val_accuracy: Option<f64>,
    pub recipe: String,
    /// The command line that repeats it.
    pub rerun: String,
    /// The run trained again on all the labels (or the adapted run itself).
    pub run_dir: Option<String>,
    pub test_accuracy: Option<f64>,
}

/// Tries the strategies of `a` within its budget and keeps the winner. Cancelling through
/// `cancel` stops the running trial (it saves a checkpoint), skips the rest and still returns
/// the table so far, with [`AutoResult::interrupted`] set.
pub fn run(
    a: &AutoSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> Result<AutoResult, Error> {
    run_inner(a, rt, obs, cancel).map_err(Error::from)
}

fn run_inner(
    a: &AutoSpec,
    rt: &Runtime,
    obs: &mut dyn Observer,
    cancel: &CancelToken,
) -> anyhow::Result<AutoResult> {
    let budget = Budget::new(a.budget);
    if a.models.iter().any(|m| m.is_empty()) {
        bail!("--models: expected one or more model names, comma-separated");
    }
    if !a.weights.is_empty() && a.weights.len() != a.models.len() {
        bail!(
            "--weights: {} given for {} model(s); expected one per model, in the same order",
            a.weights.len(),
            a.models.len()
        );
    }
    // What the data are: texts when the models are text models; feature vectors when the
    // labelled target rows are vectors; else images (or image arrays).
    let found = a
        .models
        .iter()
        .map(|m| ModelRef::resolve(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let kind = match found.first() {
        Some(m) if m.is_text() => split::DataKind::Texts,
        _ if crate::vector_data::holds_vectors(&a.data) => split::DataKind::Vectors,
        _ => split::DataKind::ImagesOrArrays,
    };
    let text = kind == split::DataKind::Texts;
    let vectors = kind == split::DataKind::Vectors;
    let models = if a.models.is_empty() {
        vec![if vectors { MLP } else { "lenet" }.to_string()]
    } else {
        a.models.clone()
    };
    for (m, f) in models.iter().zip(&found) {
        let fits = match f.reads() {
            SampleKind::Tokens => text,
            SampleKind::Vectors => vectors,
            SampleKind::Pixels => !text && !vectors,
        };
        if !fits {
            bail!(
                "--models: {m} does not read the data of --data ({}); {}",
                a.data,
                match kind {
                    split::DataKind::Vectors =>
                        "feature vectors train the mlp model (--models mlp, the default)",
                    split::DataKind::Texts => "give text model folders only",
                    split::DataKind::ImagesOrArrays => "give image models (see `graft models`)",
                }
            );
        }
    }
    if (text || vectors) && !a.weights.is_empty() {
        bail!(
            "--weights applies to image models: a text model folder holds its own weights, and \
             the mlp starts from random weights or from the source model auto trains"
        );
    }
    let dir = new_run_dir(a.out.as_deref(), "auto", &models[0])?;
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let mut test = a.test.as_deref().map(absolute_spec);
    let mut source = a.source.as_deref().map(absolute_spec);
    let mut unlabelled = a.target_unlabelled.as_deref().map(absolute_spec);
    let mut data = a.data.clone();
    if vectors {
        // svmlight rows list their non-zero features only: every set is written out at one
        // width, so that every command reads them alike.
        let split_dir = dir.join("split");
        let all: Vec<String> = [
            Some(&data),
            test.as_ref(),
            source.as_ref(),
            unlabelled.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        let specs: Vec<&str> = all.iter().map(String::as_str).collect();
        if let Some(w) = crate::vector_data::common_width(&specs)? {
            std::fs::create_dir_all(&split_dir)
                .with_context(|| format!("creating {}", split_dir.display()))?;
            for (name, s) in [
                ("data", Some(&mut data)),
                ("test", test.as_mut()),
                ("source", source.as_mut()),
                ("unlabelled", unlabelled.as_mut()),
            ] {
                if let Some(s) = s {
                    *s = split::dense_copy(s, w, &split_dir.join(format!("{name}-dense.npz")))?;
                }
            }
        }
    }
    let splits = split::write(
        &data,
        kind,
        a.labels_per_class,
        a.val_fraction,
        a.seed,
        &dir.join("split"),
    )?;
    // Every trial and the final run decode as a new run would, whatever the caller asked.
    let rt = Runtime {
        decode_size: Some(crate::decode_size::for_new_run(rt.decode_size)),
        ..rt.clone()
    };
    let mut search = Search {
        a,
        dir: dir.clone(),
        budget,
        rows: Vec::new(),
        again: Vec::new(),
        rt: &rt,
        obs,
        cancel,
    };
    search.say(format!(
        "graft auto: {} labelled target samples ({} to train on, {} held out to choose with), \
         {} classes, budget {:.0} s; runs in {}",
        splits.n_train + splits.n_val,
        splits.n_train,
        splits.n_val,
        splits.classes,
        a.budget.as_secs_f64(),
        dir.display()
    ));

    // The model: the only one, or the best ranked.
    let (model, mut weights) = choose_model(a, &models, &splits, &mut search)?;
    let found_model = ModelRef::resolve(&model)?;
    let stages = found_model.stage_names(&MLP_HIDDEN)?;
    // Transformers take low-rank adapters (text encoders, ViTs); CNNs and the mlp do not.
    let adapters = match &found_model {
        ModelRef::Text(_) => true,
        ModelRef::Image(spec) => !spec.lora_targets.is_empty(),
        ModelRef::Mlp => false,
    };

    let target_epochs = epochs_for(splits.n_train, 32, 300, 10, 60);
    // A run on the training part of the labels, measured on the held-out part at the last
    // epoch, as the adaptation trials are: as a validation set it would also pick the epoch,
    // flattering these trials.
    let labelled = |pretrain: bool, lr: f64, weights: Option<&str>| {
        let mut t = if pretrain {
            TrainSpec::pretrain(&model, &splits.train)
        } else {
            TrainSpec::finetune(&model, &splits.train)
        }
        .test(&splits.val)
        .opts(TrainOpts {
            epochs: target_epochs,
            batch_size: 32,
            lr,
            seed: a.seed,
            precision: a.precision,
            // Transformers train with AdamW (at the rates `rate` gives them), CNNs with SGD.
            optimizer: if text { OptName::Adamw } else { OptName::Sgd },
            ..TrainOpts::default()
        });
        t.weights = weights.map(str::to_string);
        t
    };
    let target_work = (splits.n_train * target_epochs) as f64;

    // The learning rate of each kind of trial: SGD's for CNNs; AdamW's for transformers, the
    // usual few-shot fine-tuning rates of BERT-family encoders.
    let rate = |cnn: f64, transformer: f64| if text { transformer } else { cnn };

    let n_source = match &source {
        Some(src) => Some(match a.source_samples {
            Some(n) => n,
            None => count(src, text)?,
        }),
        None => None,
    };

    // 1. The baseline: the target labels alone, from random weights; on vectors a logistic
    // regression first, then the shallow transfer methods, then the same from the mlp.
    if vectors {
        let n_target = match &unlabelled {
            Some(u) => count(u, false)?,
            None => splits.n_train,
        };
        let sets = shallow::VectorSets {
            train: splits.train.clone(),
            val: splits.val.clone(),
            source: source.clone(),
            unlabelled: unlabelled.clone(),
            n_source: n_source.unwrap_or(0),
            n_target,
            d: graft_data::arrays::open_array_spec(&splits.train)?.dim(),
        };
        for s in shallow::strategies(&sets, a.seed) {
            let again = shallow::on_all_labels(&s.job, &splits.all, test.as_deref());
            search.attempt(Try::shallow(s, again))?;
        }
    }
    // A transformer trained from random weights costs as much as fine-tuning it: texts get a
    // TF-IDF baseline first, and that one after the fine-tuning trials.
    if text {
        let tokenizer = graft_nn::models::bert::load::tokenizer_file(&model)?;
        let bow = bag_of_words::write(&splits, test.as_deref(), &tokenizer, &dir.join("split"))?;
        search.attempt(Try::shallow(
            shallow::Shallow {
                name: "target only, bag of words",
                what: "logistic regression on TF-IDF of the texts' word pieces (the baseline)",
                transfer: false,
                job: Job::Probe(shallow::probe(&bow.train, Some(&bow.val), a.seed)),
            },
            Job::Probe(shallow::probe(&bow.all, bow.test.as_deref(), a.seed)),
        ))?;
    }
    let mut from_scratch = Some(Try {
        name: if vectors {
            "target only, mlp"
        } else {
            "target only"
        },
        what: "from random weights, on the target labels only (the baseline)".into(),
        transfer: false,
        job: Job::Train(labelled(true, rate(0.03, 5e-4), None)),
        work: target_work,
        again: None,
    });
    if !text {
        search.attempt(from_scratch.take().expect("not yet tried"))?;
    }

    // 2. A source model, unless pre-trained weights were given.
    // An adaptation run with `samples` source samples for `epochs`, and its cost.
    let adapt_run = |samples: usize, epochs: usize| -> (AdaptSpec, f64) {
        let mut v = AdaptSpec::new();
        v.model = Some(model.clone());
        v.source = source.clone();
        if samples < n_source.unwrap_or(0) || a.source_samples.is_some() {
            v.source_samples = Some(samples);
        }
        // Without unlabelled target data the source model is trained beside the training
        // part of the labels, their labels unused.
        v.target_unlabelled = Some(unlabelled.clone().unwrap_or_else(|| splits.train.clone()));
        v.target_samples = a.target_samples;
        v.target_test = Some(splits.val.clone());
        v.epochs = Some(epochs);
        v.seed = Some(a.seed);
        if a.precision != Precision::Fp32 {
            v.precision = Some(a.precision);
        }
        // The before-and-after projection of the report would cost each trial seconds of the
        // budget; `--recipe` on the winner's recipe gives it.
        v.projection_samples = 0;
        (v, (2 * samples * epochs) as f64)
    };
    if let (None, Some(n)) = (&weights, n_source) {
        // From random weights on plenty of labels: the rate `graft pretrain` is shown with.
        let epochs = epochs_for(n, 64, 1000, 3, 20);
        let (mut job, work) = adapt_run(n, epochs);
        job.method = Some("none".into());
        job.lr = Some(0.05);
        if let Some(i) = search.attempt(Try {
            name: "source model",
            what: "trained on the source labels, used as it is".into(),
            transfer: true,
            job: Job::Adapt(job),
            work,
            again: None,
        })? {
            let r = &search.rows[i];
            // A text run's model is not a weights file the folder's model loads.
            if r.val.is_some() && !text {
                weights = Some(r.dir.join("model.safetensors").display().to_string());
            }
        }
    }

    // 3. Reusing the weights: probe, partial and full fine-tuning, cheapest first. A text
    // model's folder holds its pre-trained weights.
    if weights.is_some() || text {
        let w = weights.as_deref();
        let mid = stages[(stages.len().saturating_sub(1)) / 2].clone();
        let mut probe = labelled(false, rate(0.05, 1e-3), w);
        probe.groups.freeze_backbone = true;
        search.attempt(Try {
            name: "linear probe",
            what: "a new head on the frozen pre-trained backbone".into(),
            transfer: true,
            job: Job::Train(probe),
            work: target_work,
            again: None,
        })?;
        // With one stage, freezing up to the middle one is the probe again.
        if stages.len() > 1 {
            search.attempt(Try {
                name: "partial fine-tuning",
                what: format!("stages up to {mid} frozen, the later ones and a new head trained"),
                transfer: true,
                job: Job::Train(labelled(false, rate(0.01, 1e-4), w).freeze_until(mid)),
                work: target_work,
                again: None,
            })?;
        }
        if adapters {
            // PEFT's default adapters (rank 8, alpha 8, the model's usual targets) and a new
            // head; as few trainable weights as a probe, so the probe's rate.
            let mut lora = labelled(false, rate(0.05, 1e-3), w);
            lora.lora = Some(LoraSpec {
                targets: Vec::new(),
                ..LoraSpec::new(8)
            });
            search.attempt(Try {
                name: "LoRA fine-tuning",
                what: "low-rank adapters (Hu et al. 2021) and a new head on the frozen weights"
                    .into(),
                transfer: true,
                job: Job::Train(lora),
                work: target_work,
                again: None,
            })?;
        }
        search.attempt(Try {
            name: "full fine-tuning",
            what: "every layer trained from the pre-trained weights".into(),
            transfer: true,
            job: Job::Train(labelled(false, rate(0.01, 1e-4), w)),
            work: target_work,
            again: None,
        })?;
    }
    // A text model from random weights, after the cheaper transfer trials.
    if let Some(t) = from_scratch.take() {
        search.attempt(t)?;
    }

    // 4. Domain adaptation with the unlabelled target data, then fine-tuning of the best
    // adapted model on the labels.
    if unlabelled.is_some() {
        // From trained weights, on a slice of the source: adaptation moves a model that
        // already classifies the source, so a light adversarial term (TLlib's trade-off 1 is
        // meant for training from scratch) keeps its classifier from being pulled apart.
        let n = n_source.unwrap_or(0).min(MAX_ADAPT_SOURCE);
        let domain: [(&'static str, &str, &str, bool); 3] = [
            (
                "self-training",
                "source and confident target pseudo-labels",
                "self-training",
                true,
            ),
            (
                "DANN",
                "features made domain-invariant adversarially (Ganin et al. 2016)",
                "dann",
                false,
            ),
            (
                "CDAN+E + self-training",
                "class-conditional adversarial alignment (Long et al. 2018) and pseudo-labels",
                "cdan+e",
                true,
            ),
        ];
        let mut adapted: Vec<usize> = Vec::new();
        for (name, what, method, pseudo) in domain {
            let (mut job, work) = adapt_run(n, epochs_for(n, 64, 1000, 3, 20));
            job.method = Some(method.into());
            if pseudo {
                job.pseudo_threshold = Some(0.95);
            }
            if let Some(w) = &weights {
                job.weights = Some(w.clone());
                if method == "dann" || method == "cdan+e" {
                    job.domain_weight = Some(0.1);
                }
            }
            if let Some(i) = search.attempt(Try {
                name,
                what: what.into(),
                transfer: true,
                job: Job::Adapt(job),
                work,
                again: None,
            })? {
                adapted.push(i);
            }
        }
        if let Some(i) = search.best_of(adapted).filter(|_| !text) {
            let w = search.rows[i]
                .dir
                .join("model.safetensors")
                .display()
                .to_string();
            let base = search.rows[i].name.clone();
            search.attempt(Try {
                name: "adapted + fine-tuning",
                what: format!("the {base} model fine-tuned on the target labels"),
                transfer: true,
                job: Job::Train(labelled(false, 0.01, Some(&w))),
                work: target_work,
                again: None,
            })?;
        }
    }

    finish(search, &splits, test.as_deref(), &model)
}

/// The model to use: the only candidate, or the one LogME ranks first.
fn choose_model(
    a: &AutoSpec,
    models: &[String],
    splits: &split::Splits,
    search: &mut Search,
) -> anyhow::Result<(String, Option<String>)> {
    let w = |i: usize| a.weights.get(i).map(|w| absolute_spec(w));
    if models.len() == 1 {
        return Ok((models[0].clone(), w(0)));
    }
    let text = ModelRef::resolve(&models[0])?.is_text();
    if !text && (!splits.images || a.weights.is_empty()) {
        search.say(format!(
            "  several models: ranking needs image data and --weights for each; using {}",
            models[0]
        ));
        return Ok((models[0].clone(), w(0)));
    }
    let spec = crate::rank::RankSpec {
        models: models.to_vec(),
        weights: a.weights.iter().map(|w| absolute_spec(w)).collect(),
        stages: Vec::new(),
        pool: None,
        data: PathBuf::from(&splits.all),
        score: crate::rank::Score::Logme,
        batch_size: 32,
        text: Default::default(),
    };
    let top = crate::rank::run(&spec, search.rt, &mut crate::Silent)
        .ok()
        .and_then(|r| r.candidates.first().map(|c| c.model.clone()));
    match top.and_then(|m| models.iter().position(|x| *x == m)) {
        Some(i) => {
            search.say(format!("  ranked by LogME: {} first", models[i]));
            Ok((models[i].clone(), w(i)))
        }
        None => {
            search.say(format!("  ranking failed; using {}", models[0]));
            Ok((models[0].clone(), w(0)))
        }
    }
}

/// The winner trained again on all the labels (or, for an adaptation, measured as it is), the
/// table, the warnings and the files.
fn finish(
    mut search: Search,
    splits: &split::Splits,
    test: Option<&str>,
    model: &str,
) -> anyhow::Result<AutoResult> {
    let baseline = search.baseline();
    let mut warnings = Vec::new();
    for r in search.rows.iter().filter(|r| r.transfer) {
        if let (Some(v), Some(b)) = (r.val, baseline) {
            if v < b {
                warnings.push(format!(
                    "negative transfer: {} lost to the best target-only baseline ({:.2}% \
                     against {:.2}% on the held-out target labels)",
                    r.name,
                    100.0 * v,
                    100.0 * b
                ));
            }
        }
    }
    let Some(best) = search.best_of(0..search.rows.len()) else {
        bail!(
            "no strategy finished within the budget of {:.0} s (see the logs in {})",
            search.budget.total().as_secs_f64(),
            search.dir.join("trials").display()
        );
    };
    let (win_name, win_cmd, win_dir) = {
        let r = &search.rows[best];
        (r.name.clone(), r.command, r.dir.clone())
    };
    let winner_path = search.dir.join("winner.toml");
    if let Some(again) = search.again[best].clone() {
        return finish_shallow(search, best, again, splits, test, model, baseline, warnings);
    }
    // The winner's recipe, on all the labels and measured on the test set.
    let recipe_path = crate::RunDir::new(&win_dir).recipe();
    let text = std::fs::read_to_string(&recipe_path)
        .with_context(|| format!("reading {}", recipe_path.display()))?;
    let mut recipe: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{}: not a valid recipe", recipe_path.display()))?;
    let mut final_dir = None;
    let mut test_accuracy = None;
    if win_cmd == "adapt" {
        match test {
            Some(t) => recipe.insert("target_test".into(), t.into()),
            None => recipe.remove("target_test"),
        };
        write_toml(&winner_path, &recipe)?;
        if let Some(t) = test {
            let spec = crate::eval::EvalSpec {
                run_dir: win_dir.clone(),
                data: t.to_string(),
                batch_size: 64,
            };
            match crate::eval::run(&spec, search.rt, &mut crate::Silent) {
                Ok(m) => test_accuracy = Some(m.accuracy),
                Err(e) => warnings.push(format!("measuring {win_name} on {t} failed: {e:#}")),
            }
            final_dir = Some(win_dir.clone());
        }
    } else {
        recipe.insert("data".into(), splits.all.clone().into());
        for k in ["val", "val_fraction", "labels_per_class", "test"] {
            recipe.remove(k);
        }
        if let Some(t) = test {
            recipe.insert("test".into(), t.into());
        }
        recipe.insert("classes".into(), toml::Value::Array(Vec::new()));
        write_toml(&winner_path, &recipe)?;
        let left = search.budget.left().as_secs_f64();
        let fdir = search.dir.join("final");
        if fdir.exists() {
            std::fs::remove_dir_all(&fdir)
                .with_context(|| format!("clearing {}", fdir.display()))?;
        }
        let command = if win_cmd == "pretrain" {
            crate::train::TrainCommand::Pretrain
        } else {
            crate::train::TrainCommand::Finetune
        };
        let mut again = TrainSpec::resume(command, &fdir);
        again.start = crate::train::Start::Recipe(winner_path.clone());
        search.say(format!(
            "  training {win_name} again on all {} labels",
            splits.n_train + splits.n_val
        ));
        let ended = if search.interrupted() {
            Ended::Interrupted
        } else {
            let limit = Duration::from_secs_f64(left.max(1.0));
            trial::run(Job::Train(again), &fdir, limit, search.rt, search.cancel)?.0
        };
        match ended {
            Ended::Finished { accuracy, .. } => {
                test_accuracy = accuracy;
                final_dir = Some(fdir);
            }
            Ended::OutOfTime => warnings.push(format!(
                "the budget ended before {win_name} was trained again on all the labels; \
                 repeat it with `graft {win_cmd} --recipe {}`",
                winner_path.display()
            )),
            Ended::Interrupted => {
                warnings.push("interrupted while training the winner again".into())
            }
            Ended::Failed(m) => warnings.push(format!("training the winner again failed: {m}")),
        }
    }
    let winner = Winner {
        strategy: win_name,
        command: win_cmd,
        val_accuracy: search.rows[best].val,
        recipe: winner_path.display().to_string(),
        rerun: format!("graft {win_cmd} --recipe {}", winner_path.display()),
        run_dir: final_dir.as_ref().map(|d| d.display().to_string()),
        test_accuracy,
    };
    results(search, splits, model, baseline, winner, warnings)
}

/// A shallow winner: its command on all the labels (`again`), saved in `winner.toml` and
/// measured on the test set when there is one (it takes seconds, so the budget does not stop
/// it).
#[allow(clippy::too_many_arguments)]
fn finish_shallow(
    search: Search,
    best: usize,
    again: Job,
    splits: &split::Splits,
    test: Option<&str>,
    model: &str,
    baseline: Option<f64>,
    mut warnings: Vec<String>,
) -> anyhow::Result<AutoResult> {
    let row = &search.rows[best];
    let rerun = shallow::command_line(&again);
    let winner_path = search.dir.join("winner.toml");
    let mut t = toml::Table::new();
    t.insert("strategy".into(), row.name.clone().into());
    t.insert("command".into(), row.command.into());
    t.insert("rerun".into(), rerun.clone().into());
    write_toml(&winner_path, &t)?;
    let mut test_accuracy = None;
    let mut final_dir = None;
    if test.is_some() && !search.interrupted() {
        search.obs.info(&format!(
            "  {} again on all {} labels",
            row.name,
            splits.n_train + splits.n_val
        ));
        let fdir = search.dir.join("final");
        let limit = Duration::from_secs_f64(search.budget.left().as_secs_f64().max(1.0));
        match trial::run(again, &fdir, limit, search.rt, search.cancel)?.0 {
            Ended::Finished { accuracy, .. } => {
                test_accuracy = accuracy;
                final_dir = Some(fdir);
            }
            Ended::Failed(m) => warnings.push(format!("the winner on all the labels failed: {m}")),
            Ended::OutOfTime | Ended::Interrupted => {
                warnings.push("interrupted while running the winner again".into())
            }
        }
    }
    let winner = Winner {
        strategy: row.name.clone(),
        command: row.command,
        val_accuracy: row.val,
        recipe: winner_path.display().to_string(),
        rerun,
        run_dir: final_dir.as_ref().map(|d| d.display().to_string()),
        test_accuracy,
    };
    results(search, splits, model, baseline, winner, warnings)
}

/// The search's result, also written to `auto.json`.
fn results(
    search: Search,
    splits: &split::Splits,
    model: &str,
    baseline: Option<f64>,
    winner: Winner,
    warnings: Vec<String>,
) -> anyhow::Result<AutoResult> {
    let results = AutoResult {
        command: "auto",
        run_dir: search.dir.display().to_string(),
        model: model.to_string(),
        data: search.a.data.clone(),
        labelled: splits.n_train + splits.n_val,
        held_out: splits.n_val,
        budget_seconds: search.budget.total().as_secs_f64(),
        seconds: search.budget.used().as_secs_f64(),
        baseline_val_accuracy: baseline,
        winner,
        rows: search.rows,
        warnings,
        seed: search.a.seed,
        interrupted: search.cancel.is_cancelled(),
    };
    graft_data::atomic::write_atomic_bytes(
        &search.dir.join("auto.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    Ok(results)
}

fn write_toml(path: &Path, t: &toml::Table) -> anyhow::Result<()> {
    let text = toml::to_string(t).context("serialising the recipe")?;
    graft_data::atomic::write_atomic_bytes(path, text.as_bytes())?;
    Ok(())
}
