//! End-to-end tests of `graft pretrain`, `finetune`, `eval` and `predict` through the real
//! binary, on digits the tests render themselves: the run directory, exact resume after
//! SIGKILL and after Ctrl-C, and clear errors.

mod common;

use common::{digits_npz, graft, s, stderr, summary};
use graft_data::synth_digits::{render, DigitDomain};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The flags of one small pre-training run.
fn pretrain_args<'a>(data: &'a str, test: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "pretrain",
        "--model",
        "lenet",
        "--data",
        data,
        "--test",
        test,
        "--out",
        out,
        "--epochs",
        "3",
        "--batch-size",
        "32",
        "--lr",
        "0.05",
        "--threads",
        "1",
        "--seed",
        "4",
        "--json",
    ]
}

#[test]
fn pretrain_then_finetune_eval_and_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, 600, 1);
    let src_test = digits_npz(tmp.path(), "src_test.npz", DigitDomain::Source, 200, 2);
    let tgt = digits_npz(tmp.path(), "tgt.npz", DigitDomain::Target, 400, 3);
    let run = tmp.path().join("pre");
    let sm = summary(&graft(&pretrain_args(s(&src), s(&src_test), s(&run))));
    assert!(sm["accuracy"].as_f64().unwrap() > 0.5, "{sm}");
    assert!((0.0..=1.0).contains(&sm["macro_f1"].as_f64().unwrap()));
    for f in [
        "recipe.toml",
        "metrics.jsonl",
        "model.safetensors",
        "checkpoint.safetensors",
        "summary.json",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );

    // Fine-tune from the pre-trained model, last layers only, with a validation split.
    let ft = tmp.path().join("ft");
    let weights = run.join("model.safetensors");
    let o = graft(&[
        "finetune",
        "--model",
        "lenet",
        "--weights",
        s(&weights),
        "--data",
        s(&tgt),
        "--labels-per-class",
        "20",
        "--val-fraction",
        "0.25",
        "--freeze-until",
        "conv2",
        "--epochs",
        "4",
        "--out",
        s(&ft),
        "--threads",
        "1",
        "--json",
    ]);
    let sf = summary(&o);
    assert_eq!(sf["train_samples"], 150);
    assert!(
        sf["selected"].as_str().unwrap().contains("best validation"),
        "{sf}"
    );
    assert!(sf["val"]["confusion"].as_array().unwrap().len() == 10);

    // eval of the same run reproduces its test accuracy.
    let e = summary(&graft(&[
        "eval",
        s(&run),
        "--data",
        s(&src_test),
        "--json",
        "--threads",
        "1",
    ]));
    assert_eq!(e["accuracy"], sm["accuracy"]);
    let e16 = summary(&graft(&[
        "eval",
        s(&run),
        "--data",
        s(&src_test),
        "--json",
        "--threads",
        "1",
        "--precision",
        "bf16",
    ]));
    assert_eq!(e16["precision"], "bf16");
    let gap = (e16["accuracy"].as_f64().unwrap() - e["accuracy"].as_f64().unwrap()).abs();
    assert!(gap <= 0.02, "bf16 eval moved the accuracy by {gap}");

    // predict: top-3 of two PNG files, CSV.
    let img = render(DigitDomain::Source, 2, 9);
    let mut files = Vec::new();
    for i in 0..2 {
        let p = tmp.path().join(format!("d{i}.png"));
        image::RgbImage::from_raw(28, 28, img.image(i).to_vec())
            .unwrap()
            .save(&p)
            .unwrap();
        files.push(p);
    }
    let o = graft(&[
        "predict",
        s(&run),
        s(&files[0]),
        s(&files[1]),
        "--top-k",
        "3",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "path,rank,class,probability");
    assert_eq!(lines.len(), 1 + 2 * 3);
    let o = graft(&[
        "predict",
        s(&run),
        s(&files[0]),
        "--format",
        "json",
        "--threads",
        "1",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let top = v[0]["top"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    let total: f64 = top.iter().map(|t| t["probability"].as_f64().unwrap()).sum();
    assert!(total <= 1.0 + 1e-5);
}

/// Final metrics of a summary that must match exactly after a resume.
fn finals(v: &Value) -> (Value, Value, Value) {
    (
        v["accuracy"].clone(),
        v["train_loss"].clone(),
        v["test"]["confusion"].clone(),
    )
}

fn lines_of(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |t| t.lines().count())
}

#[test]
fn sigkill_during_epoch_two_then_resume_gives_the_same_final_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, 1500, 1);
    let test = digits_npz(tmp.path(), "test.npz", DigitDomain::Source, 200, 2);
    let whole = tmp.path().join("whole");
    let reference = summary(&graft(&pretrain_args(s(&src), s(&test), s(&whole))));

    let run = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(pretrain_args(s(&src), s(&test), s(&run)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for epoch 1 to be saved, then kill somewhere inside epoch 2.
    let t0 = Instant::now();
    while lines_of(&run.join("metrics.jsonl")) < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "epoch 1 never finished"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Epoch 1's checkpoint is complete once its metrics line exists: kill right away, inside
    // epoch 2, whatever the machine's speed.
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        lines_of(&run.join("metrics.jsonl")),
        1,
        "killed too late: epoch 2 had finished"
    );
    assert!(!run.join("model.safetensors").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty() || leftovers.iter().all(|n| n.starts_with('.')),
        "{leftovers:?}"
    );

    let resumed = common::resume("pretrain", &run);
    assert_eq!(finals(&resumed), finals(&reference));
    assert_eq!(lines_of(&run.join("metrics.jsonl")), 3);
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_resume_finishes_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, 1500, 5);
    let test = digits_npz(tmp.path(), "test.npz", DigitDomain::Source, 200, 6);
    let reference = summary(&graft(&pretrain_args(
        s(&src),
        s(&test),
        s(&tmp.path().join("whole")),
    )));
    let run = tmp.path().join("int");
    let child = Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(pretrain_args(s(&src), s(&test), s(&run)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt inside epoch 2 (its first line of metrics means epoch 1 is saved).
    let t0 = Instant::now();
    while lines_of(&run.join("metrics.jsonl")) < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "epoch 1 never finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(run.join("checkpoint.safetensors").exists());
    let resumed = common::resume("pretrain", &run);
    assert_eq!(finals(&resumed), finals(&reference));
}

#[test]
fn bad_training_input_gets_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, 50, 1);
    let out = tmp.path().join("r");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["pretrain", "--model", "lenet", "--data", "/no/such.npz"],
            "/no/such.npz",
        ),
        (
            vec!["pretrain", "--model", "nosuch", "--data", s(&src)],
            "unknown model",
        ),
        (vec!["pretrain", "--data", s(&src)], "--model is required"),
        (
            vec![
                "finetune",
                "--model",
                "lenet",
                "--data",
                s(&src),
                "--freeze-until",
                "layer9",
                "--out",
                s(&out),
            ],
            "no stage `layer9`",
        ),
        (
            vec![
                "finetune",
                "--model",
                "lenet",
                "--data",
                s(&src),
                "--weights",
                "/no/w.safetensors",
                "--out",
                s(&out),
            ],
            "/no/w.safetensors",
        ),
        (
            vec![
                "pretrain",
                "--model",
                "lenet",
                "--data",
                s(&src),
                "--val-fraction",
                "1.5",
                "--out",
                s(&out),
            ],
            "--val-fraction",
        ),
        (vec!["eval", "/no/run", "--data", s(&src)], "recipe"),
    ];
    for (args, want) in cases {
        let o = graft(&args);
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(e.contains(want), "{args:?}: expected `{want}` in: {e}");
        assert!(!e.contains("panicked"), "{args:?} panicked: {e}");
    }
}

