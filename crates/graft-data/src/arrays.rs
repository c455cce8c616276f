//! Numeric datasets for the shallow side of graft (features, digits, tabular data): one struct,
//! [`ArrayDataset`], whatever the file format, so heads and transfer methods never care where
//! the numbers came from.
//!
//! Labels are kept as written when they are non-negative integers. Otherwise (negative values
//! such as svmlight's -1/+1, or strings) they are mapped to 0..k-1 in sorted order and
//! `class_names` records the original values.

use crate::error::{DataError, Result};
use crate::npy::{NpyArray, NpyData, NpzFile};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use crate::csv_table::{read_csv_table, read_csv_table_with, TableLabel};
pub use crate::idx::read_idx;
pub use crate::npy::read_npy_array;
pub use crate::svmlight::read_svmlight;

/// `n` samples of `sample_shape` values each, with optional integer labels.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayDataset {
    /// `n * dim()` values, sample-major (C order).
    pub x: Vec<f64>,
    pub n: usize,
    /// Shape of one sample, e.g. `[28, 28]` for MNIST or `[d]` for a feature table.
    pub sample_shape: Vec<usize>,
    /// One label per sample; -1 marks an unlabelled sample in feature files.
    pub y: Option<Vec<i64>>,
    /// Names of the labels 0..k-1, when the file gave names (or labels had to be renumbered).
    pub class_names: Option<Vec<String>>,
    /// The file the data came from.
    pub source: PathBuf,
}

