//! Feature matrices for the shallow side: from a file (graft feature files, .npz, svmlight,
//! CSV), or extracted from images by a backbone through the feature cache; with labels mapped
//! to class indices and checked against each other.

use anyhow::{bail, Context};
use graft_data::arrays::open_array_spec;
use graft_data::ArrayDataset;
use graft_shallow::Matrix;
use std::path::Path;

/// A feature matrix whose labels may be absent (an unlabelled target domain).
#[derive(Clone)]
pub struct Features {
    pub x: Matrix,
    /// Class index per row; `None` when the file has no labels at all.
    pub y: Option<Vec<i64>>,
    pub class_names: Vec<String>,
    pub source: String,
}

impl Features {
    /// From an array dataset, refusing NaN and infinite values.
    pub fn from_arrays(ds: ArrayDataset) -> anyhow::Result<Features> {
        let source = ds.source.display().to_string();
        let k = ds.num_classes();
        let class_names = ds
            .class_names
            .clone()
            .unwrap_or_else(|| (0..k).map(|c| c.to_string()).collect());
        let d = ds.dim();
        if ds.n == 0 || d == 0 {
            bail!(
                "{source}: no samples ({} x {d}); expected at least one row of features",
                ds.n
            );
        }
        if let Some(i) = ds.x.iter().position(|v| !v.is_finite()) {
            bail!(
                "{source}: sample {} (row {}), feature {} is {}; features must be finite numbers",
                i / d,
                i / d,
                i % d,
                ds.x[i]
            );
        }
        let x = Matrix::new(ds.n, d, ds.x).with_context(|| format!("{source}: features"))?;
        Ok(Features {
            x,
            y: ds.y,
            class_names,
            source,
        })
    }

    /// Opens a feature file (graft features, .npz, svmlight, CSV), or `FILE.npz:NAME` for the
    /// arrays `NAME_X`/`NAME_y` of a multi-domain archive.
    pub fn open(path: &Path) -> anyhow::Result<Features> {
        let spec = path.to_string_lossy();
        let mut f =
            Self::from_arrays(open_array_spec(&spec).with_context(|| format!("reading {spec}"))?)?;
        // Name the set as given, so `FILE.npz:NAME` keeps its NAME in messages and summaries.
        f.source = spec.into_owned();
        Ok(f)
    }

    /// Every row labelled, or an error naming the first unlabelled one.
    pub fn labelled(self, why: &str) -> anyhow::Result<Labelled> {
        let source = self.source;
        let Some(labels) = self.y else {
            bail!("{source}: no labels; {why}");
        };
        let y = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                usize::try_from(l)
                    .map_err(|_| anyhow::anyhow!("{source}: sample {i} is unlabelled (label {l})"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Labelled {
            x: self.x,
            y,
            class_names: self.class_names,
            source,
        })
    }
}

/// A labelled feature matrix.
pub struct Labelled {
    pub x: Matrix,
    pub y: Vec<usize>,
    pub class_names: Vec<String>,
    pub source: String,
}

impl Labelled {
    /// From an array dataset: every sample must be labelled.
    pub fn from_arrays(ds: ArrayDataset) -> anyhow::Result<Labelled> {
        Features::from_arrays(ds)?.labelled("probing needs labelled features")
    }

    pub fn open(path: &Path) -> anyhow::Result<Labelled> {
        Features::open(path)?.labelled("probing needs labelled features")
    }

    /// Rows `idx`, in that order.
    pub fn select(&self, idx: &[usize], what: &str) -> Labelled {
        Labelled {
            x: self.x.select_rows(idx),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            class_names: self.class_names.clone(),
            source: format!("{} ({what})", self.source),
        }
    }

    /// Maps `test`'s labels onto this set's classes by name, with clear errors for a width
    /// mismatch or a class the training set never saw.
    pub fn align_test(&self, mut test: Labelled) -> anyhow::Result<Labelled> {
        if test.x.cols() != self.x.cols() {
            bail!(
                "{} has {} features per sample but the training set {} has {}",
                test.source,
                test.x.cols(),
                self.source,
                self.x.cols()
            );
        }
        let mut train_has = vec![false; self.class_names.len()];
        for &c in &self.y {
            train_has[c] = true;
        }
        let mut map = Vec::with_capacity(test.class_names.len());
        for name in &test.class_names {
            map.push(self.class_names.iter().position(|n| n == name));
        }
        for (i, &c) in test.y.iter().enumerate() {
            match map.get(c).copied().flatten() {
                Some(t) if train_has[t] => {}
                _ => bail!(
                    "{}: sample {i} has class `{}`, which the training set {} does not have",
                    test.source,
                    test.class_names.get(c).map_or("?", String::as_str),
                    self.source
                ),
            }
        }
        test.y = test
            .y
            .iter()
            .map(|&c| map[c].expect("checked above"))
            .collect();
        test.class_names = self.class_names.clone();
        Ok(test)
    }
}

/// Stratified `fraction` of each class as a test set: `(train, test)` indices.
pub fn stratified_holdout(y: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let labels: Vec<i64> = y.iter().map(|&c| c as i64).collect();
    let (tr, te) = graft_nn::train::data::stratified_split(&labels, fraction, seed);
    (
        tr.into_iter().map(|i| i as usize).collect(),
        te.into_iter().map(|i| i as usize).collect(),
    )
}
