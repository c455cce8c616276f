//! What the end-to-end tests of the binary share: running it, reading its output, and rendered
//! digits as an .npz. Each test file uses some of these.
#![allow(dead_code)]

use graft_data::npy::{write_npz, NpyOut};
use graft_data::synth_digits::{render, DigitDomain};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn graft_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_graft"));
    c.args(args);
    c
}

pub fn graft(args: &[&str]) -> Output {
    graft_cmd(args).output().expect("the graft binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn summary(o: &Output) -> Value {
    assert!(o.status.success(), "graft failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("--json prints one JSON object")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` rendered digits of `domain` as an .npz (X: n x 28 x 28 x 3 bytes as float, y).
pub fn digits_npz(dir: &Path, name: &str, domain: DigitDomain, n: usize, seed: u64) -> PathBuf {
    let d = render(domain, n, seed);
    let x: Vec<f32> = d.pixels.iter().map(|&p| p as f32).collect();
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    write_npz(
        f,
        &[
            ("X", &[n, 28, 28, 3], NpyOut::F32(&x)),
            ("y", &[n], NpyOut::I64(&d.labels)),
        ],
    )
    .unwrap();
    p
}

/// The flags of a small LeNet run of `command` (`pretrain` or `finetune`): batch 32, lr 0.05,
/// one thread, `--json`; `extra` adds or overrides flags (`--test`, `--weights`, ...).
pub fn lenet_run(command: &str, data: &Path, out: &Path, epochs: u32, seed: u64) -> Vec<String> {
    let mut v: Vec<String> = [
        command,
        "--model",
        "lenet",
        "--data",
        s(data),
        "--out",
        s(out),
    ]
    .map(String::from)
    .to_vec();
    v.extend([
        "--epochs".to_string(),
        epochs.to_string(),
        "--batch-size".into(),
        "32".into(),
        "--lr".into(),
        "0.05".into(),
        "--threads".into(),
        "1".into(),
        "--seed".into(),
        seed.to_string(),
        "--json".into(),
    ]);
    v
}

/// Starts the binary with `args` in the background, its output discarded (a run to kill).
pub fn spawn_quiet(args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the graft binary starts")
}

/// `graft COMMAND --resume RUN --threads 1 --json`, which must succeed; its summary.
pub fn resume(command: &str, run: &Path) -> Value {
    summary(&graft(&[
        command,
        "--resume",
        s(run),
        "--threads",
        "1",
        "--json",
    ]))
}
