//! Labelled texts as training data: read (JSONL, CSV/TSV, .txt folders, review files),
//! tokenised once with the model's own tokenizer, and held as token tensors that the training
//! engine batches like images.

use crate::observe::Observer;
use crate::text_features::TextArgs;
use anyhow::Context;
use graft_data::text::{open_text, TextDataset, TextOptions, TextTokenizer};
use graft_nn::train::Samples;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a run reads its texts, kept in its recipe so that `--resume` reads them the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRecipe {
    pub text_column: String,
    pub label_column: String,
    /// Tokens per text, special tokens included.
    pub max_length: usize,
    pub skip_empty: bool,
}

impl TextRecipe {
    pub fn new(args: &TextArgs, max_length: usize) -> Self {
        TextRecipe {
            text_column: args.text_column.clone(),
            label_column: args.label_column.clone(),
            max_length,
            skip_empty: args.skip_empty,
        }
    }

    /// How the reader takes the texts; without `labelled`, labels are not read.
    fn options(&self, labelled: bool) -> TextOptions {
        TextOptions {
            text_column: self.text_column.clone(),
            label_column: labelled.then(|| self.label_column.clone()),
            skip_empty: self.skip_empty,
        }
    }
}

/// The texts at `path`, tokenised with `tokenizer` (the model folder's `tokenizer.json`);
/// without `labelled`, labels are not read (an unlabelled target set).
pub fn open(
    path: &str,
    tokenizer: &Path,
    recipe: &TextRecipe,
    labelled: bool,
    obs: &mut dyn Observer,
) -> anyhow::Result<Samples> {
    tokenize(read(path, recipe, labelled)?, path, tokenizer, recipe, obs)
}

/// The texts at `path` as `recipe` reads them; without `labelled`, labels are not read.
pub fn read(path: &str, recipe: &TextRecipe, labelled: bool) -> anyhow::Result<TextDataset> {
    open_text(Path::new(path), &recipe.options(labelled))
        .with_context(|| format!("reading the texts at {path}"))
}

/// `ds` (read from `path`) tokenised with `tokenizer` and cut to the recipe's token limit; the
/// texts cut and the empty ones left out are reported on `obs`.
pub fn tokenize(
    ds: TextDataset,
    path: &str,
    tokenizer: &Path,
    recipe: &TextRecipe,
    obs: &mut dyn Observer,
) -> anyhow::Result<Samples> {
    let tok = TextTokenizer::from_file(tokenizer, recipe.max_length)?;
    let texts: Vec<&str> = ds.texts.iter().map(String::as_str).collect();
    let b = tok.encode_batch(&texts)?;
    if b.truncated > 0 {
        obs.info(&format!(
            "{path}: {} of {} texts were longer than {} tokens and were cut",
            b.truncated,
            ds.len(),
            recipe.max_length
        ));
    }
    if ds.skipped_empty > 0 {
        obs.info(&format!(
            "{path}: {} empty texts left out",
            ds.skipped_empty
        ));
    }
    Ok(Samples::from_tokens(
        &b.ids,
        &b.attention_mask,
        &b.type_ids,
        b.batch,
        b.len,
        ds.labels,
        ds.class_names,
        path,
    )?)
}
