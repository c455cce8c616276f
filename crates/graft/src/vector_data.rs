//! Feature vectors for the MLP: `.npz` (X, y), `FILE.npz:NAME`, svmlight, CSV or graft
//! feature files, one row per sample. svmlight files give no width (a row lists only its
//! non-zero features), so the sets of one run are read at the widest one's.

use anyhow::{bail, Context};
use graft_data::arrays::{open_array_spec, read_svmlight};
use graft_data::ArrayDataset;
use graft_nn::train::Samples;
use std::path::Path;

fn is_svmlight(spec: &str) -> bool {
    let ext = Path::new(spec)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    matches!(ext.as_deref(), Some("svmlight" | "libsvm" | "svm" | "txt"))
}

/// An array file with its labels; an unlabelled one gets -1 for every sample. svmlight files
/// are read at `width` when given.
pub fn arrays(spec: &str, width: Option<usize>) -> anyhow::Result<ArrayDataset> {
    let mut ds = match width {
        Some(w) if is_svmlight(spec) => read_svmlight(Path::new(spec), Some(w)),
        _ => open_array_spec(spec),
    }
    .with_context(|| format!("reading {spec}"))?;
    if ds.y.is_none() {
        ds.y = Some(vec![-1; ds.n]);
        ds.class_names = Some(Vec::new());
    }
    Ok(ds)
}

/// The width every set of `specs` is read at: the widest svmlight file's when all are
/// svmlight, else each file's own (`None`).
pub fn common_width(specs: &[&str]) -> anyhow::Result<Option<usize>> {
    if !specs.iter().all(|s| is_svmlight(s)) {
        return Ok(None);
    }
    let mut w = 0;
    for s in specs {
        w = w.max(arrays(s, None)?.dim());
    }
    Ok(Some(w))
}

/// Whether `spec` holds feature vectors (rows of numbers) rather than images or texts: an
/// svmlight or CSV file without a `path` column, or arrays whose samples are rows.
pub fn holds_vectors(spec: &str) -> bool {
    let p = Path::new(spec);
    if p.is_dir() || crate::image_data::is_image_source(p) {
        return false;
    }
    is_svmlight(spec) || open_array_spec(spec).is_ok_and(|ds| ds.sample_shape.len() == 1)
}

/// The rows of `spec` (read at `width` when it is svmlight) as samples for the MLP.
pub fn open(spec: &str, width: Option<usize>) -> anyhow::Result<Samples> {
    let ds = arrays(spec, width)?;
    let src = ds.source.display().to_string();
    if ds.sample_shape.len() != 1 {
        bail!(
            "{src}: samples of shape {:?}; the mlp model takes feature vectors (one row per \
             sample)",
            ds.sample_shape
        );
    }
    let k = ds.num_classes();
    let names = ds
        .class_names
        .clone()
        .unwrap_or_else(|| (0..k).map(|c| c.to_string()).collect());
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let y = ds.y.clone().expect("labels filled");
    Ok(Samples::from_features(&x, ds.n, ds.dim(), y, names, src)?)
}
