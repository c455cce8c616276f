//! `TextTokenizer` against all-MiniLM-L6-v2's own tokenizer: the golden ids that
//! sentence-transformers produced, and the Python `tokenizers` package's ids for truncated
//! and untruncated batches (`scripts/reference/minilm_tokens.py`).

use graft_data::npy::{NpyData, NpzFile};
use graft_data::testdata::data_dir_or_skip;
use graft_data::text::{TextTokenizer, TokenBatch};
use graft_data::DataError;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SEP: i64 = 102;
const CLS: i64 = 101;

fn tokenizer_json() -> Option<PathBuf> {
    data_dir_or_skip("all_minilm_l6_v2/tokenizer.json")
}

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text/minilm_tokens.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x.as_array() {
            Some(row) => row.iter().map(|y| y.as_i64().unwrap()).collect(),
            None => vec![x.as_i64().unwrap()],
        })
        .collect()
}

#[test]
fn golden_sentences_match_sentence_transformers() {
    let Some(tok_path) = tokenizer_json() else {
        return;
    };
    let Some(golden) = data_dir_or_skip("all_minilm_l6_v2/golden") else {
        return;
    };
    let sentences: Value =
        serde_json::from_str(&std::fs::read_to_string(golden.join("sentences.json")).unwrap())
            .unwrap();
    let sentences: Vec<&str> = sentences["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let tok = TextTokenizer::from_file(&tok_path, 256).unwrap();
    let b = tok.encode_batch(&sentences).unwrap();
    let mut npz = NpzFile::open(&golden.join("minilm_golden.npz")).unwrap();
    for (key, got) in [
        ("input_ids", &b.ids),
        ("attention_mask", &b.attention_mask),
        ("token_type_ids", &b.type_ids),
    ] {
        let a = npz.array(key).unwrap();
        assert_eq!(a.shape, [4, 17], "{key}");
        let NpyData::Int(want) = a.data else {
            panic!("{key}: expected integers, got {}", a.descr)
        };
        assert_eq!(got, &want, "{key}");
    }
    assert_eq!((b.batch, b.len, b.truncated), (4, 17, 0));
    assert_eq!(tok.pad_id(), 0);
    assert_eq!(tok.vocab_size(), 30522);
}

fn check_batch(b: &TokenBatch, want: &Value, what: &str) {
    let len = want["len"].as_u64().unwrap() as usize;
    assert_eq!((b.batch, b.len), (9, len), "{what}");
    assert_eq!(b.ids, ints(&want["ids"]), "{what} ids");
    assert_eq!(
        b.attention_mask,
        ints(&want["attention_mask"]),
        "{what} mask"
    );
    assert_eq!(b.type_ids, ints(&want["type_ids"]), "{what} type ids");
    assert_eq!(
        b.truncated as i64,
        want["truncated"].as_i64().unwrap(),
        "{what}"
    );
}

#[test]
fn batches_match_the_python_tokenizers_package() {
    let Some(tok_path) = tokenizer_json() else {
        return;
    };
    let fx = fixture();
    let texts: Vec<&str> = fx["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for want in fx["batches"].as_array().unwrap() {
        let max_length = want["max_length"].as_u64().unwrap() as usize;
        let tok = TextTokenizer::from_file(&tok_path, max_length).unwrap();
        let what = format!("max_length {max_length}");
        check_batch(&tok.encode_batch(&texts).unwrap(), want, &what);
        let lengths: Vec<i64> = tok
            .token_lengths(&texts)
            .unwrap()
            .iter()
            .map(|&l| l as i64)
            .collect();
        assert_eq!(lengths, ints(&want["lengths"]), "{what} lengths");
    }
}

#[test]
fn long_texts_are_cut_to_max_length_and_counted() {
    let Some(tok_path) = tokenizer_json() else {
        return;
    };
    let tok = TextTokenizer::from_file(&tok_path, 16).unwrap();
    assert_eq!(tok.max_length(), 16);
    let long = "the quick brown fox jumps over the lazy dog ".repeat(20);
    // "a b c ... n" is 14 words + [CLS] + [SEP] = exactly 16: kept whole, not counted.
    let exact = "a b c d e f g h i j k l m n";
    let b = tok.encode_batch(&[&long, "short text", exact]).unwrap();
    assert_eq!((b.batch, b.len, b.truncated), (3, 16, 1));
    let row = b.row(0);
    assert_eq!(row[0], CLS);
    assert_eq!(row[15], SEP, "[SEP] must be the last id kept: {row:?}");
    assert!(b.attention_mask[..16].iter().all(|&m| m == 1));
    let short = b.row(1);
    assert_eq!(short[3], SEP);
    assert!(short[4..].iter().all(|&id| id == tok.pad_id()));
    assert_eq!(b.attention_mask[16..32].iter().sum::<i64>(), 4);
    assert_eq!(*b.row(2).last().unwrap(), SEP);
    assert_eq!(
        tok.token_lengths(&[&long, "short text", exact, ""])
            .unwrap(),
        [16, 4, 16, 2]
    );
    // A batch pads to its own longest text, not to the file's fixed 128.
    let b = tok.encode_batch(&["one", "one two"]).unwrap();
    assert_eq!((b.len, b.truncated), (4, 0));
    let empty = tok.encode_batch(&[]).unwrap();
    assert_eq!((empty.batch, empty.len, empty.ids.len()), (0, 0, 0));
}

#[test]
fn bad_tokenizer_files_and_lengths_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = TextTokenizer::from_file(&missing, 128).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    assert!(err.to_string().contains("nope.json"), "{err}");

    let bad = dir.path().join("tokenizer.json");
    std::fs::write(&bad, r#"{"version": "1.0", "model": 3}"#).unwrap();
    let msg = TextTokenizer::from_file(&bad, 128).unwrap_err().to_string();
    assert!(
        msg.contains("tokenizer.json") && msg.contains("cannot load the tokenizer"),
        "{msg}"
    );

    let Some(tok_path) = tokenizer_json() else {
        return;
    };
    for max_length in [0, 1, 2] {
        let msg = TextTokenizer::from_file(&tok_path, max_length)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("tokenizer.json"), "{msg}");
        assert!(msg.contains(&format!("max_length {max_length}")), "{msg}");
        assert!(msg.contains("2 special tokens"), "{msg}");
    }
    assert!(TextTokenizer::from_file(&tok_path, 3).is_ok());
}
