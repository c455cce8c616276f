//! Crash safety of training runs through the real binary: SIGKILL at seeded moments spread over
//! a whole fine-tuning run never leaves a half-written output and `--resume` always ends where
//! the uninterrupted run does; a write that fails for lack of space (a file-size limit) while
//! checkpointing is a clear error and the previous checkpoint stays usable.
#![cfg(unix)]

mod common;

use common::{digits_npz, graft, graft_cmd, lenet_run, resume, s, spawn_quiet, stderr, summary};
use graft_data::synth_digits::DigitDomain;
use serde_json::Value;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The tests time kills against a reference run: they run one at a time, so that neither
/// slows the other's processes down unevenly.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The files a training run writes; anything else in a run directory must be a temporary.
const OUTPUTS: [&str; 8] = [
    "recipe.toml",
    "environment.json",
    "report.html",
    "metrics.jsonl",
    "checkpoint.safetensors",
    "best.safetensors",
    "model.safetensors",
    "summary.json",
];

/// Everything of a run's summary that a resumed run must reproduce bit for bit.
fn finals(v: &Value) -> Value {
    let keys = [
        "accuracy",
        "macro_f1",
        "train_loss",
        "train_accuracy",
        "epochs_run",
        "selected",
        "val",
        "test",
    ];
    keys.iter()
        .map(|k| ((*k).to_string(), v[*k].clone()))
        .collect()
}

/// The lines of metrics.jsonl without the wall-clock and memory fields, each parsed.
fn metrics_lines(p: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(p) else {
        return Vec::new();
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{}: last line cut short: {text:?}",
        p.display()
    );
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: unparseable line {l:?}: {e}", p.display()));
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("peak_rss_mib");
            v
        })
        .collect()
}

/// Checks that `p` is a complete safetensors file: the header parses and the data ends exactly
/// where the last tensor's offsets say. Returns the header.
fn complete_safetensors(p: &Path) -> Value {
    let bytes = std::fs::read(p).unwrap();
    let what = p.display();
    assert!(bytes.len() >= 8, "{what}: {} bytes, no header", bytes.len());
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert!(8 + n <= bytes.len(), "{what}: header cut short");
    let header: Value = serde_json::from_slice(&bytes[8..8 + n])
        .unwrap_or_else(|e| panic!("{what}: unparseable header: {e}"));
    let end = header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, t)| t["data_offsets"][1].as_u64().unwrap() as usize)
        .max()
        .unwrap_or(0);
    assert_eq!(8 + n + end, bytes.len(), "{what}: data cut short");
    header
}

/// A run directory as a kill may leave it: every output absent or complete and consistent
/// with the uninterrupted run `reference`; nothing but hidden temporaries besides.
fn check_after_kill(run: &Path, reference: &Path, trial: usize) {
    let Ok(entries) = std::fs::read_dir(run) else {
        return; // killed before the run directory was made
    };
    for e in entries {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            OUTPUTS.contains(&name.as_str()) || (name.starts_with('.') && name.contains(".tmp-")),
            "trial {trial}: unexpected file {name} in {}",
            run.display()
        );
    }
    if let Ok(recipe) = std::fs::read_to_string(run.join("recipe.toml")) {
        assert_eq!(
            recipe,
            std::fs::read_to_string(reference.join("recipe.toml")).unwrap(),
            "trial {trial}: recipe.toml differs"
        );
    }
    let lines = metrics_lines(&run.join("metrics.jsonl"));
    let ref_lines = metrics_lines(&reference.join("metrics.jsonl"));
    assert!(
        lines.len() <= ref_lines.len() && lines[..] == ref_lines[..lines.len()],
        "trial {trial}: metrics.jsonl is not a prefix of the uninterrupted run's"
    );
    let ck = run.join("checkpoint.safetensors");
    if ck.exists() {
        let header = complete_safetensors(&ck);
        let progress: Value = serde_json::from_str(
            header["__metadata__"]["graft.progress"]
                .as_str()
                .expect("the checkpoint holds its progress"),
        )
        .unwrap();
        let saved = progress["history"].as_array().unwrap().len();
        // The checkpoint is written first, then metrics.jsonl: a kill between the two leaves
        // the metrics one epoch behind, never ahead.
        assert!(
            lines.len() == saved || lines.len() + 1 == saved,
            "trial {trial}: checkpoint has {saved} epochs, metrics.jsonl {}",
            lines.len()
        );
    } else {
        assert!(
            lines.is_empty(),
            "trial {trial}: metrics without checkpoint"
        );
    }
    for f in ["best.safetensors", "model.safetensors"] {
        if run.join(f).exists() {
            complete_safetensors(&run.join(f));
        }
    }
    if let Ok(text) = std::fs::read(run.join("summary.json")) {
        let v: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("trial {trial}: summary.json unparseable: {e}"));
        let r: Value =
            serde_json::from_slice(&std::fs::read(reference.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(
            finals(&v),
            finals(&r),
            "trial {trial}: summary.json differs"
        );
    }
}