impl ArrayDataset {
    /// Values per sample (product of `sample_shape`).
    pub fn dim(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// Sample `i` as a slice of `dim()` values.
    pub fn row(&self, i: usize) -> &[f64] {
        let d = self.dim();
        &self.x[i * d..(i + 1) * d]
    }

    /// Number of classes: the length of `class_names`, else the largest label + 1.
    pub fn num_classes(&self) -> usize {
        match (&self.class_names, &self.y) {
            (Some(names), _) => names.len(),
            (None, Some(y)) => y
                .iter()
                .copied()
                .max()
                .map_or(0, |m| (m + 1).max(0) as usize),
            (None, None) => 0,
        }
    }
}

/// Raw labels from a file before they become class indices.
pub(crate) enum RawLabels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

/// Class indices (+ names when renumbered) from raw labels; see the module doc for the rule.
pub(crate) fn labels_to_classes(raw: RawLabels) -> (Vec<i64>, Option<Vec<String>>) {
    match raw {
        RawLabels::Ints(v) if v.iter().all(|&l| l >= 0) => (v, None),
        RawLabels::Ints(v) => {
            let classes: Vec<i64> = v
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let y = v
                .iter()
                .map(|l| classes.binary_search(l).unwrap_or(0) as i64)
                .collect();
            (y, Some(classes.iter().map(|c| c.to_string()).collect()))
        }
        RawLabels::Strings(v) => {
            let classes: Vec<String> = v
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let y = v
                .iter()
                .map(|l| classes.binary_search(l).unwrap_or(0) as i64)
                .collect();
            (y, Some(classes))
        }
    }
}

/// Floats that must be integral class labels. `at(i)` names sample `i` in errors.
pub(crate) fn integral_labels(
    v: &[f64],
    path: &Path,
    at: impl Fn(usize) -> String,
) -> Result<Vec<i64>> {
    v.iter()
        .enumerate()
        .map(|(i, &l)| {
            if l.is_finite() && l.fract() == 0.0 && l.abs() < 9.0e15 {
                Ok(l as i64)
            } else {
                Err(DataError::format(
                    path,
                    format!("{}: label {l} is not an integer class label", at(i)),
                ))
            }
        })
        .collect()
}

fn npy_labels(a: &NpyArray, path: &Path, key: &str) -> Result<RawLabels> {
    Ok(match &a.data {
        NpyData::Int(v) => RawLabels::Ints(v.clone()),
        NpyData::Bool(v) => RawLabels::Ints(v.iter().map(|&b| b as i64).collect()),
        NpyData::Float(v) => RawLabels::Ints(integral_labels(v, path, |i| {
            format!("array '{key}' element {i}")
        })?),
        NpyData::Str(v) => RawLabels::Strings(v.clone()),
    })
}

/// Samples `x_key` (first axis = samples) and optional labels `y_key` of an .npz archive. A
/// missing key is an error listing the keys present; `y` must have one label per sample (shape
/// `(n,)` or `(n, 1)`). A `class_names` string array, when present, names integer labels.
pub fn read_npz(path: &Path, x_key: &str, y_key: Option<&str>) -> Result<ArrayDataset> {
    let mut z = NpzFile::open(path)?;
    let xa = z.array(x_key)?;
    if xa.shape.is_empty() {
        return Err(DataError::format(
            path,
            format!("array '{x_key}' is a scalar; expected samples along the first axis"),
        ));
    }
    let n = xa.shape[0];
    let x = xa.to_f64(path, &format!("array '{x_key}'"))?;
    let (mut y, mut class_names) = (None, None);
    if let Some(yk) = y_key {
        let ya = z.array(yk)?;
        let ok_shape = matches!(ya.shape.as_slice(), [m] | [m, 1] if *m == n);
        if !ok_shape {
            return Err(DataError::format(
                path,
                format!(
                    "array '{yk}' has shape {:?}; expected one label per sample of '{x_key}' ({n} samples)",
                    ya.shape
                ),
            ));
        }
        let (labels, names) = labels_to_classes(npy_labels(&ya, path, yk)?);
        class_names = names;
        if class_names.is_none() && z.contains("class_names") {
            let names = z
                .array("class_names")?
                .strings(path, "array 'class_names'")?;
            class_names = Some(names);
        }
        y = Some(labels);
    }
    Ok(ArrayDataset {
        x,
        n,
        sample_shape: xa.shape[1..].to_vec(),
        y,
        class_names,
        source: path.to_path_buf(),
    })
}

fn ext_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name).to_string();
    Path::new(&name)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Opens an array file by its extension: `.npz` (keys `X` and, when present, `y`; graft feature
/// files keep their metadata), `.npy` (no labels), `.svmlight`/`.libsvm`/`.svm`/`.txt`, `.csv`,
/// `.safetensors` (a graft feature file), and IDX (MNIST) files, recognised by `-idx` in the
/// name or by their magic number; an IDX image file finds its labels file by replacing
/// `images-idx3` with `labels-idx1` in the name.
pub fn open_arrays(path: &Path) -> Result<ArrayDataset> {
    if !path.exists() {
        return Err(DataError::dataset(path, "file not found"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match ext_of(path).as_str() {
        "npz" => {
            let z = NpzFile::open(path)?;
            if z.contains("metadata") && z.contains("X") && z.contains("paths") {
                return Ok(crate::features::FeatureSet::read(path)?.into_arrays(path));
            }
            let y = z.contains("y").then_some("y");
            drop(z);
            read_npz(path, "X", y)
        }
        "npy" => {
            let a = crate::npy::read_npy(path)?;
            if a.shape.is_empty() {
                return Err(DataError::format(path, "a scalar; expected samples along the first axis"));
            }
            Ok(ArrayDataset {
                x: a.to_f64(path, "the array")?,
                n: a.shape[0],
                sample_shape: a.shape[1..].to_vec(),
                y: None,
                class_names: None,
                source: path.to_path_buf(),
            })
        }
        "svmlight" | "libsvm" | "svm" | "txt" => read_svmlight(path, None),
        "csv" => read_csv_table(path, None),
        "safetensors" => Ok(crate::features::FeatureSet::read(path)?.into_arrays(path)),
        _ if name.contains("-idx") || crate::idx::looks_like_idx(path) => {
            let labels = name
                .contains("images-idx3")
                .then(|| path.with_file_name(name.replace("images-idx3", "labels-idx1")))
                .filter(|p| p.exists());
            read_idx(path, labels.as_deref())
        }
        e => Err(DataError::format(
            path,
            format!(
                "unknown array format '.{e}'; expected .npz, .npy, .svmlight/.libsvm/.svm/.txt, .csv, .safetensors or an IDX file"
            ),
        )),
    }
}

/// Opens `spec` as [`open_arrays`] does, or, when `spec` is `FILE.npz:NAME` and no file of
/// that full name exists, the arrays `NAME_X` and `NAME_y` of the archive: one .npz can hold
/// several splits or domains (`mnist_usps.npz:mnist`, `data.npz:train`).
pub fn open_array_spec(spec: &str) -> Result<ArrayDataset> {
    if let Some((file, name)) = split_array_spec(spec) {
        let fp = Path::new(file);
        let x_key = format!("{name}_X");
        let y_key = format!("{name}_y");
        let z = NpzFile::open(fp)?;
        let y = z.contains(&y_key).then_some(y_key.as_str());
        drop(z);
        return read_npz(fp, &x_key, y);
    }
    open_arrays(Path::new(spec))
}

/// `(FILE, NAME)` when `spec` names the arrays `NAME` of an existing file as `FILE:NAME` (and
/// no file of the full name exists), as [`open_array_spec`] reads it.
pub fn split_array_spec(spec: &str) -> Option<(&str, &str)> {
    if Path::new(spec).exists() {
        return None;
    }
    spec.rsplit_once(':')
        .filter(|(file, _)| Path::new(file).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{write_npz, NpyOut};

    fn npz(path: &Path, arrays: &[(&str, &[usize], NpyOut<'_>)]) {
        crate::atomic::write_atomic(path, |w| write_npz(w, arrays)).unwrap();
    }

    #[test]
    fn npz_samples_and_labels() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.npz");
        let names = vec!["neg".to_string(), "pos".to_string()];
        npz(
            &p,
            &[
                ("X", &[3, 2, 2], NpyOut::F32(&[0.0; 12])),
                ("y", &[3], NpyOut::I64(&[1, 0, 1])),
                ("class_names", &[2], NpyOut::Str(&names)),
            ],
        );
        let a = open_arrays(&p).unwrap();
        assert_eq!((a.n, a.sample_shape.clone(), a.dim()), (3, vec![2, 2], 4));
        assert_eq!(a.y, Some(vec![1, 0, 1]));
        assert_eq!(a.class_names, Some(names));
        assert_eq!(a.num_classes(), 2);
        let a = read_npz(&p, "X", None).unwrap();
        assert!(a.y.is_none());
    }

    #[test]
    fn npz_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.npz");
        npz(
            &p,
            &[
                ("X", &[3, 1], NpyOut::F32(&[0.0; 3])),
                ("y", &[2], NpyOut::I64(&[0, 1])),
            ],
        );
        let e = read_npz(&p, "X", Some("y")).unwrap_err().to_string();
        assert!(
            e.contains("d.npz") && e.contains("shape [2]") && e.contains("3 samples"),
            "{e}"
        );
        let e = read_npz(&p, "features", None).unwrap_err().to_string();
        assert!(
            e.contains("no array named 'features'") && e.contains("present: X, y"),
            "{e}"
        );
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 40]).unwrap();
        assert!(read_npz(&p, "X", None).is_err());
    }

    #[test]
    fn negative_and_string_labels_are_renumbered() {
        let (y, names) = labels_to_classes(RawLabels::Ints(vec![-1, 1, 1, -1]));
        assert_eq!(
            (y, names),
            (
                vec![0, 1, 1, 0],
                Some(vec!["-1".to_string(), "1".to_string()])
            )
        );
        let (y, names) = labels_to_classes(RawLabels::Strings(vec!["b".into(), "a".into()]));
        assert_eq!(
            (y, names.unwrap()),
            (vec![1, 0], vec!["a".to_string(), "b".to_string()])
        );
        let (y, names) = labels_to_classes(RawLabels::Ints(vec![3, 1]));
        assert_eq!((y, names), (vec![3, 1], None));
    }

    #[test]
    fn unknown_extension_and_missing_file() {
        let d = tempfile::tempdir().unwrap();
        let e = open_arrays(&d.path().join("x.npz"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.npz") && e.contains("not found"), "{e}");
        let p = d.path().join("x.parquet");
        std::fs::write(&p, b"PAR1").unwrap();
        let e = open_arrays(&p).unwrap_err().to_string();
        assert!(e.contains("unknown array format '.parquet'"), "{e}");
    }
}
