//! The real Blitzer et al. (2007) review files of the shared data folder, parsed as a regex
//! over the same tags parses them in Python (`scripts/reference/minilm_tokens.py`).

use graft_data::testdata::data_dir_or_skip;
use graft_data::text::{open_text, TextOptions};
use serde_json::Value;
use std::path::Path;

#[test]
fn books_has_1000_reviews_per_class_as_python_reads_them() {
    let Some(books) = data_dir_or_skip("amazon_reviews_raw/books") else {
        return;
    };
    let d = open_text(&books, &TextOptions::default()).unwrap();
    assert_eq!(d.len(), 2000);
    assert_eq!(d.class_names, ["negative", "positive"]);
    assert_eq!(d.class_counts(), [1000, 1000]);
    assert_eq!(d.skipped_empty, 0);
    assert!(d.texts.iter().all(|t| !t.trim().is_empty()));
    // negative.review is read first, in file order.
    assert!(d.labels[..1000].iter().all(|&l| l == 0));
    assert!(d.labels[1000..].iter().all(|&l| l == 1));

    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text/minilm_tokens.json");
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(fx).unwrap()).unwrap();
    for (class, offset) in [("negative", 0), ("positive", 1000)] {
        let want = &fx["reviews"][class];
        assert_eq!(want["count"], 1000);
        assert_eq!(
            d.texts[offset],
            want["first"].as_str().unwrap(),
            "{class} first"
        );
        assert_eq!(
            d.texts[offset + 999],
            want["last"].as_str().unwrap(),
            "{class} last"
        );
    }
}

#[test]
fn every_domain_reads_as_2000_labelled_reviews() {
    let Some(root) = data_dir_or_skip("amazon_reviews_raw") else {
        return;
    };
    for domain in ["books", "dvd", "electronics", "kitchen"] {
        let d = open_text(&root.join(domain), &TextOptions::default()).unwrap();
        assert_eq!(d.class_counts(), [1000, 1000], "{domain}");
        let single = open_text(
            &root.join(domain).join("positive.review"),
            &TextOptions::default(),
        )
        .unwrap();
        assert_eq!(single.class_names, ["positive"], "{domain}");
        assert_eq!(single.texts[..], d.texts[1000..], "{domain}");
    }
}
