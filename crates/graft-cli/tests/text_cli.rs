//! Text through the real binary: `graft extract`, `graft probe` and `graft rank` with a text
//! model folder (a small generated BERT encoder and WordPiece tokenizer), and bad text input
//! named by file, line and field.

mod common;

use common::{graft, s, stderr, summary};
use graft_nn::models::bert::tiny::write_tiny_model;
use std::path::{Path, PathBuf};
use std::process::Output;

const POSITIVE: [&str; 6] = [
    "great book, love it",
    "excellent film, fun story",
    "the kettle works very fine",
    "best blender, buy it again",
    "good read, great story",
    "love this film, excellent",
];
const NEGATIVE: [&str; 6] = [
    "terrible book, boring story",
    "the blender broke, worst buy",
    "bad film, never again",
    "poor kettle, hate it",
    "boring read, not good",
    "worst story, terrible film",
];

/// `copies` rounds of the reviews above as JSONL with string labels.
fn reviews_jsonl(dir: &Path, name: &str, copies: usize) -> PathBuf {
    let mut out = String::new();
    for i in 0..copies {
        for (texts, label) in [(POSITIVE, "positive"), (NEGATIVE, "negative")] {
            for t in texts {
                let text = if i % 2 == 0 {
                    t.to_string()
                } else {
                    t.to_uppercase()
                };
                out.push_str(&serde_json::json!({"text": text, "label": label}).to_string());
                out.push('\n');
            }
        }
    }
    let p = dir.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

/// `graft extract --model MODEL --data DATA --out OUT EXTRA...`.
fn extract(model: &Path, data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "extract",
        "--model",
        s(model),
        "--data",
        s(data),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    graft(&args)
}

fn tiny_model(dir: &Path) -> PathBuf {
    let m = dir.join("tiny-bert");
    write_tiny_model(&m, "bert", "", 0).unwrap();
    m
}

#[test]
fn extract_writes_pooled_text_features_with_their_provenance() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = reviews_jsonl(tmp.path(), "reviews.jsonl", 2);
    let out = tmp.path().join("f.safetensors");
    let o = extract(&model, &data, &out, &["--json", "--max-length", "6"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = summary(&o);
    assert_eq!(v["n"], 24);
    assert_eq!(v["d"], 16);
    assert_eq!(v["classes"], 2);
    assert_eq!(v["stage"], "encoder.layer.1");
    // "excellent film, fun story" and longer are 7+ tokens with [CLS] and [SEP].
    assert!(v["texts_truncated"].as_u64().unwrap() > 0, "{v}");
    assert!(v["texts_per_second"].as_f64().unwrap() > 0.0);
    let set = graft_data::FeatureSet::read(&out).unwrap();
    assert_eq!(set.class_names, ["negative", "positive"]);
    assert_eq!(set.metadata["architecture"], "bert");
    assert_eq!(set.metadata["pooling"], "mean");
    assert_eq!(set.metadata["max_length"], "6");
    // Rows keep the file's order whatever order the batches ran in: the first row is a
    // positive review, the seventh a negative one.
    assert_eq!(set.labels[0], 1);
    assert_eq!(set.labels[6], 0);

    // An earlier stage, at the embeddings.
    let out2 = tmp.path().join("g.npz");
    let o = extract(&model, &data, &out2, &["--json", "--stage", "embeddings"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(summary(&o)["stage"], "embeddings");
}

#[test]
fn probe_and_rank_take_a_text_model() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let train = reviews_jsonl(tmp.path(), "train.jsonl", 4);
    let test = reviews_jsonl(tmp.path(), "test.jsonl", 1);
    let cache = tmp.path().join("cache");
    let run_probe = || {
        common::graft_cmd(&[
            "probe",
            "--model",
            s(&model),
            "--data",
            s(&train),
            "--test",
            s(&test),
            "--json",
        ])
        .env("GRAFT_CACHE_DIR", &cache)
        .output()
        .unwrap()
    };
    let o = run_probe();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = summary(&o);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.0, "{v}");
    // The second probe finds the features in the cache.
    let v2 = summary(&run_probe());
    assert_eq!(v2["cache"]["train"]["hit"], true, "{v2}");
    assert_eq!(v["accuracy"], v2["accuracy"]);

    let o = common::graft_cmd(&[
        "rank",
        "--models",
        s(&model),
        "--data",
        s(&train),
        "--stages",
        "embeddings,encoder.layer.1",
        "--json",
    ])
    .env("GRAFT_CACHE_DIR", &cache)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = summary(&o);
    let text = v.to_string();
    assert!(
        text.contains("embeddings") && text.contains("encoder.layer.1"),
        "{v}"
    );
}

#[test]
fn bad_text_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let out = tmp.path().join("f.safetensors");
    let refused = |data: &Path, extra: &[&str]| {
        let o = extract(&model, data, &out, extra);
        assert!(!o.status.success());
        stderr(&o)
    };
    let data = reviews_jsonl(tmp.path(), "reviews.jsonl", 1);
    let e = refused(&data, &["--label-column", "stars"]);
    assert!(e.contains("reviews.jsonl") && e.contains("stars"), "{e}");

    let bad = tmp.path().join("bad.jsonl");
    let mut bytes = b"{\"text\": \"good\", \"label\": \"positive\"}\n".to_vec();
    bytes.extend(b"{\"text\": \"bad \xff\xfe\", \"label\": \"negative\"}\n");
    std::fs::write(&bad, bytes).unwrap();
    let e = refused(&bad, &[]);
    assert!(e.contains("bad.jsonl:2") && e.contains("UTF-8"), "{e}");

    let empty = tmp.path().join("empty.csv");
    std::fs::write(&empty, "text,label\ngood book,positive\n  ,negative\n").unwrap();
    let e = refused(&empty, &[]);
    assert!(e.contains("empty.csv:3") && e.contains("empty"), "{e}");
    let o = extract(&model, &empty, &out, &["--skip-empty"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let e = refused(&data, &["--weights", "x.safetensors"]);
    assert!(
        e.contains("--weights does not apply to a text model"),
        "{e}"
    );
    let e = refused(&data, &["--max-length", "4096"]);
    assert!(
        e.contains("--max-length 4096 exceeds the 20 positions"),
        "{e}"
    );
}

#[test]
fn finetune_trains_a_text_model_fully_or_through_lora_adapters() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let train = reviews_jsonl(tmp.path(), "train.jsonl", 4);
    let test = reviews_jsonl(tmp.path(), "test.jsonl", 1);
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "finetune",
            "--model",
            s(&model),
            "--data",
            s(&train),
            "--test",
            s(&test),
            "--epochs",
            "2",
            "--optimizer",
            "adamw",
            "--lr",
            "0.001",
            "--batch-size",
            "8",
            "--max-length",
            "12",
            "--out",
            s(&out),
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = graft(&args);
        (summary(&o), out)
    };
    let (full, _) = run("full", &[]);
    assert_eq!(full["classes"], serde_json::json!(["negative", "positive"]));
    assert_eq!(full["max_length"], 12);
    assert_eq!(full["test"]["n"], 12, "{full}");
    let full_trainable = full["trainable_parameters"].as_i64().unwrap();

    let (lora, dir) = run(
        "lora",
        &["--lora", "4", "--lora-alpha", "8", "--merge-lora"],
    );
    // Two layers x query and value x (A: 4x16 + B: 16x4), plus the 16 -> 2 head.
    assert_eq!(
        lora["trainable_parameters"],
        2 * 2 * (64 + 64) + 34,
        "{lora}"
    );
    assert!(lora["trainable_parameters"].as_i64().unwrap() < full_trainable / 10);
    let adapter = graft_nn::weights::read(&dir.join("adapter/adapter_model.safetensors")).unwrap();
    assert_eq!(adapter.len(), 8);
    assert_eq!(
        adapter
            .get("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight")
            .unwrap()
            .size(),
        [4, 16]
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("adapter/adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["peft_type"], "LORA");
    assert_eq!(config["r"], 4);
    assert_eq!(config["lora_alpha"], 8.0);
    assert_eq!(
        config["target_modules"],
        serde_json::json!(["query", "value"])
    );
    // Merged: the saved model is a plain encoder and head, without adapter tensors.
    let merged = graft_nn::weights::read(&dir.join("model.safetensors")).unwrap();
    assert!(merged.tensors.keys().all(|k| !k.contains("lora_")));
    assert!(merged.get("classifier.weight").is_some());
    // The merged run is itself a model folder: graft extracts features with it.
    let f = tmp.path().join("f.safetensors");
    let o = extract(&dir, &test, &f, &["--json"]);
    assert_eq!(summary(&o)["n"], 12);

    // graft eval opens the merged run as a model folder and measures it as the run measured
    // its test set (the run evaluated its unmerged adapters: within one text of it).
    let e = summary(&graft(&["eval", s(&dir), "--data", s(&test), "--json"]));
    assert_eq!(e["n"], 12, "{e}");
    let (ea, la) = (
        e["accuracy"].as_f64().unwrap(),
        lora["accuracy"].as_f64().unwrap(),
    );
    assert!(
        (ea - la).abs() <= 1.0 / 12.0 + 1e-9,
        "eval {ea} vs the run's {la}"
    );

    // LoRA is for text models only, and merging needs adapters.
    let o = graft(&[
        "finetune",
        "--model",
        s(&model),
        "--data",
        s(&train),
        "--merge-lora",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--lora"), "{}", stderr(&o));
}

#[test]
fn eval_and_predict_open_an_unmerged_lora_run() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let train = reviews_jsonl(tmp.path(), "train.jsonl", 4);
    let test = reviews_jsonl(tmp.path(), "test.jsonl", 1);
    let dir = tmp.path().join("run");
    let run = summary(&graft(&[
        "finetune",
        "--model",
        s(&model),
        "--data",
        s(&train),
        "--test",
        s(&test),
        "--epochs",
        "3",
        "--optimizer",
        "adamw",
        "--lr",
        "0.01",
        "--batch-size",
        "8",
        "--lora",
        "4",
        "--out",
        s(&dir),
        "--json",
    ]));
    // No merged copy: the run holds the base weights with its adapters, not a model folder.
    assert!(!dir.join("config.json").exists());
    let e = summary(&graft(&["eval", s(&dir), "--data", s(&test), "--json"]));
    assert_eq!(e["n"], 12, "{e}");
    assert_eq!(
        e["accuracy"], run["accuracy"],
        "eval {e} vs the run's {run}"
    );
    assert_eq!(e["confusion"], run["test"]["confusion"]);

    // Predictions for every text of a file, named FILE:N, the text beside them.
    let o = graft(&["predict", s(&dir), s(&test), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = p.as_array().unwrap();
    assert_eq!(p.len(), 12);
    assert_eq!(p[0]["path"], format!("{}:1", test.display()));
    assert_eq!(p[0]["text"], POSITIVE[0]);
    let top = p[0]["top"].as_array().unwrap();
    assert_eq!(top.len(), 2);
    let total: f64 = top.iter().map(|t| t["probability"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    // The same as CSV: a header and one line per text and class.
    let o = graft(&["predict", s(&dir), s(&test), "--top-k", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.lines().count(), 13, "{csv}");
    assert!(csv.starts_with("path,rank,class,probability\n"));

    // Labels the run never saw are named.
    let other = tmp.path().join("other.jsonl");
    std::fs::write(&other, "{\"text\": \"fine\", \"label\": \"neutral\"}\n").unwrap();
    let o = graft(&["eval", s(&dir), "--data", s(&other)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("neutral"), "{}", stderr(&o));
}

#[test]
fn auto_tries_every_text_strategy_against_a_from_scratch_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = reviews_jsonl(tmp.path(), "target.jsonl", 3);
    let source = reviews_jsonl(tmp.path(), "source.jsonl", 4);
    let test = reviews_jsonl(tmp.path(), "test.jsonl", 1);
    let out = tmp.path().join("auto");
    let o = graft(&[
        "auto",
        "--data",
        s(&data),
        "--models",
        s(&model),
        "--source",
        s(&source),
        "--target-unlabelled",
        s(&test),
        "--test",
        s(&test),
        "--budget",
        "5m",
        "--threads",
        "1",
        "--out",
        s(&out),
        "--json",
    ]);
    let v = summary(&o);
    let rows = v["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "target only, bag of words",
            "source model",
            "linear probe",
            "partial fine-tuning",
            "LoRA fine-tuning",
            "full fine-tuning",
            "target only",
            "self-training",
            "DANN",
            "CDAN+E + self-training",
        ],
        "{v}"
    );
    for r in rows {
        assert_eq!(r["status"], "finished", "{r}");
    }
    // The baseline trains the folder's architecture from random weights: no weights file.
    let baseline = out.join("trials/target-only");
    let recipe = std::fs::read_to_string(baseline.join("recipe.toml")).unwrap();
    assert!(recipe.contains("command = \"pretrain\""), "{recipe}");
    assert!(!recipe.contains("weights_sha256"), "{recipe}");
    // The cheap baseline: TF-IDF rows of the same texts, one column per word piece seen.
    let bow = graft_data::arrays::open_array_spec(s(&out.join("split/bow-train.npz"))).unwrap();
    let train = graft_data::arrays::open_array_spec(s(&out.join("split/bow-all.npz"))).unwrap();
    assert_eq!(
        (bow.dim(), bow.class_names),
        (train.dim(), train.class_names)
    );
    assert!(
        rows[0]["transfer"] == false && rows[0]["command"] == "probe",
        "{}",
        rows[0]
    );
    // The splits are texts, and the winner was measured on the test set.
    assert!(out.join("split/train.jsonl").exists());
    assert!(v["winner"]["test_accuracy"].as_f64().is_some(), "{v}");
    assert!(out.join("winner.toml").exists());
}

#[test]
fn adapt_runs_a_domain_loss_through_a_text_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let source = reviews_jsonl(tmp.path(), "source.jsonl", 2);
    // The target: longer texts (so its batches are longer than the source's), no labels.
    let target = tmp.path().join("target.jsonl");
    let lines: String = POSITIVE
        .iter()
        .chain(NEGATIVE.iter())
        .map(|t| serde_json::json!({"text": format!("{t} and {t}")}).to_string() + "\n")
        .collect();
    std::fs::write(&target, lines).unwrap();
    let test = reviews_jsonl(tmp.path(), "test.jsonl", 1);
    let out = tmp.path().join("run");
    let o = graft(&[
        "adapt",
        "--model",
        s(&model),
        "--source",
        s(&source),
        "--target-unlabelled",
        s(&target),
        "--target-test",
        s(&test),
        "--method",
        "dann",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--optimizer",
        "adamw",
        "--lr",
        "0.001",
        "--max-length",
        "16",
        "--projection-samples",
        "0",
        "--out",
        s(&out),
        "--json",
    ]);
    let v = summary(&o);
    assert_eq!(v["method"], "dann");
    assert_eq!(v["epochs_run"], 2);
    assert!(v["accuracy"].as_f64().is_some(), "{v}");
    assert!(v["domain_accuracy"].as_f64().is_some(), "{v}");

    let o = graft(&[
        "adapt",
        "--model",
        s(&model),
        "--source",
        s(&source),
        "--target-unlabelled",
        s(&target),
        "--adabn",
        "--out",
        s(&tmp.path().join("run2")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("LayerNorm"), "{}", stderr(&o));
}
