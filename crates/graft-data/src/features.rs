//! The feature file `graft extract` writes and every shallow command reads: an `n x d` float32
//! matrix with labels, class names, the source file of each row and free-form provenance
//! (model, weights hash, stage, preprocessing). Two containers, the same content:
//!
//! - safetensors: tensors `features` (F32 `[n, d]`) and `labels` (I64 `[n]`); `__metadata__`
//!   holds the metadata map plus `class_names` and `paths` as JSON arrays and
//!   `format = graft-features/1`. Loads with `safetensors.numpy.load_file`.
//! - npz: `X` (`<f4`), `y` (`<i8`), `class_names` and `paths` (`<U`), `metadata` (0-d `<U`
//!   JSON object). Loads with `numpy.load`.

use crate::arrays::ArrayDataset;
use crate::atomic::write_atomic;
use crate::error::{DataError, Result};
use crate::npy::{write_npz, NpyData, NpyOut, NpzFile};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Value of the `format` metadata key.
pub const FORMAT: &str = "graft-features/1";

/// Features of `n` samples, `d` values each.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSet {
    /// `n * d` values, row-major.
    pub features: Vec<f32>,
    pub n: usize,
    pub d: usize,
    /// Class index per row, -1 for unlabelled rows.
    pub labels: Vec<i64>,
    pub class_names: Vec<String>,
    /// Source file of each row (empty when the rows did not come from files).
    pub paths: Vec<String>,
    /// Provenance: model, weights hash, stage, preprocessing, graft version, ...
    pub metadata: BTreeMap<String, String>,
}

/// Keys of the safetensors metadata that hold fields rather than user metadata.
const RESERVED: [&str; 3] = ["format", "class_names", "paths"];

impl FeatureSet {
    fn check(&self, path: &Path) -> Result<()> {
        let bad = |m: String| {
            Err(DataError::format(
                path,
                format!("cannot write features: {m}"),
            ))
        };
        if self.features.len() != self.n * self.d {
            return bad(format!(
                "{} values for {} x {}",
                self.features.len(),
                self.n,
                self.d
            ));
        }
        if self.labels.len() != self.n {
            return bad(format!("{} labels for {} rows", self.labels.len(), self.n));
        }
        if !self.paths.is_empty() && self.paths.len() != self.n {
            return bad(format!("{} paths for {} rows", self.paths.len(), self.n));
        }
        Ok(())
    }

    /// Metadata as stored: the map plus format, class names and paths.
    fn full_metadata(&self) -> BTreeMap<String, String> {
        let mut m = self.metadata.clone();
        m.insert("format".into(), FORMAT.into());
        m.insert(
            "class_names".into(),
            serde_json::to_string(&self.class_names).unwrap_or_default(),
        );
        m.insert(
            "paths".into(),
            serde_json::to_string(&self.paths).unwrap_or_default(),
        );
        m
    }

