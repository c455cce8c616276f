//! The labelled target data split once for every trial: a training part, a held-out part that
//! chooses the winner, and the whole (the winner is trained again on it). Written as files that
//! every command reads: CSV manifests for images, .npz for arrays.

use crate::image_data::is_image_source;
use anyhow::{bail, Context};
use graft_data::arrays::open_array_spec;
use graft_data::image_folder::ImageDataset;
use graft_data::npy::{write_npz, NpyOut};
use graft_nn::train::data::{labels_per_class, stratified_split};
use std::path::{Path, PathBuf};

pub struct Splits {
    pub train: String,
    pub val: String,
    pub all: String,
    pub n_train: usize,
    pub n_val: usize,
    pub classes: usize,
    /// Whether the data are images (folder or manifest) rather than an array file.
    pub images: bool,
}

pub fn write(
    spec: &str,
    per_class: Option<usize>,
    val_fraction: f64,
    seed: u64,
    dir: &Path,
) -> anyhow::Result<Splits> {
    if !(0.0..1.0).contains(&val_fraction) || val_fraction == 0.0 {
        bail!("--val-fraction must be in (0, 1), got {val_fraction}");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = Path::new(spec);
    let images = path.exists() && is_image_source(path);
    let (labels, names) = if images {
        let ds = ImageDataset::open(path).with_context(|| format!("reading {spec}"))?;
        (
            ds.samples.iter().map(|s| s.1 as i64).collect::<Vec<_>>(),
            ds.classes.clone(),
        )
    } else {
        let ds = open_array_spec(spec).with_context(|| format!("reading {spec}"))?;
        let y =
            ds.y.clone()
                .with_context(|| format!("{spec}: no labels; --data must be labelled"))?;
        let k = ds.num_classes();
        let names = ds
            .class_names
            .clone()
            .unwrap_or_else(|| (0..k).map(|i| i.to_string()).collect());
        (y, names)
    };
    let kept: Vec<i64> = match per_class {
        Some(0) => bail!("--labels-per-class must be at least 1"),
        Some(k) => labels_per_class(&labels, k, seed),
        None => (0..labels.len() as i64).collect(),
    };
    let kept_labels: Vec<i64> = kept.iter().map(|&i| labels[i as usize]).collect();
    for (c, name) in names.iter().enumerate() {
        let n = kept_labels.iter().filter(|&&l| l == c as i64).count();
        if n < 2 {
            bail!(
                "{spec}: class {name} has {n} labelled sample(s); graft auto needs at least 2 of \
                 every class (one to train on, one to choose the winner with)"
            );
        }
    }
    let (tr, va) = stratified_split(&kept_labels, val_fraction, seed ^ 0xa070);
    let pick =
        |part: &[i64]| -> Vec<usize> { part.iter().map(|&j| kept[j as usize] as usize).collect() };
    let (train_idx, val_idx) = (pick(&tr), pick(&va));
    let all_idx: Vec<usize> = kept.iter().map(|&i| i as usize).collect();
    let ext = if images { "csv" } else { "npz" };
    let file = |name: &str| dir.join(format!("{name}.{ext}"));
    if images {
        let ds = ImageDataset::open(path)?;
        for (name, idx) in [("train", &train_idx), ("val", &val_idx), ("all", &all_idx)] {
            write_manifest(&ds, idx, &file(name))?;
        }
    } else {
        let ds = open_array_spec(spec)?;
        for (name, idx) in [("train", &train_idx), ("val", &val_idx), ("all", &all_idx)] {
            write_arrays(&ds, idx, &names, &file(name))?;
        }
    }
    let s = |p: PathBuf| p.display().to_string();
    Ok(Splits {
        train: s(file("train")),
        val: s(file("val")),
        all: s(file("all")),
        n_train: train_idx.len(),
        n_val: val_idx.len(),
        classes: names.len(),
        images,
    })
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write_manifest(ds: &ImageDataset, idx: &[usize], out: &Path) -> anyhow::Result<()> {
    let mut text = String::from("path,label\n");
    for &i in idx {
        let (p, l) = &ds.samples[i];
        let p =
            std::path::absolute(p).with_context(|| format!("{}: no absolute path", p.display()))?;
        text.push_str(&format!(
            "{},{}\n",
            quoted(&p.display().to_string()),
            quoted(&ds.classes[*l])
        ));
    }
    graft_data::atomic::write_atomic_bytes(out, text.as_bytes())?;
    Ok(())
}

fn write_arrays(
    ds: &graft_data::arrays::ArrayDataset,
    idx: &[usize],
    names: &[String],
    out: &Path,
) -> anyhow::Result<()> {
    let mut shape = vec![idx.len()];
    shape.extend_from_slice(&ds.sample_shape);
    let values: Vec<f64> = idx
        .iter()
        .flat_map(|&i| ds.row(i).iter().copied())
        .collect();
    let bytes = values
        .iter()
        .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v));
    let (x8, x32): (Vec<u8>, Vec<f32>) = if bytes {
        (values.iter().map(|&v| v as u8).collect(), Vec::new())
    } else {
        (Vec::new(), values.iter().map(|&v| v as f32).collect())
    };
    let x = if bytes {
        NpyOut::U8(&x8)
    } else {
        NpyOut::F32(&x32)
    };
    let y = ds.y.as_ref().expect("checked labelled");
    // Labels as the file gave them, so that the classes are found again in the same order.
    let numeric: Option<Vec<i64>> = names.iter().map(|n| n.parse::<i64>().ok()).collect();
    let (yi, ys): (Vec<i64>, Vec<String>) = match &numeric {
        Some(vals) => (
            idx.iter().map(|&i| vals[y[i] as usize]).collect(),
            Vec::new(),
        ),
        None => (
            Vec::new(),
            idx.iter().map(|&i| names[y[i] as usize].clone()).collect(),
        ),
    };
    let yv = if numeric.is_some() {
        NpyOut::I64(&yi)
    } else {
        NpyOut::Str(&ys)
    };
    graft_data::atomic::write_atomic(out, |w| {
        write_npz(w, &[("X", &shape, x), ("y", &[idx.len()], yv)])
    })?;
    Ok(())
}
