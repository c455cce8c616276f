//! Every layout `open_text` reads, on small files written here: what texts, labels and class
//! names come out, in which order.

use graft_data::text::{open_text, TextDataset, TextOptions};
use std::path::{Path, PathBuf};

fn write(dir: &Path, rel: &str, content: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

fn open(path: &Path) -> TextDataset {
    open_text(path, &TextOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn unlabelled() -> TextOptions {
    TextOptions {
        label_column: None,
        ..TextOptions::default()
    }
}

#[test]
fn jsonl_with_string_labels_sorts_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "train.jsonl",
        "{\"text\": \"great book\", \"label\": \"pos\", \"id\": 1}\n\
         \n\
         {\"label\": \"neg\", \"text\": \"dull\"}\r\n\
         {\"text\": \"fine\\nreally\", \"label\": \"neutral\"}\n   \n",
    );
    let d = open(&p);
    assert_eq!(d.texts, ["great book", "dull", "fine\nreally"]);
    assert_eq!(d.class_names, ["neg", "neutral", "pos"]);
    assert_eq!(d.labels, [2, 0, 1]);
    assert_eq!((d.source.as_path(), d.skipped_empty), (p.as_path(), 0));
    assert_eq!(d.class_counts(), [1, 1, 1]);
}

#[test]
fn jsonl_integer_labels_keep_their_value_and_custom_fields_work() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.ndjson",
        "{\"sentence\": \"a\", \"y\": 2}\n{\"sentence\": \"b\", \"y\": 0}\n",
    );
    let opts = TextOptions {
        text_column: "sentence".into(),
        label_column: Some("y".into()),
        skip_empty: false,
    };
    let d = open_text(&p, &opts).unwrap();
    assert_eq!(d.labels, [2, 0]);
    assert_eq!(d.class_names, ["0", "1", "2"]);
    // Unlabelled: the label field is not even looked at.
    let p = write(
        dir.path(),
        "u.jsonl",
        "{\"text\": \"x\"}\n{\"text\": \"y\"}\n",
    );
    let d = open_text(&p, &unlabelled()).unwrap();
    assert_eq!(d.labels, [-1, -1]);
    assert!(d.class_names.is_empty());
    assert!(!d.is_labelled());
}

#[test]
fn csv_reads_quoted_multiline_fields_and_ignores_other_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "reviews.csv",
        "\u{feff}id,label,text\n\
         1,pos,\"Loved it, truly.\nWould buy \"\"again\"\".\"\n\
         2,neg,meh\n\
         3, pos ,ok\n",
    );
    let d = open(&p);
    assert_eq!(
        d.texts,
        ["Loved it, truly.\nWould buy \"again\".", "meh", "ok"]
    );
    assert_eq!(d.class_names, ["neg", "pos"]);
    assert_eq!(d.labels, [1, 0, 1]);
}

#[test]
fn csv_integer_column_is_class_indices_and_tsv_uses_tabs() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.csv", "text,label\nx,1\ny,0\nz,1\n");
    let d = open(&p);
    assert_eq!(d.labels, [1, 0, 1]);
    assert_eq!(d.class_names, ["0", "1"]);
    // A column mixing numbers and names is names, as pandas reads it.
    let p = write(dir.path(), "b.csv", "text,label\nx,1\ny,pos\n");
    let d = open(&p);
    assert_eq!(d.class_names, ["1", "pos"]);
    let p = write(dir.path(), "c.tsv", "label\ttext\npos\ta, b, c\nneg\td\n");
    let d = open(&p);
    assert_eq!(d.texts, ["a, b, c", "d"]);
    assert_eq!(d.labels, [1, 0]);
    let d = open_text(&p, &unlabelled()).unwrap();
    assert_eq!(d.labels, [-1, -1]);
}

#[test]
fn class_folders_are_sorted_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("corpus");
    write(&root, "sports/b.txt", "match report\n");
    write(&root, "sports/a.txt", "  goal!  \n\n");
    write(&root, "politics/z.TXT", "vote");
    write(&root, "politics/notes.md", "ignored");
    write(&root, ".hidden/x.txt", "ignored");
    let d = open(&root);
    assert_eq!(d.class_names, ["politics", "sports"]);
    assert_eq!(d.texts, ["vote", "goal!", "match report"]);
    assert_eq!(d.labels, [0, 1, 1]);
    let d = open_text(&root, &unlabelled()).unwrap();
    assert_eq!((d.labels, d.class_names.len()), (vec![-1; 3], 0));
}

const REVIEWS_NEG: &str =
    "<reviews>\n<review>\n<rating>\n1.0\n</rating>\n<title>\nBroke & died\n</title>\n\
<review_text>\nStopped after 2 days <sigh>.\n</review_text>\n</review>\n</reviews>\n";
const REVIEWS_POS: &str = "<review>\n<title>\nLove it\n</title>\n<review_text>\nA &quot;must&quot;\n\
</review_text>\n</review>\n<review>\n<title>\n\n</title>\n<review_text>\nNo title\n</review_text>\n</review>\n";
const REVIEWS_UNL: &str =
    "<review>\n<title>T</title>\n<review_text>\nunknown\n</review_text>\n</review>\n";

#[test]
fn review_folders_label_by_file_stem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("kitchen");
    write(&root, "positive.review", REVIEWS_POS);
    write(&root, "unlabeled.review", REVIEWS_UNL);
    write(&root, "negative.review", REVIEWS_NEG);
    write(&root, "README", "not a review");
    let d = open(&root);
    assert_eq!(d.class_names, ["negative", "positive"]);
    assert_eq!(
        d.texts,
        [
            "Broke & died. Stopped after 2 days <sigh>.",
            "Love it. A &quot;must&quot;",
            "No title",
            "T. unknown"
        ]
    );
    assert_eq!(d.labels, [0, 1, 1, -1]);
    assert_eq!(d.source, root);
}

#[test]
fn a_single_review_file_is_one_class_or_unlabelled() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "positive.review", REVIEWS_POS);
    let d = open(&p);
    assert_eq!(d.labels, [0, 0]);
    assert_eq!(d.class_names, ["positive"]);
    let p = write(dir.path(), "unlabelled.review", REVIEWS_UNL);
    let d = open(&p);
    assert_eq!(d.labels, [-1]);
    assert!(d.class_names.is_empty());
}

#[test]
fn skip_empty_drops_and_counts_blank_texts() {
    let dir = tempfile::tempdir().unwrap();
    let skip = TextOptions {
        skip_empty: true,
        ..TextOptions::default()
    };
    let p = write(
        dir.path(),
        "e.jsonl",
        "{\"text\": \" \\t \", \"label\": \"only-on-a-blank-row\"}\n{\"text\": \"kept\", \"label\": \"a\"}\n",
    );
    let d = open_text(&p, &skip).unwrap();
    assert_eq!(d.texts, ["kept"]);
    assert_eq!(d.skipped_empty, 1);
    assert_eq!(d.class_names, ["a"]);
    let p = write(dir.path(), "e.csv", "text,label\n,a\nkept,a\n\"  \",b\n");
    assert_eq!(open_text(&p, &skip).unwrap().skipped_empty, 2);
    let root = dir.path().join("folders");
    write(&root, "a/1.txt", "\n");
    write(&root, "a/2.txt", "x");
    assert_eq!(open_text(&root, &skip).unwrap().skipped_empty, 1);
}
