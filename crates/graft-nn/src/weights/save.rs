//! Writing a model's variables as a safetensors checkpoint that PyTorch loads with
//! `load_state_dict(strict=True)`: PyTorch key names, CPU contiguous data in each variable's own
//! dtype, and the `num_batches_tracked` counters torchvision's BatchNorm layers expect.

use crate::weights::safetensors::dtype_of;
use crate::{NnError, Result};
use ::safetensors::tensor::TensorView;
use ::safetensors::Dtype;
use graft_data::atomic::write_atomic_bytes;
use graft_data::error::DataError;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// BatchNorm layers are recognised by this variable; each gets a `num_batches_tracked` beside it.
const BN_MARKER: &str = "running_var";
const BN_COUNTER: &str = "num_batches_tracked";

/// Saves every variable of `vs` to `path` (written to a temporary file in the same folder,
/// synced, then renamed, so a crash never leaves a half-written checkpoint). `metadata` goes
/// into the safetensors header (`__metadata__`). The file is assembled in memory first, so
/// saving briefly needs about twice the model's size.
pub fn save_safetensors(
    vs: &VarStore,
    path: &Path,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    let counters: Vec<String> = named
        .iter()
        .filter_map(|(k, _)| {
            k.strip_suffix(BN_MARKER)
                .map(|p| format!("{p}{BN_COUNTER}"))
        })
        .filter(|k| !named.iter().any(|(n, _)| n == k))
        .collect();
    for k in counters {
        named.push((k, Tensor::from(0i64)));
    }
    save_tensors(&named, path, metadata)
}

/// Saves named tensors to `path` atomically, in each tensor's own dtype, names sorted.
pub fn save_tensors(
    named: &[(String, Tensor)],
    path: &Path,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let bad = |what: String| NnError::BadWeights {
        path: path.to_path_buf(),
        what,
    };
    let mut entries: BTreeMap<&str, (Dtype, Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for (name, var) in named {
        let t = var.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?;
        let dtype = dtype_of(t.kind()).ok_or_else(|| {
            bad(format!(
                "variable `{name}` has dtype {:?}, which safetensors cannot hold",
                t.kind()
            ))
        })?;
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
        t.f_copy_data_u8(&mut bytes, numel)?;
        let shape = t.size().iter().map(|&d| d as usize).collect();
        if entries.insert(name, (dtype, shape, bytes)).is_some() {
            return Err(bad(format!("two tensors are both named `{name}`")));
        }
    }

    let mut views = Vec::with_capacity(entries.len());
    for (name, (dtype, shape, bytes)) in &entries {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| bad(format!("variable `{name}`: {e}")))?;
        views.push((*name, view));
    }
    let meta: Option<HashMap<String, String>> = (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });

    let bytes =
        ::safetensors::serialize(views, meta).map_err(|e| bad(format!("serialising: {e}")))?;
    write_atomic_bytes(path, &bytes).map_err(|e| match e {
        DataError::Io { path, source, .. } => NnError::Io { path, source },
        other => NnError::Invalid(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::safetensors::read;
    use tch::Kind;

    /// Whether a saved counter is the scalar PyTorch expects.
    fn is_counter(t: &Tensor) -> bool {
        t.kind() == Kind::Int64 && t.size().is_empty()
    }

    #[test]
    fn round_trip_is_exact_and_adds_bn_counters() {
        let vs = VarStore::new(Device::Cpu);
        let r = vs.root();
        let w = r.sub("conv").randn("weight", &[3, 2, 3, 3], 0.0, 1.0);
        let rv = r.sub("bn").ones_no_train("running_var", &[3]);
        tch::no_grad(|| {
            let _ = rv.shallow_clone().f_mul_scalar_(0.37).unwrap();
        });
        let h = r.sub("half").var("w", &[4], tch::nn::Init::Const(0.5));
        tch::no_grad(|| {
            let mut h = h.shallow_clone();
            h.set_data(&h.to_kind(Kind::Half));
        });
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ck.safetensors");
        let meta = BTreeMap::from([("arch".to_string(), "test".to_string())]);
        save_safetensors(&vs, &p, &meta).unwrap();
        let sd = read(&p).unwrap();
        let keys: Vec<&str> = sd.tensors.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "bn.num_batches_tracked",
                "bn.running_var",
                "conv.weight",
                "half.w"
            ]
        );
        assert!(sd.get("conv.weight").unwrap().equal(&w));
        assert_eq!(
            sd.get("bn.running_var").unwrap().double_value(&[2]),
            0.37f32 as f64
        );
        assert!(is_counter(sd.get("bn.num_batches_tracked").unwrap()));
        assert_eq!(sd.get("half.w").unwrap().kind(), Kind::Half);
        // Only the final file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let bytes = std::fs::read(&p).unwrap();
        let (_, m) = ::safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(m.metadata().as_ref().unwrap()["arch"], "test");
    }

    #[test]
    fn unwritable_folder_names_the_path() {
        let vs = VarStore::new(Device::Cpu);
        let _ = vs.root().zeros("x", &[1]);
        let p = Path::new("/nonexistent-folder-for-graft-test/ck.safetensors");
        let err = save_safetensors(&vs, p, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("nonexistent-folder-for-graft-test"), "{err}");
    }
}
