//! What a backbone reads, as the backbone itself describes it: images prepared the way its
//! weights expect, token ids of its tokenizer, or feature vectors of a width. Commands ask the
//! model instead of guessing from its name or from a tensor's dtype, so a new kind of input
//! (audio) is one more arm here.

use crate::train::SampleKind;
use graft_data::preprocess::Preprocess;

#[derive(Clone, Debug, PartialEq)]
pub enum ModelInput {
    /// Images, resized, cropped and normalised as the published weights were trained.
    Pixels(Preprocess),
    /// Token ids (with attention mask and token types) of at most `max_positions` tokens.
    Tokens { max_positions: i64 },
    /// Feature vectors of `width` values, taken as they are.
    Vectors { width: i64 },
}

impl ModelInput {
    pub fn kind(&self) -> SampleKind {
        match self {
            ModelInput::Pixels(_) => SampleKind::Pixels,
            ModelInput::Tokens { .. } => SampleKind::Tokens,
            ModelInput::Vectors { .. } => SampleKind::Vectors,
        }
    }

    /// The image preprocessing, for a model that reads images.
    pub fn preprocess(&self) -> Option<&Preprocess> {
        match self {
            ModelInput::Pixels(p) => Some(p),
            _ => None,
        }
    }
}
