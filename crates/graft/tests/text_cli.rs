//! Text through the real binary: `graft extract`, `graft probe` and `graft rank` with a text
//! model folder (a small generated BERT encoder and WordPiece tokenizer), and bad text input
//! named by file, line and field.

mod common;

use common::{graft, s, stderr, summary};
use graft_nn::models::bert::tiny::write_tiny_model;
use std::path::{Path, PathBuf};

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
    let o = graft(&[
        "extract",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--json",
        "--max-length",
        "6",
    ]);
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
    let o = graft(&[
        "extract",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--out",
        s(&out2),
        "--json",
        "--stage",
        "embeddings",
    ]);
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
    let extract = |data: &Path, extra: &[&str]| {
        let mut args = vec![
            "extract",
            "--model",
            s(&model),
            "--data",
            s(data),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        let o = graft(&args);
        assert!(!o.status.success());
        stderr(&o)
    };
    let data = reviews_jsonl(tmp.path(), "reviews.jsonl", 1);
    let e = extract(&data, &["--label-column", "stars"]);
    assert!(e.contains("reviews.jsonl") && e.contains("stars"), "{e}");

    let bad = tmp.path().join("bad.jsonl");
    let mut bytes = b"{\"text\": \"good\", \"label\": \"positive\"}\n".to_vec();
    bytes.extend(b"{\"text\": \"bad \xff\xfe\", \"label\": \"negative\"}\n");
    std::fs::write(&bad, bytes).unwrap();
    let e = extract(&bad, &[]);
    assert!(e.contains("bad.jsonl:2") && e.contains("UTF-8"), "{e}");

    let empty = tmp.path().join("empty.csv");
    std::fs::write(&empty, "text,label\ngood book,positive\n  ,negative\n").unwrap();
    let e = extract(&empty, &[]);
    assert!(e.contains("empty.csv:3") && e.contains("empty"), "{e}");
    let o = graft(&[
        "extract",
        "--model",
        s(&model),
        "--data",
        s(&empty),
        "--out",
        s(&out),
        "--skip-empty",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let e = extract(&data, &["--weights", "x.safetensors"]);
    assert!(
        e.contains("--weights does not apply to a text model"),
        "{e}"
    );
    let e = extract(&data, &["--max-length", "4096"]);
    assert!(
        e.contains("--max-length 4096 exceeds the 20 positions"),
        "{e}"
    );
}
