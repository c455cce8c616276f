//! Bad text inputs are errors that say which file, which line and what was expected.

use graft_data::text::{open_text, TextOptions};
use graft_data::DataError;
use std::path::{Path, PathBuf};

fn write(dir: &Path, rel: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

/// The error of opening `rel` (written with `content`; a nested `rel` opens its top folder),
/// checked to name the file.
fn error_of(rel: &str, content: &[u8], opts: &TextOptions) -> (DataError, String) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), rel, content);
    let top = Path::new(rel).components().next().unwrap();
    let err = open_text(&dir.path().join(top), opts).expect_err("expected an error");
    let msg = err.to_string();
    let name = Path::new(rel).file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "message does not name {name}: {msg}");
    (err, msg)
}

fn msg_of(rel: &str, content: &[u8]) -> String {
    error_of(rel, content, &TextOptions::default()).1
}

fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected {p:?} in: {msg}");
    }
}

#[test]
fn invalid_utf8_names_the_line_in_every_format() {
    let jsonl = b"{\"text\": \"ok\", \"label\": 0}\n{\"text\": \"caf\xe9\", \"label\": 0}\n";
    let (err, msg) = error_of("d.jsonl", jsonl, &TextOptions::default());
    assert!(matches!(err, DataError::Parse { line: 2, .. }), "{msg}");
    assert_has(&msg, &["d.jsonl:2:", "invalid UTF-8"]);
    assert_has(
        &msg_of("d.csv", b"text,label\n\"a\nb\",0\nc\xff,1\n"),
        &["d.csv:4:", "invalid UTF-8"],
    );
    assert_has(
        &msg_of("d/pos/1.txt", b"line one\n\xc3("),
        &["1.txt:2:", "invalid UTF-8"],
    );
    assert_has(
        &msg_of(
            "positive.review",
            b"<review>\n<review_text>\n\x80\n</review_text></review>",
        ),
        &["positive.review:3:", "invalid UTF-8"],
    );
}

#[test]
fn blank_texts_are_errors_with_their_line() {
    let (err, msg) = error_of(
        "d.jsonl",
        b"{\"text\": \"a\", \"label\": 0}\n\n{\"text\": \"  \", \"label\": 0}\n",
        &TextOptions::default(),
    );
    assert!(matches!(err, DataError::Parse { line: 3, .. }), "{msg}");
    assert_has(&msg, &["d.jsonl:3:", "field 'text' is blank", "non-blank"]);
    assert_has(
        &msg_of("d.csv", b"text,label\nfine,a\n\"\n\",b\n"),
        &["d.csv:3:", "column 'text' is blank"],
    );
    assert_has(
        &msg_of("d/neg/empty.txt", b" \n"),
        &["empty.txt:1:", "blank"],
    );
    assert_has(
        &msg_of(
            "negative.review",
            b"<review><title>\n</title><review_text>\n\n</review_text></review>",
        ),
        &["negative.review:1:", "review is blank"],
    );
}

#[test]
fn missing_fields_and_columns_list_what_is_there() {
    assert_has(
        &msg_of(
            "d.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"body\": \"b\", \"label\": 1}\n",
        ),
        &["d.jsonl:2:", "no field 'text'", "fields: body, label"],
    );
    assert_has(
        &msg_of(
            "d.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n",
        ),
        &["d.jsonl:2:", "no field 'label'", "fields: text"],
    );
    let opts = TextOptions {
        label_column: Some("sentiment".into()),
        ..TextOptions::default()
    };
    let (_, msg) = error_of("d.csv", b"review,text,label\nx,y,z\n", &opts);
    assert_has(
        &msg,
        &[
            "d.csv:1:",
            "no column named 'sentiment'",
            "columns: review, text, label",
        ],
    );
    assert_has(
        &msg_of("d.tsv", b"body\tlabel\nx\t1\n"),
        &["d.tsv:1:", "no column named 'text'", "columns: body, label"],
    );
    assert_has(
        &msg_of("d.csv", b"text,label\na,1\nb\n"),
        &["d.csv:3:", "1 fields", "column 'label' (field 2)"],
    );
    assert_has(
        &msg_of("d.csv", b"text,label\na,1\nb,\n"),
        &["d.csv:3:", "column 'label' is empty"],
    );
}

#[test]
fn bad_json_and_bad_labels_name_the_line() {
    assert_has(
        &msg_of(
            "d.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 1\n",
        ),
        &[
            "d.jsonl:2:",
            "invalid JSON at column",
            "one JSON object per line",
        ],
    );
    assert_has(
        &msg_of("d.jsonl", b"[\"a\", 1]\n"),
        &["d.jsonl:1:", "an array", "expected a JSON object"],
    );
    assert_has(
        &msg_of("d.jsonl", b"{\"text\": 5, \"label\": 1}\n"),
        &[
            "d.jsonl:1:",
            "field 'text' is a number",
            "expected a string",
        ],
    );
    assert_has(
        &msg_of("d.jsonl", b"{\"text\": \"a\", \"label\": 0.5}\n"),
        &[
            "d.jsonl:1:",
            "field 'label' is a number (0.5)",
            "string or an integer",
        ],
    );
    assert_has(
        &msg_of("d.jsonl", b"{\"text\": \"a\", \"label\": null}\n"),
        &["d.jsonl:1:", "field 'label' is null"],
    );
    assert_has(
        &msg_of(
            "d.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": \"pos\"}\n",
        ),
        &["d.jsonl:3:", "label is a string", "line 1 is an integer"],
    );
    assert_has(
        &msg_of("d.jsonl", b"{\"text\": \"a\", \"label\": -1}\n"),
        &["d.jsonl:1:", "label -1 is not a class index"],
    );
    assert_has(
        &msg_of("d.csv", b"text,label\na,0\nb,-3\n"),
        &["d.csv:3:", "label -3 is not a class index"],
    );
}

#[test]
fn empty_datasets_and_layouts_are_refused() {
    assert_has(
        &msg_of("d.jsonl", b"\n\n"),
        &["no texts found", "at least one"],
    );
    assert_has(&msg_of("d.csv", b"text,label\n"), &["no texts found"]);
    let skip = TextOptions {
        skip_empty: true,
        ..TextOptions::default()
    };
    let (_, msg) = error_of("d.jsonl", b"{\"text\": \"\", \"label\": 0}\n", &skip);
    assert_has(&msg, &["all 1 texts are blank"]);
    assert_has(
        &msg_of("x.review", b"<reviews></reviews>"),
        &["no texts found"],
    );
    assert_has(
        &msg_of("d.parquet", b"PAR1"),
        &["unknown text format '.parquet'", ".jsonl"],
    );

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.jsonl");
    let err = open_text(&missing, &TextOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    let nothing = dir.path().join("nothing");
    write(&nothing, "notes.md", b"x");
    let msg = open_text(&nothing, &TextOptions::default())
        .unwrap_err()
        .to_string();
    assert_has(
        &msg,
        &["nothing", "no class subfolders and no .review files"],
    );
    let classes = dir.path().join("classes");
    write(&classes, "a/1.txt", b"x");
    write(&classes, "b/readme.md", b"x");
    let msg = open_text(&classes, &TextOptions::default())
        .unwrap_err()
        .to_string();
    assert_has(&msg, &["class folder 'b' holds no .txt files"]);
}

#[test]
fn truncated_review_files_are_errors() {
    assert_has(
        &msg_of(
            "negative.review",
            b"<review><review_text>a</review_text></review>\n<review>\n<title>x</title>\n",
        ),
        &["negative.review:2:", "<review> is not closed"],
    );
}
