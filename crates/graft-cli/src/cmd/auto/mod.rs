//! `graft auto`: most users do not know which kind of transfer to use, so this tries them in
//! order of cost within a time budget: a target-only baseline always first, then the source
//! model as it is, a linear probe of its frozen features, partial and full fine-tuning, and,
//! with unlabelled target data, domain adaptation (self-training, DANN, CDAN+E with
//! self-training) and fine-tuning of the best adapted model. Each trial is a graft command
//! in a run directory of its own; the winner is chosen on a held-out part of the target labels,
//! trained again on all of them, and its recipe saved as `winner.toml` for
//! `graft finetune|pretrain|adapt --recipe`. Every strategy that lost to the baseline is
//! flagged as negative transfer.

mod budget;
mod split;
mod trial;

use anyhow::{bail, Context};
use budget::Budget;
use graft::train::new_run_dir;
use graft_nn::models::find;
use graft_nn::precision::Precision;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use trial::Ended;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled target data: an image folder, a CSV manifest or an array file
    #[arg(long)]
    pub data: String,
    /// Keep only K labelled samples per class of --data (drawn with --seed)
    #[arg(long)]
    pub labels_per_class: Option<usize>,
    /// Target test set: the winner is measured on it once, after it has been chosen
    #[arg(long)]
    pub test: Option<String>,
    /// Labelled source data: a source model is trained on it for the transfer strategies
    /// (unless --weights are given), and the domain methods train on it
    #[arg(long)]
    pub source: Option<String>,
    /// Draw this many source samples at random (with the seed)
    #[arg(long, requires = "source")]
    pub source_samples: Option<usize>,
    /// Unlabelled target data, for the domain-adaptation strategies (needs --source)
    #[arg(long, requires = "source")]
    pub target_unlabelled: Option<String>,
    /// Draw this many unlabelled target samples at random
    #[arg(long, requires = "target_unlabelled")]
    pub target_samples: Option<usize>,
    /// Candidate models, comma-separated; several are ranked by LogME first (image data and
    /// --weights for each needed) and the best is used
    #[arg(long, value_delimiter = ',', default_value = "lenet")]
    pub models: Vec<String>,
    /// Pre-trained weights of the models, comma-separated in the same order
    #[arg(long, value_delimiter = ',')]
    pub weights: Vec<String>,
    /// Wall-clock budget of the whole search: 90s, 10m, 1h, 1h30m
    #[arg(long, default_value = "10m", value_parser = budget::parse)]
    pub budget: Duration,
    /// Fraction of every class of --data held out to choose the winner
    #[arg(long, default_value_t = 0.3)]
    pub val_fraction: f64,
    /// Run directory (default: runs/auto-<model>-N)
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub runtime: crate::cmd::runtime_args::RuntimeArgs,
    // Every trial runs at this precision; it is in their recipes, so the final run keeps it.
    #[arg(long, default_value_t = Precision::Fp32, help = crate::cmd::PRECISION_HELP)]
    pub precision: Precision,
    /// Print the results as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

/// One strategy tried, and how it went.
struct Row {
    name: String,
    what: String,
    command: &'static str,
    /// Whether it reuses anything beyond the target labels (compared with the baseline).
    transfer: bool,
    dir: PathBuf,
    status: String,
    val: Option<f64>,
    /// Macro-F1 on the held-out part, which breaks ties of accuracy (a few dozen held-out
    /// samples tie often).
    f1: Option<f64>,
    seconds: f64,
}

impl Row {
    fn json(&self) -> Value {
        json!({"strategy": self.name, "what": self.what, "command": self.command,
               "transfer": self.transfer, "run_dir": self.dir.display().to_string(),
               "status": self.status, "val_accuracy": self.val, "val_macro_f1": self.f1,
               "seconds": self.seconds})
    }
}

