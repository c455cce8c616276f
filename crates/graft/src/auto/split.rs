//! The labelled target data split once for every trial: a training part, a held-out part that
//! chooses the winner, and the whole (the winner is trained again on it). Written as files that
//! every command reads: CSV manifests for images, .npz for arrays, JSONL for texts.

use crate::image_data::is_image_source;
use crate::weights_file::csv_field;
use anyhow::{bail, Context};
use graft_data::arrays::open_array_spec;
use graft_data::image_folder::ImageDataset;
use graft_data::npy::{write_npz, NpyOut};
use graft_data::text::open_text;
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

/// What the labelled target data are, as the model reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// Images (a folder or a manifest) or an array file.
    ImagesOrArrays,
    /// Texts (JSONL, CSV/TSV, .txt folders, reviews) with `text` and `label` fields.
    Texts,
    /// Feature vectors (one row per sample), for the shallow methods and the mlp.
    Vectors,
}

pub fn write(
    spec: &str,
    kind: DataKind,
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
    let images = kind == DataKind::ImagesOrArrays && path.exists() && is_image_source(path);
    let texts = match kind {
        DataKind::Texts => Some(
            open_text(path, &crate::text_features::TextArgs::default().options())
                .with_context(|| format!("reading the texts at {spec}"))?,
        ),
        DataKind::ImagesOrArrays | DataKind::Vectors => None,
    };
    let (labels, names) = if let Some(t) = &texts {
        (t.labels.clone(), t.class_names.clone())
    } else if images {
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
    if let Some(i) = labels
        .iter()
        .position(|&l| l < 0 || l as usize >= names.len())
    {
        bail!(
            "{spec}: sample {i} has label {} but there are {} classes; graft auto needs every \
             sample of --data labelled",
            labels[i],
            names.len()
        );
    }
    let kept: Vec<i64> = match per_class {
        Some(0) => bail!("--labels-per-class must be at least 1"),
        Some(k) => labels_per_class(&labels, k, seed),
        None => (0..labels.len() as i64).collect(),
    };
    let kept_labels: Vec<i64> = kept.iter().map(|&i| labels[i as usize]).collect();
    for (c, name) in names.iter().enumerate() {
        let n = kept_labels.iter().filter(|&&l| l == c as i64).count();
        // A label value no sample has (labels 1..10 leave class 0 empty) is no class.
        let unused = !labels.contains(&(c as i64));
        if n < 2 && !unused {
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
    let ext = match (&texts, images) {
        (Some(_), _) => "jsonl",
        (None, true) => "csv",
        (None, false) => "npz",
    };
    let file = |name: &str| dir.join(format!("{name}.{ext}"));
    if let Some(t) = &texts {
        for (name, idx) in [("train", &train_idx), ("val", &val_idx), ("all", &all_idx)] {
            write_jsonl(t, idx, &file(name))?;
        }
    } else if images {
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
    // The commands must find the same classes, in the same order, in every split.
    let again: Vec<String> = if texts.is_some() {
        open_text(
            &file("all"),
            &crate::text_features::TextArgs::default().options(),
        )?
        .class_names
    } else if images {
        ImageDataset::open(&file("all"))?.classes
    } else {
        let ds = open_array_spec(&file("all").display().to_string())?;
        let k = ds.num_classes();
        ds.class_names
            .unwrap_or_else(|| (0..k).map(|i| i.to_string()).collect())
    };
    if again != names {
        bail!(
            "{spec}: its classes [{}] come back as [{}] from the split written to {}; rename \
             the classes (e.g. zero-padded numbers) so that they sort the same either way",
            names.join(", "),
            again.join(", "),
            dir.display()
        );
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

/// `spec` (svmlight, read at `width` features) written as a dense `.npz` at `out`, with its
/// labels and class names when it has them; the path written.
pub fn dense_copy(spec: &str, width: usize, out: &Path) -> anyhow::Result<String> {
    let ds = crate::vector_data::arrays(spec, Some(width))?;
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let shape = [ds.n, ds.dim()];
    let mut arrays = vec![("X", &shape[..], NpyOut::F32(&x))];
    let n = [ds.n];
    let y = ds.y.clone().unwrap_or_default();
    let names = ds.class_names.clone().unwrap_or_default();
    let k = [names.len()];
    if !y.is_empty() && y.iter().all(|&l| l >= 0) {
        arrays.push(("y", &n[..], NpyOut::I64(&y)));
        if !names.is_empty() {
            arrays.push(("class_names", &k[..], NpyOut::Str(&names)));
        }
    }
    graft_data::atomic::write_atomic(out, |w| write_npz(w, &arrays))?;
    Ok(out.display().to_string())
}

fn write_jsonl(t: &graft_data::text::TextDataset, idx: &[usize], out: &Path) -> anyhow::Result<()> {
    let mut text = String::new();
    for &i in idx {
        let line = serde_json::json!({
            "text": t.texts[i],
            "label": t.class_names[t.labels[i] as usize],
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    graft_data::atomic::write_atomic_bytes(out, text.as_bytes())?;
    Ok(())
}

fn write_manifest(ds: &ImageDataset, idx: &[usize], out: &Path) -> anyhow::Result<()> {
    let mut text = String::from("path,label\n");
    for &i in idx {
        let (p, l) = &ds.samples[i];
        let p =
            std::path::absolute(p).with_context(|| format!("{}: no absolute path", p.display()))?;
        text.push_str(&format!(
            "{},{}\n",
            csv_field(&p.display().to_string()),
            csv_field(&ds.classes[*l])
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
    let yi: Vec<i64> = idx.iter().map(|&i| y[i]).collect();
    // Class indices, with the names beside them unless they are the indices themselves.
    let plain = names.iter().enumerate().all(|(i, n)| *n == i.to_string());
    let (n, k) = ([idx.len()], [names.len()]);
    let mut arrays = vec![("X", shape.as_slice(), x), ("y", &n[..], NpyOut::I64(&yi))];
    if !plain {
        arrays.push(("class_names", &k[..], NpyOut::Str(names)));
    }
    graft_data::atomic::write_atomic(out, |w| write_npz(w, &arrays))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npz(path: &Path, y: &[i64], names: Option<&[String]>) {
        let x: Vec<u8> = (0..y.len() * 16).map(|i| (i % 251) as u8).collect();
        let shape = [y.len(), 4, 4];
        let (n, k) = ([y.len()], [names.map_or(0, |n| n.len())]);
        let mut arrays = vec![
            ("X", &shape[..], NpyOut::U8(&x)),
            ("y", &n[..], NpyOut::I64(y)),
        ];
        if let Some(n) = names {
            arrays.push(("class_names", &k[..], NpyOut::Str(n)));
        }
        graft_data::atomic::write_atomic(path, |w| write_npz(w, &arrays)).unwrap();
    }

    #[test]
    fn named_classes_keep_their_order_and_every_split_has_every_class() {
        let d = tempfile::tempdir().unwrap();
        let names: Vec<String> = ["zebra", "ant", "moth"].map(String::from).to_vec();
        let y: Vec<i64> = (0..30).map(|i| i % 3).collect();
        let p = d.path().join("d.npz");
        npz(&p, &y, Some(&names));
        let s = write(
            p.to_str().unwrap(),
            DataKind::ImagesOrArrays,
            Some(6),
            0.3,
            1,
            &d.path().join("s"),
        )
        .unwrap();
        assert_eq!((s.n_train, s.n_val, s.classes), (12, 6, 3));
        for f in [&s.train, &s.val, &s.all] {
            let ds = open_array_spec(f).unwrap();
            assert_eq!(ds.class_names.as_deref(), Some(&names[..]), "{f}");
        }
    }

    #[test]
    fn a_class_with_one_sample_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.npz");
        npz(&p, &[0, 1, 1, 0, 2], None);
        let e = write(
            p.to_str().unwrap(),
            DataKind::ImagesOrArrays,
            None,
            0.3,
            1,
            &d.path().join("s"),
        )
        .err()
        .unwrap();
        assert!(
            e.to_string().contains("class 2 has 1 labelled sample"),
            "{e}"
        );
    }
}
