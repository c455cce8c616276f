//! One trial of auto: a training or adaptation run in a run directory of its own, called in
//! this process with a deadline, or a shallow method on feature vectors (a probe head, an
//! alignment, a reweighting), which takes seconds and runs to its end. A deep trial's cancel
//! token is set when the deadline passes or when the caller's token is set, so a trial out of
//! budget stops at its next step with a checkpoint, and every trial leaves a complete run
//! (recipe, metrics, summary, report) that can be looked at or repeated. What the run reports
//! goes to `DIR.log`.

use crate::adapt::AdaptSpec;
use crate::align::AlignSpec;
use crate::observe::{Event, Observer};
use crate::probe::ProbeSpec;
use crate::reweight::ReweightSpec;
use crate::train::TrainSpec;
use crate::{CancelToken, Error, Runtime};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a trial runs.
#[derive(Clone)]
pub enum Job {
    Train(TrainSpec),
    Adapt(AdaptSpec),
    Probe(ProbeSpec),
    Align(AlignSpec),
    Reweight(ReweightSpec),
}

impl Job {
    /// The command that repeats it (`pretrain`, `finetune`, `adapt`, `probe`, ...).
    pub fn command(&self) -> &'static str {
        match self {
            Job::Train(t) => t.command.name(),
            Job::Adapt(_) => "adapt",
            Job::Probe(_) => "probe",
            Job::Align(_) => "align",
            Job::Reweight(_) => "reweight",
        }
    }

    /// Whether it is a shallow method (no run directory, no recipe, not cancellable).
    pub fn shallow(&self) -> bool {
        matches!(self, Job::Probe(_) | Job::Align(_) | Job::Reweight(_))
    }
}

/// How a trial ended.
pub enum Ended {
    /// With this held-out (test) accuracy and macro-F1.
    Finished {
        accuracy: Option<f64>,
        macro_f1: Option<f64>,
    },
    /// Stopped at the budget's end.
    OutOfTime,
    /// The caller's token was set: the trial saved its checkpoint and stopped.
    Interrupted,
    /// Failed; the error and its causes.
    Failed(String),
}

/// Writes a run's lines (information, warnings, finished epochs) to its log file.
struct LogFile(std::fs::File);

impl Observer for LogFile {
    fn event(&mut self, e: Event<'_>) {
        let line = match e {
            Event::Info(s) => s.to_string(),
            Event::Warning(s) => format!("warning: {s}"),
            Event::Train(graft_nn::train::Event::EpochEnd(r)) => crate::observe::epoch_line(r),
            _ => return,
        };
        let _ = writeln!(self.0, "{line}");
    }
}

/// Sets `trial` once `limit` has passed or `outer` is set, until dropped.
struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(outer: &CancelToken, trial: &CancelToken, limit: Duration) -> Watchdog {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (outer, trial, stop) = (outer.clone(), trial.clone(), done.clone());
        let t0 = Instant::now();
        let thread = std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if outer.is_cancelled() || t0.elapsed() >= limit {
                    trial.cancel();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Watchdog {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `job` in `dir` until it ends, `limit` passes or `outer` is set; the seconds it took.
pub fn run(
    job: Job,
    dir: &Path,
    limit: Duration,
    rt: &Runtime,
    outer: &CancelToken,
) -> anyhow::Result<(Ended, f64)> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let log_path = PathBuf::from(format!("{}.log", dir.display()));
    let mut log = LogFile(
        std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?,
    );
    let t0 = Instant::now();
    let token = CancelToken::new();
    let watchdog = Watchdog::start(outer, &token, limit);
    let result = match job {
        Job::Train(mut spec) => {
            spec.out = Some(dir.to_path_buf());
            crate::train::run(&spec, rt, &mut log, &token)
                .map(|o| (o.summary.accuracy, o.summary.macro_f1))
        }
        Job::Adapt(mut spec) => {
            spec.out = Some(dir.to_path_buf());
            crate::adapt::run(&spec, rt, &mut log, &token)
                .map(|o| (o.summary.accuracy, o.summary.macro_f1))
        }
        Job::Probe(spec) => crate::probe::run(&spec, rt, &mut log)
            .map(|r| (Some(r.accuracy), Some(r.macro_f1)))
            .map_err(Error::from),
        Job::Align(spec) => crate::align::run(&spec)
            .map(|r| (Some(r.accuracy), Some(r.macro_f1)))
            .map_err(Error::from),
        Job::Reweight(mut spec) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            spec.out = dir.join("weights.csv");
            crate::reweight::run(&spec, &mut log)
                .map(|r| (r.accuracy, None))
                .map_err(Error::from)
        }
    };
    drop(watchdog);
    let secs = t0.elapsed().as_secs_f64();
    let ended = match result {
        Ok((accuracy, macro_f1)) => Ended::Finished { accuracy, macro_f1 },
        Err(Error::Cancelled { .. }) if outer.is_cancelled() => Ended::Interrupted,
        Err(Error::Cancelled { .. }) => Ended::OutOfTime,
        Err(Error::Failed(e)) => {
            let _ = writeln!(log.0, "error: {e:#}");
            Ended::Failed(format!("{e:#}"))
        }
    };
    Ok((ended, secs))
}
