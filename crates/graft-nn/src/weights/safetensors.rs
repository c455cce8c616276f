//! Reading safetensors files into CPU tensors that own their data.

use crate::weights::StateDict;
use crate::{NnError, Result};
use ::safetensors::{Dtype, SafeTensors};
use std::path::Path;
use tch::{Kind, Tensor};

/// The tch kind of a safetensors dtype, where libtorch has one.
pub fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::BOOL => Kind::Bool,
        Dtype::U8 => Kind::Uint8,
        Dtype::I8 => Kind::Int8,
        Dtype::I16 => Kind::Int16,
        Dtype::I32 => Kind::Int,
        Dtype::I64 => Kind::Int64,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::C64 => Kind::ComplexFloat,
        Dtype::F8_E5M2 => Kind::Float8e5m2,
        Dtype::F8_E4M3 => Kind::Float8e4m3fn,
        _ => return None,
    })
}

/// The safetensors dtype of a tch kind (for writing).
pub fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Bool => Dtype::BOOL,
        Kind::Uint8 => Dtype::U8,
        Kind::Int8 => Dtype::I8,
        Kind::Int16 => Dtype::I16,
        Kind::Int => Dtype::I32,
        Kind::Int64 => Dtype::I64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::ComplexFloat => Dtype::C64,
        Kind::Float8e5m2 => Dtype::F8_E5M2,
        Kind::Float8e4m3fn => Dtype::F8_E4M3,
        _ => return None,
    })
}

/// Reads every tensor of a safetensors file, copied into CPU tensors of the file's dtype. The
/// file is read whole: weights are loaded once and copied into the model right after, so a
/// memory map would save nothing but a transient copy.
pub fn read(path: &Path) -> Result<StateDict> {
    let bytes = std::fs::read(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(&bytes, path)
}

/// Parses safetensors bytes; `path` only names the source in errors.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<StateDict> {
    let bad = |what: String| NnError::BadWeights {
        path: path.to_path_buf(),
        what,
    };
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let mut sd = StateDict::default();
    for (name, view) in st.iter() {
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            bad(format!(
                "tensor `{name}` has dtype {:?}, which libtorch cannot hold",
                view.dtype()
            ))
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &shape, kind).map_err(|e| {
            bad(format!(
                "tensor `{name}` ({:?} {shape:?}): {e}",
                view.dtype()
            ))
        })?;
        sd.insert(name, t);
    }
    Ok(sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        std::fs::write(&p, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}       ").unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(
            err.contains("w.safetensors") && err.contains("safetensors"),
            "{err}"
        );
    }

    #[test]
    fn every_dtype_keeps_its_values() {
        let mut data = Vec::new();
        let ints: [i64; 3] = [-2, 0, 7];
        for v in ints {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let halves: [u16; 2] = [0x3c00, 0xc000]; // 1.0, -2.0 in f16
        let mut hdata = Vec::new();
        for v in halves {
            hdata.extend_from_slice(&v.to_le_bytes());
        }
        let bf: [u16; 1] = [0x3fc0]; // 1.5 in bf16
        let views = vec![
            (
                "i",
                ::safetensors::tensor::TensorView::new(Dtype::I64, vec![3], &data).unwrap(),
            ),
            (
                "h",
                ::safetensors::tensor::TensorView::new(Dtype::F16, vec![2, 1], &hdata).unwrap(),
            ),
        ];
        let bfb = bf[0].to_le_bytes();
        let mut views = views;
        views.push((
            "b",
            ::safetensors::tensor::TensorView::new(Dtype::BF16, vec![], &bfb).unwrap(),
        ));
        let bytes = ::safetensors::serialize(views, None).unwrap();
        let sd = from_bytes(&bytes, Path::new("mem")).unwrap();
        let i = sd.get("i").unwrap();
        assert_eq!(i.kind(), Kind::Int64);
        assert_eq!(Vec::<i64>::try_from(i).unwrap(), ints);
        let h = sd.get("h").unwrap();
        assert_eq!((h.kind(), h.size()), (Kind::Half, vec![2, 1]));
        assert_eq!(h.double_value(&[1, 0]), -2.0);
        let b = sd.get("b").unwrap();
        assert_eq!((b.kind(), b.size()), (Kind::BFloat16, vec![]));
        assert_eq!(b.double_value(&[]), 1.5);
    }
}
