//! The in-memory text dataset every reader returns, and the options they share.

use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// Texts with class labels; `labels[i]` indexes `class_names`, or is -1 for an unlabelled text
/// (the "no label" value of feature files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextDataset {
    pub texts: Vec<String>,
    pub labels: Vec<i64>,
    /// Label `i` means `class_names[i]`; empty when nothing is labelled.
    pub class_names: Vec<String>,
    /// The file or folder the dataset was read from.
    pub source: PathBuf,
    /// Blank texts dropped because [`TextOptions::skip_empty`] was set.
    pub skipped_empty: usize,
}

/// How [`open_text`](super::open_text) reads a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextOptions {
    /// JSON field or CSV column holding the text.
    pub text_column: String,
    /// JSON field or CSV column holding the label; `None` reads every format as unlabelled
    /// (folder and review layouts included).
    pub label_column: Option<String>,
    /// Drop blank texts (counted in [`TextDataset::skipped_empty`]) instead of failing: scraped
    /// corpora often hold a few, and a blank text only teaches the model its padding.
    pub skip_empty: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            text_column: "text".to_string(),
            label_column: Some("label".to_string()),
            skip_empty: false,
        }
    }
}

impl TextDataset {
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Whether any text has a label.
    pub fn is_labelled(&self) -> bool {
        self.labels.iter().any(|&l| l >= 0)
    }

    /// Number of texts per class (unlabelled texts are not counted).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &l in &self.labels {
            if let Some(c) = usize::try_from(l).ok().and_then(|l| counts.get_mut(l)) {
                *c += 1;
            }
        }
        counts
    }

    /// Assembles a dataset, refusing an empty one (an empty corpus is always a wrong path or
    /// a wrong column, never something to train on).
    pub(crate) fn build(
        source: &Path,
        texts: Vec<String>,
        labels: Vec<i64>,
        class_names: Vec<String>,
        skipped_empty: usize,
    ) -> Result<Self> {
        debug_assert_eq!(texts.len(), labels.len());
        if texts.is_empty() {
            let why = if skipped_empty > 0 {
                format!("all {skipped_empty} texts are blank")
            } else {
                "no texts found".to_string()
            };
            return Err(DataError::dataset(
                source,
                format!("{why}; expected at least one non-blank text"),
            ));
        }
        Ok(TextDataset {
            texts,
            labels,
            class_names,
            source: source.to_path_buf(),
            skipped_empty,
        })
    }
}

/// Whether a text read at `path:line` is kept: blank texts are an error naming `what` (the
/// field or tag the text came from) unless `skip_empty`, when they are counted in `skipped`.
pub(crate) fn keep_text(
    text: &str,
    path: &Path,
    line: usize,
    what: &str,
    opts: &TextOptions,
    skipped: &mut usize,
) -> Result<bool> {
    if !text.trim().is_empty() {
        return Ok(true);
    }
    if opts.skip_empty {
        *skipped += 1;
        return Ok(false);
    }
    Err(DataError::parse(
        path,
        line,
        format!("{what} is blank; expected a non-blank text (or skip empty texts)"),
    ))
}
