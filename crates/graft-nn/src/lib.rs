//! The deep side of graft, on libtorch through tch: backbones and their registry, weight
//! loading (safetensors, PyTorch .pth, Hugging Face cache folders) and, later, the training
//! engine.

pub mod device;
pub mod error;
pub mod models;
pub mod precision;
pub mod train;
pub mod transfer;
pub mod weights;

pub use error::{NnError, Result};
