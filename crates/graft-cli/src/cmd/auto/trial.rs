//! One trial of `graft auto`: a graft command run as a child process in a run directory of
//! its own, so that a trial out of budget can be stopped at once and every trial leaves a
//! complete run (recipe, metrics, summary, report) that can be looked at or repeated.

use anyhow::Context;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How a trial ended.
pub enum Ended {
    /// Its summary (the command's `--json` output).
    Finished(Value),
    /// Stopped at the budget's end.
    OutOfTime,
    /// Ctrl-C: the child got it too, saved its checkpoint and stopped.
    Interrupted,
    /// Failed; the last lines of its error output.
    Failed(String),
}

/// Runs `graft ARGS --out DIR --json` until it ends or `limit` passes. The child's error output
/// goes to `DIR.log`.
pub fn run(args: &[String], dir: &Path, limit: Duration) -> anyhow::Result<(Ended, f64)> {
    let exe = std::env::current_exe().context("finding the graft executable")?;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let log_path = PathBuf::from(format!("{}.log", dir.display()));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let out_path = PathBuf::from(format!("{}.json", dir.display()));
    let out = std::fs::File::create(&out_path)
        .with_context(|| format!("creating {}", out_path.display()))?;
    let t0 = Instant::now();
    // A process group of its own: a terminal's Ctrl-C reaches this process only, which passes
    // it on once.
    let mut child = Command::new(exe)
        .process_group(0)
        .args(args)
        .arg("--out")
        .arg(dir)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .spawn()
        .context("starting a trial")?;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if crate::interrupt::stop_flag().load(Ordering::Relaxed) {
            // The child, in a process group of its own, saves its checkpoint on the one SIGINT
            // passed on (a second would make it quit without saving).
            // SAFETY: kill(2) with a pid this process spawned and has not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGINT);
            }
            let _ = child.wait();
            return Ok((Ended::Interrupted, t0.elapsed().as_secs_f64()));
        }
        if t0.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let secs = t0.elapsed().as_secs_f64();
    let Some(status) = status else {
        return Ok((Ended::OutOfTime, secs));
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(3).collect();
        let msg = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
        return Ok((Ended::Failed(msg), secs));
    }
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    match text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        Some(v) => Ok((Ended::Finished(v), secs)),
        None => Ok((
            Ended::Failed(format!("{}: no JSON summary", out_path.display())),
            secs,
        )),
    }
}
