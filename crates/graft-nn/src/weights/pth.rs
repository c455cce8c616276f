//! PyTorch checkpoints as `torch.save` writes them, read without running any of their code.
//!
//! Two containers: the zip archive of torch >= 1.6 (`ARCHIVE/data.pkl` plus one raw record per
//! storage under `ARCHIVE/data/`) and the legacy stream before it (pickles back to back, then
//! the raw storages). Either way the pickle is read by graft's own [`super::pickle`]
//! reader, which interprets tensor descriptions and refuses everything else; storages are read
//! only for the tensors that end up in the state dict, each checked against the size its record
//! really has before anything is allocated.
//!
//! Where the weights are inside the checkpoint follows what timm's `load_state_dict` and
//! `clean_state_dict` do, made deterministic:
//! 1. The top-level object must be a dict. While the current dict holds no tensor itself and has
//!    one of the wrapper keys `state_dict`, `model_state_dict`, `model`, `module` (first match in
//!    that order) whose value is a dict, descend into it. So `{'state_dict': sd, 'epoch': 3,
//!    'optimizer': {...}}` gives `sd`, and the optimizer's tensors are never read.
//! 2. The chosen dict is flattened: tensors are kept under their key, nested dicts with string
//!    keys are flattened with dots (`{'backbone': {'w': t}}` gives `backbone.w`), and everything
//!    else (epochs, learning rates, lists, `argparse.Namespace` objects, non-string keys such as
//!    an optimizer's parameter indices) is ignored.
//! 3. When every key starts with `module.` (from `nn.DataParallel` / `DistributedDataParallel`)
//!    or `_orig_mod.` (from `torch.compile`), that prefix is stripped, repeatedly. Only when all
//!    keys have it: a model may well have a submodule that is really called `module`.
//!
//! Byte order: the legacy format always stores little-endian data (PyTorch converts on big-endian
//! machines when writing); the zip format stores the writer's native order and says which in
//! `ARCHIVE/byteorder`, and big-endian records are byte-swapped here.

mod archive;
mod legacy;
mod select;

use crate::weights::pickle::{self, Pickle, StorageInfo, Value};
use crate::weights::StateDict;
use crate::{NnError, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use tch::Tensor;

/// Reads the model weights of a PyTorch checkpoint (zip or legacy format) as a state dict, on the
/// CPU, each tensor in the dtype it was saved in. See the module docs for which part of a
/// checkpoint counts as the weights.
pub fn read(path: &Path) -> Result<StateDict> {
    let mut head = [0u8; 2];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| NnError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    match &head[..n] {
        b"PK" => {
            let (pickle, mut records) = archive::open(path)?;
            build(path, &pickle, &mut records)
        }
        [0x80, _] => {
            let (pickle, mut records) = legacy::open(path)?;
            build(path, &pickle, &mut records)
        }
        _ => Err(bad(
            path,
            "not a PyTorch checkpoint: expected a zip archive (torch >= 1.6) or a pickle stream \
             (legacy torch.save, protocol 2 or later)",
        )),
    }
}

fn bad(path: &Path, what: impl Into<String>) -> NnError {
    NnError::BadWeights {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// A pickle error inside `part` of the checkpoint (`archive/data.pkl`, `the main pickle`).
fn pickle_error(path: &Path, part: &str, e: pickle::PickleError) -> NnError {
    bad(path, format!("{part}: {e}"))
}

/// Where the raw bytes of each storage are.
trait Records {
    /// Exactly `info.nbytes()` bytes of storage `key`, in little-endian order.
    fn load(&mut self, key: &str, info: StorageInfo) -> Result<Cow<'_, [u8]>>;
}

/// Materialises the selected tensors: each storage is read once, and each tensor is its strided
/// view, made contiguous (views that were contiguous keep sharing their storage, as in PyTorch).
fn build(path: &Path, pickle: &Pickle, records: &mut dyn Records) -> Result<StateDict> {
    let entries = select::state_dict_entries(pickle).map_err(|what| bad(path, what))?;
    let mut storages: HashMap<&str, Tensor> = HashMap::new();
    let mut out = StateDict::default();
    for (name, id) in entries {
        let Value::Tensor(t) = pickle.value(id) else {
            unreachable!("select returns tensors only")
        };
        let key = t.storage.key.as_str();
        if !storages.contains_key(key) {
            let info = pickle.storages()[key];
            let bytes = records.load(key, info)?;
            let bytes = if info.dtype == pickle::Dtype::Bool && bytes.iter().any(|&b| b > 1) {
                // libtorch assumes bools are 0 or 1; normalise rather than trust the file.
                Cow::Owned(bytes.iter().map(|&b| u8::from(b != 0)).collect())
            } else {
                bytes
            };
            // `from_data_size` copies numel * element size bytes whatever the slice's length.
            if bytes.len() as u64 != info.nbytes() {
                return Err(bad(
                    path,
                    format!("storage {key}: wrong number of bytes read"),
                ));
            }
            let numel = i64::try_from(info.numel)
                .map_err(|_| bad(path, format!("storage {key}: too many elements")))?;
            let base = Tensor::f_from_data_size(&bytes, &[numel], info.dtype.kind())
                .map_err(|e| bad(path, format!("storage {key}: {e}")))?;
            storages.insert(key, base);
        }
        let base = &storages[key];
        let offset = (t.storage.offset + t.offset) as i64;
        let tensor = base
            .f_as_strided(t.size.as_slice(), t.stride.as_slice(), offset)
            .and_then(|v| v.f_contiguous())
            .map_err(|e| bad(path, format!("tensor {name}: {e}")))?;
        out.insert(name, tensor);
    }
    Ok(out)
}

/// Reverses the bytes of every `size`-byte element (big-endian records).
fn swap_bytes(data: &mut [u8], size: usize) {
    if size > 1 {
        for chunk in data.chunks_exact_mut(size) {
            chunk.reverse();
        }
    }
}