/// SplitMix64: the trials' kill moments, the same on every machine given the seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn has_temporary(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|it| {
        it.filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains(".tmp-"))
    })
}

/// How far a run has visibly got: recipe written (1), epochs saved (2 to 4), summary (5).
fn milestone(run: &Path) -> usize {
    let lines = std::fs::read_to_string(run.join("metrics.jsonl"))
        .map_or(0, |t| t.matches('\n').count().min(3));
    usize::from(run.join("recipe.toml").exists())
        + lines
        + usize::from(run.join("summary.json").exists())
}

/// Runs `cmd` (writing to `run`) to the end; returns when each milestone was first seen and
/// when the process ended, from its start.
fn milestone_times(cmd: &mut Command, run: &Path) -> (Vec<Duration>, Duration, Output) {
    let t0 = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = vec![Duration::ZERO];
    while child.try_wait().unwrap().is_none() {
        while milestone(run) >= seen.len() {
            seen.push(t0.elapsed());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let end = t0.elapsed();
    (seen, end, child.wait_with_output().unwrap())
}

/// Where to kill: after milestone `after` is reached, wait `then`, then (when `mid_write`)
/// until a temporary appears, so that the kill hits a file being written.
struct KillPoint {
    after: usize,
    then: Duration,
    mid_write: bool,
}

/// Kills `child` (writing to `run`) with SIGKILL at `k`. Returns whether the kill found the
/// process still running.
fn kill_at(child: &mut Child, run: &Path, k: &KillPoint) -> bool {
    let mut reached: Option<Instant> = None;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if reached.is_none() && milestone(run) >= k.after {
            reached = Some(Instant::now());
        }
        if reached.is_some_and(|r| r.elapsed() >= k.then) && (!k.mid_write || has_temporary(run)) {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    status.signal() == Some(libc::SIGKILL)
}

/// One lenet pre-trained for an epoch on source digits, to fine-tune from.
fn pretrained(dir: &Path) -> PathBuf {
    let src = digits_npz(dir, "src.npz", DigitDomain::Source, 200, 1);
    let run = dir.join("pre");
    summary(&graft(&[
        "pretrain",
        "--model",
        "lenet",
        "--data",
        s(&src),
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--threads",
        "1",
        "--seed",
        "3",
        "--json",
    ]));
    run.join("model.safetensors")
}

#[test]
fn sigkill_at_ten_seeded_moments_then_resume_gives_the_same_final_metrics() {
    let _serial = serial();
    let t_test = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let weights = pretrained(tmp.path());
    let tgt = digits_npz(tmp.path(), "tgt.npz", DigitDomain::Target, 300, 5);
    let test = digits_npz(tmp.path(), "test.npz", DigitDomain::Target, 100, 6);
    let args = |out: &Path| -> Vec<String> {
        let mut a = lenet_run("finetune", &tgt, out, 3, 7);
        a.extend(
            [
                "--weights",
                s(&weights),
                "--val-fraction",
                "0.2",
                "--test",
                s(&test),
            ]
            .map(String::from),
        );
        a
    };
    let whole = tmp.path().join("whole");
    let a = args(&whole);
    let (marks, run_time, o) = milestone_times(
        &mut graft_cmd(&a.iter().map(String::as_str).collect::<Vec<_>>()),
        &whole,
    );
    let reference = summary(&o);
    assert_eq!(marks.len(), 6, "milestones {marks:?}");

    let mut rng = 0x0067_7261_6674_u64;
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for trial in 0..10 {
        // Stratified over the reference run's time line, anchored at its last milestone, so
        // the kills cover start-up, every epoch, the final saves and a finished run, at the
        // same places whatever the machine's speed or load.
        let u = (splitmix(&mut rng) >> 11) as f64 / (1u64 << 53) as f64;
        let at = run_time.mul_f64((trial as f64 + u) / 10.0);
        let after = marks.iter().rposition(|&m| m <= at).unwrap();
        let k = KillPoint {
            after,
            then: at - marks[after],
            // Every other trial waits on from there for a file being written.
            mid_write: trial % 2 == 1,
        };
        let run = tmp.path().join(format!("killed{trial}"));
        let mut child = spawn_quiet(&args(&run));
        let killed = kill_at(&mut child, &run, &k);
        check_after_kill(&run, &whole, trial);
        let files: Vec<String> = std::fs::read_dir(&run)
            .map(|it| {
                it.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        // Before the recipe exists there is no run to resume: the same command starts it
        // again in the same folder.
        let resumed_run = run.join("recipe.toml").exists();
        let recovered = if resumed_run {
            graft(&["finetune", "--resume", s(&run), "--threads", "1", "--json"])
        } else {
            graft(&args(&run).iter().map(String::as_str).collect::<Vec<_>>())
        };
        report.push(format!(
            "trial {trial}: kill {:.2?} after milestone {after}{} ({}), left {files:?}",
            k.then,
            if k.mid_write { " then mid-write" } else { "" },
            if killed { "killed" } else { "had finished" },
        ));
        let outcome = if !recovered.status.success() {
            format!("recovery failed: {}", stderr(&recovered).trim_end())
        } else {
            let resumed: Value = serde_json::from_slice(&recovered.stdout).unwrap();
            if finals(&resumed) != finals(&reference) {
                format!("final metrics differ: {resumed} vs {reference}")
            } else if metrics_lines(&run.join("metrics.jsonl"))
                != metrics_lines(&whole.join("metrics.jsonl"))
            {
                "metrics.jsonl differs from the uninterrupted run's".to_string()
            } else if resumed_run && has_temporary(&run) {
                "--resume left the killed run's temporaries behind".to_string()
            } else {
                String::new()
            }
        };
        if !outcome.is_empty() {
            failures.push(format!("trial {trial}: {outcome}"));
        }
    }
    let report = report.join("\n");
    eprintln!(
        "{report}\nreference run {run_time:.2?}, milestones {marks:.2?}, whole test {:.2?}",
        t_test.elapsed()
    );
    assert!(failures.is_empty(), "{report}\n{}", failures.join("\n"));
}

/// A file-size limit of `bytes` (RLIMIT_FSIZE) on the child, with SIGXFSZ ignored, so that a
/// write past it fails with EFBIG as a write to a full disk fails with ENOSPC.
fn with_file_size_limit(cmd: &mut Command, bytes: u64) -> &mut Command {
    // SAFETY: between fork and exec only async-signal-safe calls (signal, setrlimit).
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

#[test]
fn a_full_disk_while_checkpointing_is_a_clear_error_and_keeps_the_last_checkpoint() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, 600, 21);
    let test = digits_npz(tmp.path(), "test.npz", DigitDomain::Source, 100, 22);
    let args = |out: &Path| -> Vec<String> {
        let mut a = lenet_run("pretrain", &src, out, 3, 8);
        a.extend(["--test", s(&test)].map(String::from));
        a
    };
    let whole = tmp.path().join("whole");
    let a = args(&whole);
    let reference = summary(&graft(&a.iter().map(String::as_str).collect::<Vec<_>>()));
    let ck_size = std::fs::metadata(whole.join("checkpoint.safetensors"))
        .unwrap()
        .len();

    // A run stopped after its first checkpoint.
    let run = tmp.path().join("full");
    let mut child = spawn_quiet(&args(&run));
    let t0 = Instant::now();
    while metrics_lines(&run.join("metrics.jsonl")).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "epoch 1 never ended"
        );
        assert!(child.try_wait().unwrap().is_none(), "ended before the kill");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ck = run.join("checkpoint.safetensors");
    let saved = std::fs::read(&ck).unwrap();
    let saved_metrics = std::fs::read(run.join("metrics.jsonl")).unwrap();
    assert!(
        metrics_lines(&run.join("metrics.jsonl")).len() < 3,
        "killed too late: the run had finished"
    );

    // Continued where no file may grow past half a checkpoint: the next save must fail.
    let o = with_file_size_limit(
        &mut graft_cmd(&["pretrain", "--resume", s(&run), "--threads", "1", "--json"]),
        ck_size / 2,
    )
    .output()
    .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(s(&ck)) && err.contains("cannot write") && err.contains("File too large"),
        "the error must name the checkpoint and the cause: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert_eq!(std::fs::read(&ck).unwrap(), saved, "checkpoint changed");
    assert_eq!(
        std::fs::read(run.join("metrics.jsonl")).unwrap(),
        saved_metrics
    );
    assert!(!has_temporary(&run), "a temporary was left behind");
    assert!(!run.join("model.safetensors").exists());

    // With room again, the kept checkpoint resumes to the uninterrupted run's result.
    let resumed = resume("pretrain", &run);
    assert_eq!(finals(&resumed), finals(&reference));
}