#[test]
fn the_demo_tells_the_whole_story_on_a_small_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let v = summary(&graft(&[
        "demo",
        "--source",
        "600",
        "--test",
        "200",
        "--source-epochs",
        "1",
        "--unlabelled",
        "300",
        "--adapt-epochs",
        "1",
        "--threads",
        "1",
        "--out",
        s(&out),
        "--json",
    ]));
    let rows = v["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "source only",
            "DANN",
            "Deep CORAL",
            "self-training",
            "from scratch",
            "feature extraction",
            "partial fine-tuning",
            "full fine-tuning"
        ]
    );
    for r in rows {
        let acc = r["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{r}");
    }
    assert!(out.join("summary.json").exists());
    assert!(out.join("source").join("model.safetensors").exists());
}

#[test]
fn sample_weights_from_a_file_steer_training() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 300;
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, n, 11);
    let test = digits_npz(tmp.path(), "test.npz", DigitDomain::Source, 200, 12);
    let labels = render(DigitDomain::Source, n, 11).labels;
    // Class 3 gets no weight at all: a model trained with these weights never learns it.
    let w = tmp.path().join("w.csv");
    let mut text = String::from("index,weight\n");
    for (i, &c) in labels.iter().enumerate() {
        text.push_str(&format!("{i},{}\n", if c == 3 { 0.0 } else { 1.0 }));
    }
    std::fs::write(&w, text).unwrap();
    let run = tmp.path().join("weighted");
    let mut args = pretrain_args(s(&src), s(&test), s(&run));
    args.extend(["--sample-weights", s(&w)]);
    let sm = summary(&graft(&args));
    let recall = &sm["test"]["per_class_accuracy"];
    assert!(
        recall[3].as_f64().unwrap() < 0.2,
        "class 3 had zero weight yet is recognised: {recall}"
    );
    assert!(sm["accuracy"].as_f64().unwrap() > 0.2, "{sm}");
    let recipe = std::fs::read_to_string(run.join("recipe.toml")).unwrap();
    assert!(recipe.contains("sample_weights"), "{recipe}");

    // One weight too few: the error names the file and both counts.
    let short = tmp.path().join("short.csv");
    std::fs::write(&short, "weight\n1\n1\n").unwrap();
    let run2 = tmp.path().join("short-run");
    let mut args = pretrain_args(s(&src), s(&test), s(&run2));
    args.extend(["--sample-weights", s(&short)]);
    let o = graft(&args);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("short.csv") && e.contains("2 weights") && e.contains(&format!("{n} samples")),
        "{e}"
    );
}

