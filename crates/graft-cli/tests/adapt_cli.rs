//! End-to-end tests of `graft adapt` through the real binary: the MLP-on-feature-vectors mode
//! with its JSON summary and run directory, recipes, and bad input named.

mod common;

use common::{graft, stderr};

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Two Gaussian classes in `d` dimensions, shifted by `shift` (the domain shift), as svmlight.
fn blobs(dir: &Path, name: &str, n: usize, d: usize, shift: f64, seed: u64) -> PathBuf {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut unif = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::new();
    for i in 0..n {
        let y = i % 2;
        text.push_str(if y == 1 { "1" } else { "-1" });
        for j in 0..d {
            let g = (-2.0 * unif().max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * unif()).cos();
            let centre = if j == 0 { 2.0 * y as f64 - 1.0 } else { 0.0 };
            text.push_str(&format!(" {}:{:.4}", j + 1, centre + g * 0.7 + shift));
        }
        text.push('\n');
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn mlp_on_svmlight_prints_one_json_object_and_keeps_the_model_apart() {
    let dir = tempfile::tempdir().unwrap();
    let s = blobs(dir.path(), "s.svmlight", 200, 5, 0.0, 1);
    let t = blobs(dir.path(), "t.svmlight", 200, 5, 0.5, 2);
    let tt = blobs(dir.path(), "tt.svmlight", 100, 5, 0.5, 3);
    let out = dir.path().join("run");
    let o = graft(&[
        "adapt",
        "--model",
        "mlp",
        "--hidden",
        "16",
        "--method",
        "dann",
        "--source",
        s.to_str().unwrap(),
        "--target-unlabelled",
        t.to_str().unwrap(),
        "--target-test",
        tt.to_str().unwrap(),
        "--epochs",
        "3",
        "--seed",
        "1",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let acc = v["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc) && acc > 0.6, "{v}");
    assert_eq!(v["method"], "dann");
    assert!(v["selected"].as_str().unwrap().contains("last"), "{v}");
    assert!(out.join("recipe.toml").exists() && out.join("metrics.jsonl").exists());
    let model = std::fs::read(out.join("model.safetensors")).unwrap();
    let text = String::from_utf8_lossy(&model[..2000.min(model.len())]).into_owned();
    assert!(
        text.contains("hidden.0.weight") && !text.contains("discriminator"),
        "{text}"
    );
    // The saved recipe repeats the run.
    let recipe = std::fs::read_to_string(out.join("recipe.toml")).unwrap();
    assert!(recipe.contains("loss = \"dann\""), "{recipe}");
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let s = blobs(dir.path(), "s.svmlight", 20, 5, 0.0, 1);
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, "a,b,label\n1,2,0\n3,4,1\n").unwrap();
    let r = dir.path().join("r.toml");
    std::fs::write(&r, "model = \"mlp\"\nsoruce = \"x\"\n").unwrap();
    let o = graft(&["adapt", "--recipe", r.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("soruce") && e.contains("target_unlabelled"),
        "{e}"
    );
    let o = graft(&[
        "adapt",
        "--model",
        "mlp",
        "--method",
        "dannn",
        "--source",
        s.to_str().unwrap(),
        "--target-unlabelled",
        s.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains("dannn") && e.contains("coral") && e.contains("self-training"),
        "{e}"
    );
    let o = graft(&[
        "adapt",
        "--model",
        "mlp",
        "--source",
        s.to_str().unwrap(),
        "--target-unlabelled",
        wide.to_str().unwrap(),
        "--out",
        dir.path().join("r1").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains("features per sample") || e.contains("classes"),
        "{e}"
    );
    let empty = dir.path().join("empty.svmlight");
    std::fs::write(&empty, "").unwrap();
    let o = graft(&[
        "adapt",
        "--model",
        "mlp",
        "--source",
        s.to_str().unwrap(),
        "--target-unlabelled",
        empty.to_str().unwrap(),
        "--out",
        dir.path().join("r2").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(!o.status.success() && e.contains("empty.svmlight"), "{e}");
}

#[test]
fn a_recipe_mixes_terms_flags_override_it_and_a_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let s = blobs(dir.path(), "s.svmlight", 120, 4, 0.0, 1);
    let t = blobs(dir.path(), "t.svmlight", 120, 4, 0.5, 2);
    let r = dir.path().join("mixed.toml");
    std::fs::write(
        &r,
        format!(
            "model = \"mlp\"\nhidden = [8]\nsource = \"{}\"\ntarget_unlabelled = \"{}\"\n\
             select = \"dev\"\n[train]\nepochs = 5\n[domain]\nloss = \"coral\"\nweight = 2.0\n\
             [self_training]\nthreshold = 0.6\n[l2sp]\nalpha = 0.01\nbeta = 0.01\n",
            s.display(),
            t.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("run");
    let run = |extra: &[&str]| {
        let mut args = vec!["adapt", "--recipe", r.to_str().unwrap(), "--threads", "1"];
        args.extend_from_slice(extra);
        graft(&args)
    };
    let o = run(&["--epochs", "2", "--out", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["method"], "coral");
    assert_eq!(v["epochs_run"], 2, "the flag wins over the recipe: {v}");
    assert!(
        v["self_training"].is_object() && v["l2sp"].is_object(),
        "{v}"
    );
    assert!(v["selected"].as_str().unwrap().contains("dev"), "{v}");
    let saved = std::fs::read_to_string(out.join("recipe.toml")).unwrap();
    assert!(
        saved.contains("epochs = 2") && saved.contains("[self_training]"),
        "{saved}"
    );
    // Resuming a finished run trains no further and reports the same run.
    let o = graft(&["adapt", "--resume", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(w["epochs_run"], 2);
    assert_eq!(w["source_val_accuracy"], v["source_val_accuracy"]);
}
