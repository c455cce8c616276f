//! The zip container of torch >= 1.6: `ARCHIVE/data.pkl`, one record `ARCHIVE/data/<key>` per
//! storage, and `ARCHIVE/byteorder`. `ARCHIVE` is the file's stem when torch wrote to a path and
//! `archive` when it wrote to a buffer, so it is found, not assumed.

use super::{bad, pickle_error, swap_bytes, Records};
use crate::weights::pickle::{self, Pickle, StorageInfo};
use crate::{NnError, Result};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use zip::ZipArchive;

pub(super) struct Archive {
    path: PathBuf,
    zip: ZipArchive<BufReader<File>>,
    /// `ARCHIVE/`, with the slash.
    prefix: String,
    big_endian: bool,
    /// Allocation cap: no record can hold more than the file (records are stored uncompressed by
    /// torch; a compressed one is read as it inflates, never pre-allocated beyond this).
    file_len: u64,
}

pub(super) fn open(path: &Path) -> Result<(Pickle, Archive)> {
    let file = File::open(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let zip = ZipArchive::new(BufReader::new(file))
        .map_err(|e| bad(path, format!("not a readable zip archive ({e})")))?;
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    let pkl: Vec<&String> = names
        .iter()
        .filter(|n| n.strip_suffix("data.pkl").is_some_and(top_level_folder))
        .collect();
    let prefix = match pkl.as_slice() {
        [one] => one.strip_suffix("data.pkl").unwrap_or_default().to_string(),
        [] => {
            return Err(bad(
                path,
                "zip archive without an ARCHIVE/data.pkl record: not a PyTorch checkpoint",
            ))
        }
        many => {
            return Err(bad(
                path,
                format!("zip archive with several pickles ({many:?}): expected one checkpoint"),
            ))
        }
    };
    if names
        .iter()
        .any(|n| *n == format!("{prefix}constants.pkl") || n.starts_with(&format!("{prefix}code/")))
    {
        return Err(bad(
            path,
            "this is a TorchScript archive (torch.jit.save): graft reads state dicts; save \
             model.state_dict() with torch.save instead",
        ));
    }
    let mut a = Archive {
        path: path.to_path_buf(),
        zip,
        prefix,
        big_endian: false,
        file_len,
    };
    let byteorder_name = format!("{}byteorder", a.prefix);
    if names.contains(&byteorder_name) {
        let order = a.read_record(&byteorder_name, 16)?;
        a.big_endian = match order.trim_ascii() {
            b"little" => false,
            b"big" => true,
            other => {
                return Err(bad(
                    path,
                    format!(
                        "{byteorder_name} says {:?}, expected `little` or `big`",
                        String::from_utf8_lossy(other)
                    ),
                ))
            }
        };
    }
    let pkl_name = format!("{}data.pkl", a.prefix);
    let data = a.read_record(&pkl_name, u64::MAX)?;
    let (pickle, _) = pickle::parse(&data).map_err(|e| pickle_error(path, &pkl_name, e))?;
    Ok((pickle, a))
}

/// `folder/` with no further slash, or nothing (a bare `data.pkl`).
fn top_level_folder(prefix: &str) -> bool {
    prefix.is_empty() || (prefix.ends_with('/') && prefix.matches('/').count() == 1)
}

impl Archive {
    /// Reads at most `limit` bytes of a record (all of it when it is shorter).
    fn read_record(&mut self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let path = &self.path;
        let mut f = self
            .zip
            .by_name(name)
            .map_err(|e| bad(path, format!("cannot read {name} ({e})")))?;
        let want = f.size().min(limit);
        let mut buf = Vec::with_capacity(want.min(self.file_len) as usize);
        (&mut f)
            .take(want)
            .read_to_end(&mut buf)
            .map_err(|e| bad(path, format!("cannot read {name} ({e})")))?;
        if (buf.len() as u64) < want {
            return Err(bad(
                path,
                format!("{name} is truncated: {} of {want} bytes", buf.len()),
            ));
        }
        Ok(buf)
    }
}

impl Records for Archive {
    fn load(&mut self, key: &str, info: StorageInfo) -> Result<Cow<'_, [u8]>> {
        let name = format!("{}data/{key}", self.prefix);
        let need = info.nbytes();
        let size = match self.zip.by_name(&name) {
            Ok(f) => f.size(),
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(bad(
                    &self.path,
                    format!(
                    "storage record {name} is missing (the pickle needs {} {} elements from it)",
                    info.numel,
                    info.dtype.name()
                ),
                ))
            }
            Err(e) => return Err(bad(&self.path, format!("cannot read {name} ({e})"))),
        };
        if size < need {
            return Err(bad(
                &self.path,
                format!(
                    "storage record {name} holds {size} bytes, but the pickle declares {} {} \
                     elements ({need} bytes)",
                    info.numel,
                    info.dtype.name()
                ),
            ));
        }
        let mut data = self.read_record(&name, need)?;
        if self.big_endian {
            swap_bytes(&mut data, info.dtype.size());
        }
        Ok(Cow::Owned(data))
    }
}
