//! Tokenisation with a Hugging Face `tokenizer.json` (the `tokenizers` library that
//! `transformers`' fast tokenizers run), so ids match what the checkpoint was trained on.
//!
//! sentence-transformers ship `tokenizer.json` files that truncate and pad to a fixed 128;
//! both are replaced here: truncation to the caller's `max_length` (longest-first, special
//! tokens counted, as `tokenizer(..., truncation=True, max_length=n)` does) and padding to the
//! longest text of each batch, so short batches cost short sequences.

use crate::error::{DataError, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tokenizers::{
    PaddingDirection, PaddingParams, PaddingStrategy, PostProcessor, Tokenizer,
    TruncationDirection, TruncationParams, TruncationStrategy,
};

/// Pad tokens tried, in order, when the file has no padding section.
const PAD_TOKENS: &[&str] = &["[PAD]", "<pad>", "<|padding|>"];

/// A loaded tokenizer with the truncation and padding rules above.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    path: PathBuf,
    max_length: usize,
    pad_id: u32,
    vocab_size: usize,
}

/// Token ids of a batch of texts, row-major `batch x len`, right-padded with the pad id to the
/// longest text of the batch; the layout of `input_ids`, `attention_mask` and `token_type_ids`
/// that BERT-style encoders take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBatch {
    pub ids: Vec<i64>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<i64>,
    pub type_ids: Vec<i64>,
    pub batch: usize,
    pub len: usize,
    /// Texts that were cut to `max_length`.
    pub truncated: usize,
}

impl TokenBatch {
    /// Token ids of text `i` (padding included).
    pub fn row(&self, i: usize) -> &[i64] {
        &self.ids[i * self.len..(i + 1) * self.len]
    }
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("path", &self.path)
            .field("max_length", &self.max_length)
            .field("pad_id", &self.pad_id)
            .field("vocab_size", &self.vocab_size)
            .finish()
    }
}

impl TextTokenizer {
    /// Loads `tokenizer.json` and sets truncation to `max_length` tokens, special tokens
    /// included (so `max_length` is the sequence length the encoder sees).
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
        let mut inner = Tokenizer::from_bytes(&bytes).map_err(|e| {
            DataError::format(
                path,
                format!("cannot load the tokenizer: {e}; expected a Hugging Face tokenizer.json"),
            )
        })?;
        let specials = inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        if max_length <= specials {
            return Err(DataError::Options(format!(
                "{}: max_length {max_length} leaves no room for text; expected more than the \
                 {specials} special tokens the tokenizer adds",
                path.display()
            )));
        }
        let (pad_id, pad_type_id, pad_token) = match inner.get_padding() {
            Some(p) => (p.pad_id, p.pad_type_id, p.pad_token.clone()),
            None => PAD_TOKENS
                .iter()
                .find_map(|t| inner.token_to_id(t).map(|id| (id, 0, t.to_string())))
                // Without a pad token any id works: the attention mask hides padding.
                .unwrap_or((0, 0, String::new())),
        };
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| DataError::format(path, format!("cannot set truncation: {e}")))?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            direction: PaddingDirection::Right,
            pad_to_multiple_of: None,
            pad_id,
            pad_type_id,
            pad_token,
        }));
        let vocab_size = inner.get_vocab_size(true);
        Ok(TextTokenizer {
            inner,
            path: path.to_path_buf(),
            max_length,
            pad_id,
            vocab_size,
        })
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn pad_id(&self) -> i64 {
        i64::from(self.pad_id)
    }

    /// Number of token ids, added tokens included: the embedding table must have this many rows.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The `tokenizer.json` this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn encode_error(&self, e: impl std::fmt::Display) -> DataError {
        DataError::format(&self.path, format!("cannot encode text: {e}"))
    }

    /// Encodes `texts` (in parallel) into one padded batch.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<TokenBatch> {
        let encodings = self
            .inner
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|e| self.encode_error(e))?;
        let batch = encodings.len();
        let len = encodings.iter().map(|e| e.len()).max().unwrap_or(0);
        let mut out = TokenBatch {
            ids: Vec::with_capacity(batch * len),
            attention_mask: Vec::with_capacity(batch * len),
            type_ids: Vec::with_capacity(batch * len),
            batch,
            len,
            truncated: 0,
        };
        let pad = i64::from(self.pad_id);
        for enc in &encodings {
            // With stride 0 the tokenizer keeps what it cut as overflowing pieces, and only
            // when it cut something.
            out.truncated += usize::from(!enc.get_overflowing().is_empty());
            let widen = |v: &[u32]| v.iter().map(|&x| i64::from(x)).collect::<Vec<_>>();
            let n = enc.len();
            out.ids.extend(widen(enc.get_ids()));
            out.attention_mask.extend(widen(enc.get_attention_mask()));
            out.type_ids.extend(widen(enc.get_type_ids()));
            // BatchLongest padding already made rows equal; this only guards the layout.
            out.ids.extend(std::iter::repeat_n(pad, len - n));
            out.attention_mask.extend(std::iter::repeat_n(0, len - n));
            out.type_ids.extend(std::iter::repeat_n(0, len - n));
        }
        Ok(out)
    }

    /// Token count of each text after truncation, special tokens included: sorting texts by it
    /// before batching keeps padding (and wasted compute) small.
    pub fn token_lengths(&self, texts: &[&str]) -> Result<Vec<usize>> {
        texts
            .par_iter()
            .map(|t| {
                // A single text pads to its own length under BatchLongest, i.e. not at all.
                self.inner
                    .encode_fast(*t, true)
                    .map(|e| e.len())
                    .map_err(|e| self.encode_error(e))
            })
            .collect()
    }
}