/// A strategy to try: its command line (without --out and --json) and its cost in
/// sample-epochs.
struct Try {
    name: &'static str,
    what: String,
    command: &'static str,
    transfer: bool,
    args: Vec<String>,
    work: f64,
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

/// Number of samples in a labelled or unlabelled data spec (images or arrays).
fn count(spec: &str) -> anyhow::Result<usize> {
    let p = Path::new(spec);
    if p.exists() && graft::image_data::is_image_source(p) {
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

fn s<T: ToString>(v: T) -> String {
    v.to_string()
}

fn interrupted() -> bool {
    crate::interrupt::stop_flag().load(std::sync::atomic::Ordering::Relaxed)
}

/// A trial given less time than this could not even load its data.
const MIN_TRIAL_SECONDS: f64 = 5.0;

/// Source samples of an adaptation trial (a slice is enough to align the domains).
const MAX_ADAPT_SOURCE: usize = 5000;

struct Search<'a> {
    a: &'a Args,
    dir: PathBuf,
    budget: Budget,
    rows: Vec<Row>,
    /// --seed, --device and --threads of every trial.
    common: Vec<String>,
    /// --device and --threads (a recipe carries its seed).
    machine: Vec<String>,
    quiet: bool,
}

impl Search<'_> {
    fn say(&self, msg: String) {
        if !self.quiet {
            eprintln!("{msg}");
        }
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
        let slug = t.name.replace([' ', '+'], "-");
        let dir = self.dir.join("trials").join(&slug);
        let left = self.budget.left().as_secs_f64();
        let need = self.budget.estimate(t.command, t.work);
        let mut row = Row {
            name: t.name.to_string(),
            what: t.what,
            command: t.command,
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
                self.rows.push(row);
                return Ok(None);
            }
        }
        if interrupted() {
            row.status = "skipped: interrupted".into();
            self.rows.push(row);
            return Ok(None);
        }
        // Too little left to train anything (the first trial, the baseline, always runs).
        if left - self.reserve() < MIN_TRIAL_SECONDS && !self.rows.is_empty() || left < 1.0 {
            row.status = "skipped: the budget is spent".into();
            self.say(format!("  {:<24} {}", row.name, row.status));
            self.rows.push(row);
            return Ok(None);
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        let mut args = vec![s(t.command)];
        args.extend(t.args);
        args.extend(self.common.iter().cloned());
        let limit = Duration::from_secs_f64((left - self.reserve()).max(1.0));
        let (ended, secs) = trial::run(&args, &dir, limit)?;
        row.seconds = secs;
        match ended {
            Ended::Finished(v) => {
                row.val = v["accuracy"].as_f64();
                row.f1 = v["macro_f1"].as_f64();
                row.status = "finished".into();
                self.budget.learn(t.command, t.work, secs);
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
        self.rows.push(row);
        Ok(Some(self.rows.len() - 1))
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let quiet = a.json;
    let budget = Budget::new(a.budget);
    if a.models.is_empty() || a.models.iter().any(|m| m.is_empty()) {
        bail!("--models: expected one or more model names, comma-separated");
    }
    if !a.weights.is_empty() && a.weights.len() != a.models.len() {
        bail!(
            "--weights: {} given for {} model(s); expected one per model, in the same order",
            a.weights.len(),
            a.models.len()
        );
    }
    for m in &a.models {
        find(m)?;
    }
    let dir = new_run_dir(a.out.as_deref(), "auto", &a.models[0])?;
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let splits = split::write(
        &a.data,
        a.labels_per_class,
        a.val_fraction,
        a.seed,
        &dir.join("split"),
    )?;
    let test = a.test.as_deref().map(absolute_spec);
    let source = a.source.as_deref().map(absolute_spec);
    let unlabelled = a.target_unlabelled.as_deref().map(absolute_spec);
    let mut machine = vec![s("--device"), a.runtime.device.clone()];
    if let Some(t) = a.runtime.threads {
        machine.extend([s("--threads"), s(t)]);
    }
    if a.precision != Precision::Fp32 {
        machine.extend([s("--precision"), a.precision.to_string()]);
    }
    let decode = graft::decode_size::for_new_run(super::runtime_args::decode_size());
    machine.extend([s("--decode-size"), s(decode.name())]);
    let mut common = vec![s("--seed"), s(a.seed)];
    common.extend(machine.iter().cloned());
    let mut search = Search {
        a: &a,
        dir: dir.clone(),
        budget,
        rows: Vec::new(),
        common,
        machine,
        quiet,
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
    let (model, mut weights) = choose_model(&a, &splits, &search)?;
    let spec = find(&model)?;
    let stages = spec.stage_names();

    let target_epochs = epochs_for(splits.n_train, 32, 300, 10, 60);
    let labelled = |extra: &[String]| {
        let mut v = vec![
            s("--model"),
            model.clone(),
            s("--data"),
            splits.train.clone(),
            // Measured on the held-out part at the last epoch, as the adaptation trials are:
            // as `--val` it would also pick the epoch, flattering these trials.
            s("--test"),
            splits.val.clone(),
            s("--epochs"),
            s(target_epochs),
            s("--batch-size"),
            s(32),
        ];
        v.extend_from_slice(extra);
        v
    };
    let target_work = (splits.n_train * target_epochs) as f64;

    // 1. The baseline: the target labels alone, from random weights.
    search.attempt(Try {
        name: "target only",
        what: "from random weights, on the target labels only (the baseline)".into(),
        command: "pretrain",
        transfer: false,
        args: labelled(&[s("--lr"), s(0.03)]),
        work: target_work,
    })?;

    // 2. A source model, unless pre-trained weights were given.
    let n_source = match &source {
        Some(src) => Some(match a.source_samples {
            Some(n) => n,
            None => count(src)?,
        }),
        None => None,
    };
    // An adaptation run with `samples` source samples for `epochs`, and its cost.
    let adapt_run = |samples: usize, epochs: usize, method: &[&str]| -> (Vec<String>, f64) {
        let mut v = vec![s("--model"), model.clone()];
        v.extend([s("--source"), source.clone().unwrap_or_default()]);
        if samples < n_source.unwrap_or(0) || a.source_samples.is_some() {
            v.extend([s("--source-samples"), s(samples)]);
        }
        // Without unlabelled target data the source model is trained beside the training
        // part of the labels, their labels unused.
        v.extend([
            s("--target-unlabelled"),
            unlabelled.clone().unwrap_or_else(|| splits.train.clone()),
        ]);
        if let Some(n) = a.target_samples {
            v.extend([s("--target-samples"), s(n)]);
        }
        v.extend([
            s("--target-test"),
            splits.val.clone(),
            s("--epochs"),
            s(epochs),
        ]);
        v.extend(method.iter().map(s));
        // The before-and-after projection of the report would cost each trial seconds of the
        // budget; `--recipe` on the winner's recipe gives it.
        v.extend([s("--projection-samples"), s(0)]);
        (v, (2 * samples * epochs) as f64)
    };
    if let (None, Some(n)) = (&weights, n_source) {
        // From random weights on plenty of labels: the rate `graft pretrain` is shown with.
        let epochs = epochs_for(n, 64, 1000, 3, 20);
        let (args, work) = adapt_run(n, epochs, &["--method", "none", "--lr", "0.05"]);
        if let Some(i) = search.attempt(Try {
            name: "source model",
            what: "trained on the source labels, used as it is".into(),
            command: "adapt",
            transfer: true,
            args,
            work,
        })? {
            let r = &search.rows[i];
            if r.val.is_some() {
                weights = Some(r.dir.join("model.safetensors").display().to_string());
            }
        }
    }

    // 3. Reusing the weights: probe, partial and full fine-tuning, cheapest first.
    if let Some(w) = &weights {
        let from = |extra: &[&str]| {
            let mut v = vec![s("--weights"), w.clone()];
            v.extend(extra.iter().map(s));
            labelled(&v)
        };
        let mid = stages[(stages.len().saturating_sub(1)) / 2];
        search.attempt(Try {
            name: "linear probe",
            what: "a new head on the frozen pre-trained backbone".into(),
            command: "finetune",
            transfer: true,
            args: from(&["--head-only", "--lr", "0.05"]),
            work: target_work,
        })?;
        search.attempt(Try {
            name: "partial fine-tuning",
            what: format!("stages up to {mid} frozen, the later ones and a new head trained"),
            command: "finetune",
            transfer: true,
            args: from(&["--freeze-until", mid, "--lr", "0.01"]),
            work: target_work,
        })?;
        search.attempt(Try {
            name: "full fine-tuning",
            what: "every layer trained from the pre-trained weights".into(),
            command: "finetune",
            transfer: true,
            args: from(&["--lr", "0.01"]),
            work: target_work,
        })?;
    }

    // 4. Domain adaptation with the unlabelled target data, then fine-tuning of the best
    // adapted model on the labels.
    if unlabelled.is_some() {
        // From trained weights, on a slice of the source: adaptation moves a model that
        // already classifies the source, so a light adversarial term (TLlib's trade-off 1 is
        // meant for training from scratch) keeps its classifier from being pulled apart.
        let n = n_source.unwrap_or(0).min(MAX_ADAPT_SOURCE);
        let domain_run = |m: &[&str]| {
            let (mut v, work) = adapt_run(n, epochs_for(n, 64, 1000, 3, 20), m);
            if let Some(w) = &weights {
                v.extend([s("--weights"), w.clone()]);
                if m.contains(&"dann") || m.contains(&"cdan+e") {
                    v.extend([s("--domain-weight"), s(0.1)]);
                }
            }
            (v, work)
        };
        let domain: [(&'static str, &str, &[&str]); 3] = [
            (
                "self-training",
                "source and confident target pseudo-labels",
                &["--method", "self-training", "--pseudo-threshold", "0.95"],
            ),
            (
                "DANN",
                "features made domain-invariant adversarially (Ganin et al. 2016)",
                &["--method", "dann"],
            ),
            (
                "CDAN+E + self-training",
                "class-conditional adversarial alignment (Long et al. 2018) and pseudo-labels",
                &["--method", "cdan+e", "--pseudo-threshold", "0.95"],
            ),
        ];
        let mut adapted: Vec<usize> = Vec::new();
        for (name, what, m) in domain {
            let (args, work) = domain_run(m);
            if let Some(i) = search.attempt(Try {
                name,
                what: what.into(),
                command: "adapt",
                transfer: true,
                args,
                work,
            })? {
                adapted.push(i);
            }
        }
        if let Some(i) = search.best_of(adapted) {
            let w = search.rows[i]
                .dir
                .join("model.safetensors")
                .display()
                .to_string();
            let base = search.rows[i].name.clone();
            search.attempt(Try {
                name: "adapted + fine-tuning",
                what: format!("the {base} model fine-tuned on the target labels"),
                command: "finetune",
                transfer: true,
                args: labelled(&[s("--weights"), w, s("--lr"), s(0.01)]),
                work: target_work,
            })?;
        }
    }

    finish(search, &splits, test.as_deref(), &model)
}

/// The model to use: the only candidate, or the one LogME ranks first.
fn choose_model(
    a: &Args,
    splits: &split::Splits,
    search: &Search,
) -> anyhow::Result<(String, Option<String>)> {
    let w = |i: usize| a.weights.get(i).map(|w| absolute_spec(w));
    if a.models.len() == 1 {
        return Ok((a.models[0].clone(), w(0)));
    }
    if !splits.images || a.weights.is_empty() {
        search.say(format!(
            "  several models: ranking needs image data and --weights for each; using {}",
            a.models[0]
        ));
        return Ok((a.models[0].clone(), w(0)));
    }
    let mut args = vec![
        s("rank"),
        s("--models"),
        a.models.join(","),
        s("--weights"),
        a.weights
            .iter()
            .map(|w| absolute_spec(w))
            .collect::<Vec<_>>()
            .join(","),
        s("--data"),
        splits.all.clone(),
    ];
    args.extend(search.machine.iter().cloned());
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(&args)
        .arg("--json")
        .stderr(std::process::Stdio::null())
        .output()
        .context("ranking the models")?;
    let top = serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v["candidates"][0]["model"].as_str().map(str::to_string));
    match top.and_then(|m| a.models.iter().position(|x| *x == m)) {
        Some(i) => {
            search.say(format!("  ranked by LogME: {} first", a.models[i]));
            Ok((a.models[i].clone(), w(i)))
        }
        None => {
            search.say(format!("  ranking failed; using {}", a.models[0]));
            Ok((a.models[0].clone(), w(0)))
        }
    }
}

/// The winner trained again on all the labels (or, for an adaptation, measured as it is), the
/// table, the warnings and the files.
fn finish(
    search: Search,
    splits: &split::Splits,
    test: Option<&str>,
    model: &str,
) -> anyhow::Result<()> {
    let baseline = search.rows.first().and_then(|r| r.val);
    let mut warnings = Vec::new();
    for r in search.rows.iter().filter(|r| r.transfer) {
        if let (Some(v), Some(b)) = (r.val, baseline) {
            if v < b {
                warnings.push(format!(
                    "negative transfer: {} lost to the target-only baseline ({:.2}% against \
                     {:.2}% on the held-out target labels)",
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
    // The winner's recipe, on all the labels and measured on the test set.
    let recipe_path = win_dir.join("recipe.toml");
    let text = std::fs::read_to_string(&recipe_path)
        .with_context(|| format!("reading {}", recipe_path.display()))?;
    let mut recipe: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{}: not a valid recipe", recipe_path.display()))?;
    let winner_path = search.dir.join("winner.toml");
    let mut final_dir = None;
    let mut test_accuracy = None;
    if win_cmd == "adapt" {
        match test {
            Some(t) => recipe.insert("target_test".into(), t.into()),
            None => recipe.remove("target_test"),
        };
        write_toml(&winner_path, &recipe)?;
        if let Some(t) = test {
            let out = std::process::Command::new(std::env::current_exe()?)
                .arg("eval")
                .arg(&win_dir)
                .args(["--data", t, "--json"])
                .output()
                .context("measuring the winner on the test set")?;
            test_accuracy = serde_json::from_slice::<Value>(&out.stdout)
                .ok()
                .and_then(|v| v["accuracy"].as_f64());
            if test_accuracy.is_none() {
                let e = String::from_utf8_lossy(&out.stderr);
                warnings.push(format!(
                    "measuring {win_name} on {t} failed: {}",
                    e.lines().last().unwrap_or("no message")
                ));
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
        let mut args = vec![s(win_cmd), s("--recipe"), winner_path.display().to_string()];
        args.extend(search.machine.iter().cloned());
        search.say(format!(
            "  training {win_name} again on all {} labels",
            splits.n_train + splits.n_val
        ));
        let ended = if interrupted() {
            Ended::Interrupted
        } else {
            trial::run(&args, &fdir, Duration::from_secs_f64(left.max(1.0)))?.0
        };
        match ended {
            Ended::Finished(v) => {
                test_accuracy = v["accuracy"].as_f64();
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
    let used = search.budget.used().as_secs_f64();
    let results = json!({
        "command": "auto",
        "run_dir": search.dir.display().to_string(),
        "model": model,
        "data": search.a.data,
        "labelled": splits.n_train + splits.n_val,
        "held_out": splits.n_val,
        "budget_seconds": search.budget.total().as_secs_f64(),
        "seconds": used,
        "baseline_val_accuracy": baseline,
        "rows": search.rows.iter().map(Row::json).collect::<Vec<_>>(),
        "winner": {
            "strategy": win_name,
            "command": win_cmd,
            "val_accuracy": search.rows[best].val,
            "recipe": winner_path.display().to_string(),
            "rerun": format!("graft {win_cmd} --recipe {}", winner_path.display()),
            "run_dir": final_dir.as_ref().map(|d| d.display().to_string()),
            "test_accuracy": test_accuracy,
        },
        "warnings": warnings,
        "seed": search.a.seed,
    });
    graft_data::atomic::write_atomic_bytes(
        &search.dir.join("auto.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    if search.quiet {
        println!("{results}");
        return exit_if_interrupted();
    }
    println!(
        "\n{:<24} {:>9}  {:>8}  status",
        "strategy", "held-out", "seconds"
    );
    for r in &search.rows {
        let flag = match (r.transfer, r.val, baseline) {
            (true, Some(v), Some(b)) if v < b => "  <- negative transfer",
            _ => "",
        };
        println!(
            "{:<24} {:>9}  {:>8.1}  {}{flag}",
            r.name,
            r.val.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v)),
            r.seconds,
            r.status
        );
    }
    println!(
        "\nwinner: {win_name} ({:.2}% on the held-out target labels){}",
        100.0 * search.rows[best].val.unwrap_or(0.0),
        test_accuracy.map_or(String::new(), |t| format!(
            ", {:.2}% on the test set",
            100.0 * t
        ))
    );
    println!(
        "recipe: {}  (repeat: graft {win_cmd} --recipe {})",
        winner_path.display(),
        winner_path.display()
    );
    for w in &warnings {
        println!("warning: {w}");
    }
    println!(
        "{:.0} s of the {:.0} s budget used",
        used,
        search.budget.total().as_secs_f64()
    );
    exit_if_interrupted()
}

/// After Ctrl-C the table so far is written, and graft exits with 130 as every command does.
fn exit_if_interrupted() -> anyhow::Result<()> {
    if interrupted() {
        eprintln!("interrupted: the strategies tried so far are in auto.json");
        std::process::exit(130);
    }
    Ok(())
}

fn write_toml(path: &Path, t: &toml::Table) -> anyhow::Result<()> {
    let text = toml::to_string(t).context("serialising the recipe")?;
    graft_data::atomic::write_atomic_bytes(path, text.as_bytes())?;
    Ok(())
}
