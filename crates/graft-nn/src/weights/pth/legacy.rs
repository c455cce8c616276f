//! The stream `torch.save` wrote before torch 1.6 (and still writes with
//! `_use_new_zipfile_serialization=False`): five pickles back to back (magic number, protocol
//! version, system info, the object itself, the sorted list of storage keys), then for each key
//! in that order an 8-byte little-endian element count and the raw little-endian elements.
//!
//! The whole file is read into memory, so loading briefly needs the file's size on top of the
//! tensors it holds.

use super::{bad, pickle_error, Records};
use crate::weights::pickle::{self, Pickle, StorageInfo, Value};
use crate::{NnError, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// `0x1950a86a20f9469cfc6c`, little-endian, as pickled by `torch.serialization.MAGIC_NUMBER`.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const PROTOCOL_VERSION: i64 = 1001;

pub(super) struct Legacy {
    path: PathBuf,
    data: Vec<u8>,
    /// Byte range of each storage's elements in `data`.
    ranges: HashMap<String, Range<usize>>,
}

pub(super) fn open(path: &Path) -> Result<(Pickle, Legacy)> {
    let data = std::fs::read(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut pos = 0;
    let mut next = |part: &str| -> Result<Pickle> {
        let (p, used) = pickle::parse(&data[pos..]).map_err(|e| pickle_error(path, part, e))?;
        pos += used;
        Ok(p)
    };
    let magic = next("magic number")?;
    if !matches!(magic.value(magic.root()), Value::BigInt(b) if b[..] == MAGIC) {
        return Err(bad(
            path,
            "not a PyTorch checkpoint: a pickle stream that does not start with torch.save's \
             magic number",
        ));
    }
    let version = next("protocol version")?;
    match version.value(version.root()) {
        Value::Int(PROTOCOL_VERSION) => {}
        other => {
            return Err(bad(
                path,
                format!(
                    "legacy checkpoint protocol version is {other:?}, expected {PROTOCOL_VERSION}"
                ),
            ))
        }
    }
    // System info (writer's byte order and C type sizes): the data that follows is
    // little-endian whatever it says.
    next("system info")?;
    let main = next("main pickle")?;
    let keys = next("storage key list")?;
    let Value::List(key_ids) = keys.value(keys.root()) else {
        return Err(bad(
            path,
            "the storage key list after the main pickle is not a list",
        ));
    };

    let mut ranges = HashMap::new();
    for &k in key_ids {
        let Some(key) = keys.as_str(k) else {
            return Err(bad(path, "the storage key list holds a non-string"));
        };
        let Some(&info) = main.storages().get(key) else {
            return Err(bad(
                path,
                format!("storage {key} is listed after the main pickle, which never refers to it"),
            ));
        };
        let header = data.get(pos..pos + 8).ok_or_else(|| {
            bad(
                path,
                format!("truncated: storage {key}'s element count is missing"),
            )
        })?;
        let numel = u64::from_le_bytes(header.try_into().expect("8 bytes"));
        pos += 8;
        if numel != info.numel {
            return Err(bad(
                path,
                format!(
                    "storage {key} holds {numel} elements, but the pickle declares {}",
                    info.numel
                ),
            ));
        }
        let left = (data.len() - pos) as u64;
        if info.nbytes() > left {
            return Err(bad(
                path,
                format!(
                    "truncated: storage {key} needs {} bytes ({} {} elements), only {left} remain",
                    info.nbytes(),
                    info.numel,
                    info.dtype.name()
                ),
            ));
        }
        let end = pos + info.nbytes() as usize;
        ranges.insert(key.to_string(), pos..end);
        pos = end;
    }
    Ok((
        main,
        Legacy {
            path: path.to_path_buf(),
            data,
            ranges,
        },
    ))
}

impl Records for Legacy {
    fn load(&mut self, key: &str, _info: StorageInfo) -> Result<Cow<'_, [u8]>> {
        match self.ranges.get(key) {
            Some(r) => Ok(Cow::Borrowed(&self.data[r.clone()])),
            None => Err(bad(
                &self.path,
                format!("storage {key} is used by a tensor but its data is not in the file"),
            )),
        }
    }
}