    /// Writes a safetensors file, atomically.
    pub fn write_safetensors(&self, path: &Path) -> Result<()> {
        self.check(path)?;
        let fbytes = self.features.len() * 4;
        let header = serde_json::json!({
            "__metadata__": self.full_metadata(),
            "features": {"dtype": "F32", "shape": [self.n, self.d], "data_offsets": [0, fbytes]},
            "labels": {"dtype": "I64", "shape": [self.n], "data_offsets": [fbytes, fbytes + self.n * 8]},
        });
        let mut h =
            serde_json::to_string(&header).map_err(|e| DataError::format(path, e.to_string()))?;
        // Pad so the tensor data starts 8-byte aligned, as the reference writer does.
        h.push_str(&" ".repeat((8 - h.len() % 8) % 8));
        write_atomic(path, |w| {
            w.write_all(&(h.len() as u64).to_le_bytes())?;
            w.write_all(h.as_bytes())?;
            for chunk in self.features.chunks(1 << 14) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                w.write_all(&bytes)?;
            }
            let bytes: Vec<u8> = self.labels.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)
        })
    }

    /// Writes an .npz archive, atomically.
    pub fn write_npz(&self, path: &Path) -> Result<()> {
        self.check(path)?;
        let meta = serde_json::to_string(&self.metadata_with_format()).unwrap_or_default();
        let meta = [meta];
        write_atomic(path, |w| {
            write_npz(
                w,
                &[
                    ("X", &[self.n, self.d], NpyOut::F32(&self.features)),
                    ("y", &[self.n], NpyOut::I64(&self.labels)),
                    (
                        "class_names",
                        &[self.class_names.len()],
                        NpyOut::Str(&self.class_names),
                    ),
                    ("paths", &[self.paths.len()], NpyOut::Str(&self.paths)),
                    ("metadata", &[], NpyOut::Str(&meta)),
                ],
            )
        })
    }

    fn metadata_with_format(&self) -> BTreeMap<String, String> {
        let mut m = self.metadata.clone();
        m.insert("format".into(), FORMAT.into());
        m
    }

    /// Reads a feature file written by [`Self::write_safetensors`] or [`Self::write_npz`]
    /// (recognised by content). Files from elsewhere work too when they hold `features`
    /// (safetensors) or `X` (npz) as a 2-d float matrix; missing labels read as -1.
    pub fn read(path: &Path) -> Result<Self> {
        let mut head = [0u8; 9];
        let f = std::fs::File::open(path).map_err(|e| DataError::io(path, "open", e))?;
        let got = std::io::Read::read(&mut std::io::BufReader::new(f), &mut head).unwrap_or(0);
        if got >= 4 && head.starts_with(b"PK\x03\x04") {
            Self::read_npz(path)
        } else if got == 9 && head[8] == b'{' {
            Self::read_safetensors(path)
        } else {
            Err(DataError::format(
                path,
                "not a feature file (expected a .safetensors or .npz file written by graft extract)",
            ))
        }
    }

    fn read_safetensors(path: &Path) -> Result<Self> {
        use safetensors::{Dtype, SafeTensors};
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| DataError::format(path, format!("invalid safetensors file: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| DataError::format(path, format!("invalid safetensors file: {e}")))?;
        let present = || st.names().into_iter().map(String::from).collect::<Vec<_>>();
        let t = st.tensor("features").map_err(|_| DataError::MissingKey {
            path: path.to_path_buf(),
            key: "features".into(),
            present: present(),
        })?;
        let [n, d] = *t.shape() else {
            return Err(DataError::format(
                path,
                format!(
                    "tensor 'features' has shape {:?}; expected [n, d]",
                    t.shape()
                ),
            ));
        };
        let data = t.data();
        let features: Vec<f32> = match t.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                .collect(),
            other => {
                return Err(DataError::format(
                    path,
                    format!("tensor 'features' has dtype {other:?}; expected F32 or F64"),
                ));
            }
        };
        let labels = match st.tensor("labels") {
            Err(_) => vec![-1; n],
            Ok(l) => {
                if l.shape() != [n] {
                    return Err(DataError::format(
                        path,
                        format!("tensor 'labels' has shape {:?}; expected [{n}] (one per row of 'features')", l.shape()),
                    ));
                }
                match l.dtype() {
                    Dtype::I64 => l
                        .data()
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                    Dtype::I32 => l
                        .data()
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                        .collect(),
                    other => {
                        return Err(DataError::format(
                            path,
                            format!("tensor 'labels' has dtype {other:?}; expected I64"),
                        ));
                    }
                }
            }
        };
        let mut metadata: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let json_list = |key: &str, m: &BTreeMap<String, String>| -> Result<Vec<String>> {
            match m.get(key) {
                None => Ok(Vec::new()),
                Some(s) => serde_json::from_str(s).map_err(|e| {
                    DataError::format(
                        path,
                        format!("metadata '{key}' is not a JSON array of strings: {e}"),
                    )
                }),
            }
        };
        let class_names = json_list("class_names", &metadata)?;
        let paths = json_list("paths", &metadata)?;
        for k in RESERVED {
            metadata.remove(k);
        }
        Self::finish(path, features, n, d, labels, class_names, paths, metadata)
    }

    fn read_npz(path: &Path) -> Result<Self> {
        let mut z = NpzFile::open(path)?;
        let x = z.array("X")?;
        let [n, d] = *x.shape.as_slice() else {
            return Err(DataError::format(
                path,
                format!("array 'X' has shape {:?}; expected (n, d)", x.shape),
            ));
        };
        let features: Vec<f32> = match &x.data {
            NpyData::Float(v) => v.iter().map(|&f| f as f32).collect(),
            _ => {
                return Err(DataError::format(
                    path,
                    format!("array 'X' has dtype {}; expected floats", x.descr),
                ))
            }
        };
        let labels = if z.contains("y") {
            let y = z.array("y")?;
            match (&y.data, y.shape.as_slice()) {
                (NpyData::Int(v), [m]) if *m == n => v.clone(),
                _ => {
                    return Err(DataError::format(
                        path,
                        format!(
                            "array 'y' is {} of shape {:?}; expected {n} integer labels",
                            y.descr, y.shape
                        ),
                    ));
                }
            }
        } else {
            vec![-1; n]
        };
        let mut strings = |key: &str| -> Result<Vec<String>> {
            if z.contains(key) {
                z.array(key)?.strings(path, &format!("array '{key}'"))
            } else {
                Ok(Vec::new())
            }
        };
        let class_names = strings("class_names")?;
        let paths = strings("paths")?;
        let mut metadata = BTreeMap::new();
        if let Some(text) = strings("metadata")?.first() {
            let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
                .map_err(|e| {
                    DataError::format(path, format!("array 'metadata' is not a JSON object: {e}"))
                })?;
            for (k, v) in v {
                let s = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                metadata.insert(k, s);
            }
            metadata.remove("format");
        }
        Self::finish(path, features, n, d, labels, class_names, paths, metadata)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        path: &Path,
        features: Vec<f32>,
        n: usize,
        d: usize,
        labels: Vec<i64>,
        class_names: Vec<String>,
        paths: Vec<String>,
        metadata: BTreeMap<String, String>,
    ) -> Result<Self> {
        if !paths.is_empty() && paths.len() != n {
            return Err(DataError::format(
                path,
                format!("{} paths for {n} rows", paths.len()),
            ));
        }
        if let Some(l) = labels
            .iter()
            .find(|&&l| l < -1 || (!class_names.is_empty() && l >= class_names.len() as i64))
        {
            return Err(DataError::format(
                path,
                format!(
                    "label {l} is outside -1..{} (the class names)",
                    class_names.len()
                ),
            ));
        }
        Ok(FeatureSet {
            features,
            n,
            d,
            labels,
            class_names,
            paths,
            metadata,
        })
    }

    /// The features as an [`ArrayDataset`] (labels only when some row has one).
    pub fn into_arrays(self, source: &Path) -> ArrayDataset {
        let labelled = self.labels.iter().any(|&l| l >= 0);
        ArrayDataset {
            x: self.features.iter().map(|&v| v as f64).collect(),
            n: self.n,
            sample_shape: vec![self.d],
            y: labelled.then_some(self.labels),
            class_names: (!self.class_names.is_empty()).then_some(self.class_names),
            source: source.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FeatureSet {
        let mut metadata = BTreeMap::new();
        metadata.insert("model".to_string(), "resnet18".to_string());
        metadata.insert("preprocess".to_string(), "{\"crop\":[224,224]}".to_string());
        FeatureSet {
            features: vec![0.5, -1.25, 3.0, 1e-7, f32::MAX, 0.0],
            n: 3,
            d: 2,
            labels: vec![1, 0, -1],
            class_names: vec!["café".into(), "dog \"quoted\"".into()],
            paths: vec!["a/1.png".into(), "b/ü.jpg".into(), "c.png".into()],
            metadata,
        }
    }

    #[test]
    fn round_trips_through_both_formats() {
        let d = tempfile::tempdir().unwrap();
        for name in ["f.safetensors", "f.npz"] {
            let p = d.path().join(name);
            let s = sample();
            if name.ends_with("npz") {
                s.write_npz(&p).unwrap();
            } else {
                s.write_safetensors(&p).unwrap();
            }
            assert_eq!(FeatureSet::read(&p).unwrap(), s, "{name}");
            let a = crate::arrays::open_arrays(&p).unwrap();
            assert_eq!((a.n, a.dim(), a.y.clone()), (3, 2, Some(vec![1, 0, -1])));
            assert_eq!(a.class_names.unwrap().len(), 2);
        }
    }

    #[test]
    fn safetensors_layout_follows_the_spec() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.safetensors");
        sample().write_safetensors(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let f = st.tensor("features").unwrap();
        assert_eq!(
            (f.dtype(), f.shape()),
            (safetensors::Dtype::F32, &[3usize, 2][..])
        );
        let hlen = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(hlen % 8, 0);
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let m = meta.metadata().clone().unwrap();
        assert_eq!(m["format"], FORMAT);
        assert_eq!(m["class_names"], "[\"café\",\"dog \\\"quoted\\\"\"]");
    }

    #[test]
    fn inconsistent_sets_and_foreign_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.safetensors");
        let mut s = sample();
        s.labels.pop();
        let e = s.write_safetensors(&p).unwrap_err().to_string();
        assert!(e.contains("2 labels for 3 rows"), "{e}");
        assert!(!p.exists());
        std::fs::write(&p, b"hello world").unwrap();
        let e = FeatureSet::read(&p).unwrap_err().to_string();
        assert!(e.contains("not a feature file"), "{e}");
        sample().write_safetensors(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let e = FeatureSet::read(&p).unwrap_err().to_string();
        assert!(e.contains("invalid safetensors"), "{e}");
        let q = d.path().join("x.npz");
        crate::atomic::write_atomic(&q, |w| write_npz(w, &[("A", &[1], NpyOut::I64(&[1]))]))
            .unwrap();
        let e = FeatureSet::read(&q).unwrap_err().to_string();
        assert!(
            e.contains("no array named 'X'") && e.contains("present: A"),
            "{e}"
        );
    }

    #[test]
    fn empty_set_is_valid() {
        let d = tempfile::tempdir().unwrap();
        let s = FeatureSet {
            features: vec![],
            n: 0,
            d: 4,
            labels: vec![],
            class_names: vec![],
            paths: vec![],
            metadata: BTreeMap::new(),
        };
        for name in ["e.safetensors", "e.npz"] {
            let p = d.path().join(name);
            if name.ends_with("npz") {
                s.write_npz(&p).unwrap();
            } else {
                s.write_safetensors(&p).unwrap();
            }
            assert_eq!(FeatureSet::read(&p).unwrap(), s, "{name}");
        }
    }
}
