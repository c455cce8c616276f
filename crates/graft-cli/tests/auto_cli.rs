//! `graft auto` end to end on small rendered digits: every strategy it can try with a source
//! and unlabelled target data, the baseline first, a winner chosen on held-out labels and
//! trained again on all of them, a recipe that `--recipe` repeats, and clear errors.

mod common;

use common::{digits_npz, graft, s, stderr, summary};
use graft_data::synth_digits::DigitDomain;

#[test]
fn auto_tries_every_strategy_and_saves_a_winner_that_recipe_repeats() {
    let d = tempfile::tempdir().unwrap();
    let src = digits_npz(d.path(), "src.npz", DigitDomain::Source, 200, 1);
    let tgt = digits_npz(d.path(), "tgt.npz", DigitDomain::Target, 60, 2);
    let unl = digits_npz(d.path(), "unl.npz", DigitDomain::Target, 80, 3);
    let test = digits_npz(d.path(), "test.npz", DigitDomain::Target, 80, 4);
    let out = d.path().join("auto");
    let v = summary(&graft(&[
        "auto",
        "--data",
        s(&tgt),
        "--source",
        s(&src),
        "--target-unlabelled",
        s(&unl),
        "--test",
        s(&test),
        "--budget",
        "10m",
        "--threads",
        "1",
        "--out",
        s(&out),
        "--json",
    ]));
    let rows = v["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "target only",
            "source model",
            "linear probe",
            "partial fine-tuning",
            "full fine-tuning",
            "self-training",
            "DANN",
            "CDAN+E + self-training",
            "adapted + fine-tuning"
        ]
    );
    for r in rows {
        assert_eq!(r["status"], "finished", "{r}");
        let acc = r["val_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{r}");
    }
    assert_eq!(v["held_out"], 20, "30% of 6 per class, rounded");
    // The winner has the best held-out accuracy, and its recipe repeats.
    let best = rows
        .iter()
        .map(|r| r["val_accuracy"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(v["winner"]["val_accuracy"].as_f64().unwrap(), best);
    let t = v["winner"]["test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&t));
    let recipe = out.join("winner.toml");
    assert!(recipe.exists() && out.join("auto.json").exists());
    let cmd = v["winner"]["command"].as_str().unwrap();
    let again = summary(&graft(&[
        cmd,
        "--recipe",
        s(&recipe),
        "--out",
        s(&d.path().join("again")),
        "--threads",
        "1",
        "--json",
    ]));
    if cmd != "adapt" {
        // Same recipe, same seed, same machine: the same model as auto's final run.
        assert_eq!(again["accuracy"].as_f64().unwrap(), t);
    }
    // Negative transfer is flagged for every transfer strategy below the baseline.
    let base = v["baseline_val_accuracy"].as_f64().unwrap();
    let warnings = v["warnings"].to_string();
    for r in &rows[1..] {
        let lost = r["val_accuracy"].as_f64().unwrap() < base;
        let name = r["strategy"].as_str().unwrap();
        assert_eq!(
            warnings.contains(&format!("negative transfer: {name} lost")),
            lost,
            "{name}: {warnings}"
        );
    }
}

#[test]
fn a_budget_too_small_for_anything_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let tgt = digits_npz(d.path(), "tgt.npz", DigitDomain::Target, 60, 2);
    let o = graft(&[
        "auto",
        "--data",
        s(&tgt),
        "--budget",
        "0.2s",
        "--out",
        s(&d.path().join("a")),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("no strategy finished within the budget"), "{e}");
}

#[test]
fn bad_input_is_named() {
    let d = tempfile::tempdir().unwrap();
    let tgt = digits_npz(d.path(), "tgt.npz", DigitDomain::Target, 10, 2);
    let run = |extra: &[&str]| {
        let mut a = vec!["auto", "--data", s(&tgt), "--out"];
        let out = d.path().join("x");
        let out = s(&out).to_string();
        a.push(&out);
        a.extend_from_slice(extra);
        let o = graft(&a);
        assert!(!o.status.success());
        stderr(&o)
    };
    let e = run(&["--labels-per-class", "1"]);
    assert!(e.contains("needs at least 2 of every class"), "{e}");
    let e = run(&[
        "--models",
        "lenet",
        "--weights",
        "a.safetensors,b.safetensors",
    ]);
    assert!(e.contains("--weights: 2 given for 1 model(s)"), "{e}");
    let e = run(&["--budget", "10q"]);
    assert!(e.contains("expected a duration"), "{e}");
    let e = run(&["--models", "nosuchnet"]);
    assert!(e.contains("nosuchnet"), "{e}");
}

#[test]
fn ctrl_c_stops_the_running_trial_writes_the_table_and_exits_130() {
    let d = tempfile::tempdir().unwrap();
    let src = digits_npz(d.path(), "src.npz", DigitDomain::Source, 2000, 1);
    let tgt = digits_npz(d.path(), "tgt.npz", DigitDomain::Target, 60, 2);
    let out = d.path().join("auto");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(["auto", "--data", s(&tgt), "--source", s(&src)])
        .args(["--threads", "1", "--out", s(&out)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once the source model's trial has started, as a user's Ctrl-C would.
    let started = out.join("trials").join("source-model.log");
    let t0 = std::time::Instant::now();
    while !started.exists() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("auto.json")).unwrap()).unwrap();
    let status: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(status[0], "finished", "{status:?}");
    let stopped = status.iter().position(|s| *s == "interrupted").unwrap();
    assert!(
        status[stopped + 1..]
            .iter()
            .all(|s| *s == "skipped: interrupted"),
        "{status:?}"
    );
}