#[test]
fn fp16_training_records_its_loss_scale_and_warns_on_a_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let src = digits_npz(tmp.path(), "src.npz", DigitDomain::Source, 200, 1);
    let src_test = digits_npz(tmp.path(), "src_test.npz", DigitDomain::Source, 50, 2);
    let run = tmp.path().join("pre");
    let mut args = pretrain_args(s(&src), s(&src_test), s(&run));
    let epochs = args.iter().position(|a| *a == "--epochs").unwrap() + 1;
    args[epochs] = "1";
    args.extend(["--precision", "fp16"]);
    let o = graft(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: fp16 on a CPU"),
        "{}",
        stderr(&o)
    );
    let recipe = std::fs::read_to_string(run.join("recipe.toml")).unwrap();
    assert!(recipe.contains("precision = \"fp16\""), "{recipe}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let line: Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert!(line["loss_scale"].as_f64().unwrap() >= 1.0, "{line}");
    assert!(line["skipped_steps"].as_u64().is_some(), "{line}");

    let o = graft(&["pretrain", "--precision", "fp8"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("expected fp32, bf16 or fp16"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn runs_record_their_jpeg_decode_size_and_later_commands_follow_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("jpegs");
    for (k, c) in ["a", "b"].iter().enumerate() {
        std::fs::create_dir_all(data.join(c)).unwrap();
        for i in 0..4u32 {
            let img = image::RgbImage::from_fn(130 + i, 128, |x, y| {
                image::Rgb([(k * 200) as u8, ((x + y + i) % 256) as u8, 90])
            });
            img.save(data.join(c).join(format!("{i}.jpg"))).unwrap();
        }
    }
    let run = tmp.path().join("run");
    let o = graft(&[
        "pretrain",
        "--model",
        "lenet",
        "--data",
        s(&data),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--out",
        s(&run),
        "--threads",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let recipe_path = run.join("recipe.toml");
    let recipe = std::fs::read_to_string(&recipe_path).unwrap();
    assert!(recipe.contains("decode_size = \"reduced\""), "{recipe}");

    let img = data.join("a").join("0.jpg");
    let predict = |extra: &[&str]| {
        let mut args = vec!["predict", s(&run), s(&img), "--threads", "1"];
        args.extend_from_slice(extra);
        let o = graft(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    assert!(!predict(&[]).contains("warning"), "follows the run's own");
    // A run recorded before the setting decoded at full size; asking otherwise is allowed and
    // said.
    std::fs::write(
        &recipe_path,
        recipe.replace("decode_size = \"reduced\"\n", ""),
    )
    .unwrap();
    let e = predict(&["--decode-size", "reduced"]);
    assert!(
        e.contains("decoded its JPEGs with --decode-size full; using reduced"),
        "{e}"
    );
    assert!(!predict(&[]).contains("warning"));
}
