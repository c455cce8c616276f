//! Reading pretrained weights as they are published (safetensors, PyTorch .pth in zip and legacy
//! formats, Hugging Face cache folders) and matching them, strictly, against a model.

pub mod apply;
pub mod hf;
pub mod pickle;
pub mod pth;
pub mod safetensors;
pub mod save;
pub mod state_dict;

pub use apply::{load_into, LoadOptions, LoadReport};
pub use state_dict::StateDict;

use crate::{NnError, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a weights argument points: a file, or `hf:ORG/NAME[@REVISION]` in the Hugging Face cache.
pub fn resolve(spec: &str) -> Result<PathBuf> {
    if spec.starts_with("hf:") {
        hf::resolve(spec)
    } else {
        let p = PathBuf::from(spec);
        if p.is_dir() {
            hf::weights_file_in(&p)
        } else {
            Ok(p)
        }
    }
}

/// Reads a weights file, choosing the format from its first bytes, not its name: safetensors
/// (an 8-byte little-endian header length, then `{`), a zip archive (`PK`, PyTorch >= 1.6), or a
/// legacy pickle stream (`0x80` protocol marker).
pub fn read(path: &Path) -> Result<StateDict> {
    let mut head = [0u8; 9];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| NnError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let head = &head[..n];
    if head.starts_with(b"PK") || head.first() == Some(&0x80) {
        pth::read(path)
    } else if head.len() == 9 && head[8] == b'{' {
        safetensors::read(path)
    } else {
        Err(NnError::BadWeights {
            path: path.to_path_buf(),
            what: "not a weights file: expected safetensors, or a PyTorch .pth (zip or legacy \
                   pickle)"
                .into(),
        })
    }
}

/// Hex SHA-256 of a file, recorded with every output so a run names the exact weights it used.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |source| NnError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf).map_err(io)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
