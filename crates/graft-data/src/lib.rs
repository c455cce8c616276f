//! Datasets and loaders for graft: image folders and manifests, array files (IDX, .npz,
//! svmlight, CSV, safetensors features), preprocessing and a parallel, bounded, deterministic
//! batch loader. No deep-learning dependency: batches are plain `f32` buffers.
//!
//! - [`image_folder`]: torchvision `ImageFolder` layouts and CSV manifests ([`ImageDataset`]).
//! - [`image_io`]: decoding and the torchvision/PIL preprocessing pipeline, bit-exact with PIL's
//!   resampling, driven by a [`preprocess::Preprocess`] recipe.
//! - [`jpeg_reduced`]: JPEGs decoded at 1/2, 1/4 or 1/8 size when the resize would discard
//!   that resolution anyway.
//! - [`loader`]: batches of preprocessed images, decoded in parallel a bounded number of batches
//!   ahead, in an order fixed by the seed.
//! - [`arrays`]: numeric datasets ([`ArrayDataset`]) from IDX, .npz/.npy, svmlight, CSV tables
//!   and feature files; [`npy`] is the NumPy format itself.
//! - [`features`]: the feature file of `graft extract` ([`FeatureSet`]), safetensors or npz.
//! - [`text`]: labelled text (JSONL, CSV columns, folders of .txt, Blitzer review files) and
//!   tokenisation from a Hugging Face `tokenizer.json`.
//! - [`atomic`]: every file graft writes goes through a temporary and a rename.
//!
//! Every error is a [`DataError`] that names the file, where in it, and what was expected.

pub mod arrays;
pub mod atomic;
mod csv_table;
pub mod error;
pub mod features;
mod idx;
pub mod image_folder;
pub mod image_io;
pub mod jpeg_reduced;
pub mod loader;
pub mod npy;
pub mod preprocess;
mod resample;
mod svmlight;
pub mod synth_digits;
pub mod testdata;
pub mod text;

pub use arrays::ArrayDataset;
pub use error::{DataError, Result};
pub use features::FeatureSet;
pub use image_folder::ImageDataset;
