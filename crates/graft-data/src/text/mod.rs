//! Labelled text for the text backbones: datasets read from JSONL, CSV/TSV columns, folders of
//! `.txt` files or the Blitzer et al. (2007) review files, and tokenisation with a Hugging Face
//! `tokenizer.json`.
//!
//! [`open_text`] picks the reader from the path: a `.jsonl`/`.ndjson`, `.csv`, `.tsv` or
//! `.review` file, or a directory (one subfolder of `.txt` files per class, else `*.review`
//! files). Every reader validates UTF-8 line by line and refuses blank texts unless asked to skip
//! them, so a bad row is reported with its file and line instead of reaching the model as noise.
//! [`TextTokenizer`] turns texts into the `input_ids` / `attention_mask` / `token_type_ids` a
//! BERT-style encoder takes, padded per batch.

mod dataset;
mod delimited;
mod folder;
mod jsonl;
mod labels;
mod review;
mod source;
mod tokenizer;

pub use dataset::{TextDataset, TextOptions};
pub use tokenizer::{TextTokenizer, TokenBatch};

use crate::error::{DataError, Result};
use std::path::Path;

/// Reads a labelled (or unlabelled) text dataset, choosing the format from `path`:
///
/// - `.jsonl` / `.ndjson`: one JSON object per line with the text and label fields of `opts`;
/// - `.csv` / `.tsv`: a header row naming the text and label columns;
/// - `.review`: one Blitzer review file, its stem the class (`unlabeled` = no label);
/// - a directory: one subfolder per class holding `.txt` files, or else `*.review` files.
pub fn open_text(path: &Path, opts: &TextOptions) -> Result<TextDataset> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, "open", e))?;
    if meta.is_dir() {
        return folder::open_dir(path, opts);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "jsonl" | "ndjson" => jsonl::open_jsonl(path, opts),
        "csv" => delimited::open_delimited(path, b',', opts),
        "tsv" => delimited::open_delimited(path, b'\t', opts),
        "review" => review::open_review_file(path, opts),
        _ => Err(DataError::format(
            path,
            format!(
                "unknown text format '.{ext}'; expected .jsonl, .ndjson, .csv, .tsv, .review \
                 or a directory"
            ),
        )),
    }
}
