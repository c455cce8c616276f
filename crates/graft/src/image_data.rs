//! Opening a training or evaluation set for the deep side, whatever its form: an image folder
//! or manifest (decoded once, stored at the model's resize size), or an array file (MNIST IDX,
//! .npz, ...). `file.npz:train` picks the arrays `train_X` and `train_y` of an archive that
//! holds several splits.

use crate::observe::{Observer, Task};
use anyhow::Context;
use graft_data::arrays::open_array_spec;
use graft_data::image_folder::{ImageDataset, OpenOptions};
use graft_data::image_io::DecodeSize;
use graft_data::loader::{image_batches, LoaderOptions};
use graft_data::preprocess::{ColorMode, Normalization, Preprocess};
use graft_nn::train::Samples;
use std::path::Path;
use std::sync::Arc;

/// Whether `spec` names images (a folder or a CSV manifest) rather than an array file.
pub fn is_image_source(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    csv && std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_ascii_lowercase()))
        .is_some_and(|h| h.starts_with("path"))
}

/// How images from folders are stored: the model's preprocessing with the shorter side resized
/// to `resize` and a square centre crop of that size, so that training can draw random crops
/// and evaluation takes the centre `crop / resize` of it as the model's recipe does.
pub fn storage_for(pre: &Preprocess, image_size: Option<i64>) -> (Preprocess, f64) {
    let crop = pre.crop.map_or(224, |(h, _)| h as i64);
    let resize = pre.resize_shorter.map_or(crop, |r| r as i64);
    let (crop, resize) = match image_size {
        Some(s) => (s, ((s as f64) * resize as f64 / crop as f64).round() as i64),
        None => (crop, resize),
    };
    let store = Preprocess {
        resize_shorter: Some(resize as u32),
        crop: Some((resize as u32, resize as u32)),
        interpolation: pre.interpolation,
        color: if pre.color == ColorMode::Gray {
            ColorMode::Gray
        } else {
            ColorMode::Rgb
        },
        normalization: Normalization::UnitRange,
    };
    (store, crop as f64 / resize as f64)
}

/// Opens `spec` as labelled images for a model with preprocessing `pre`.
pub fn open(
    spec: &str,
    pre: &Preprocess,
    image_size: Option<i64>,
    threads: usize,
    decode_size: DecodeSize,
    obs: &mut dyn Observer,
) -> anyhow::Result<Samples> {
    let path = Path::new(spec);
    if !path.exists() || !is_image_source(path) {
        let ds = open_array_spec(spec).with_context(|| format!("reading {spec}"))?;
        return Ok(Samples::from_arrays(&ds)?);
    }
    let ds = Arc::new(
        ImageDataset::open_with(path, OpenOptions { min_classes: 1 })
            .with_context(|| format!("reading the dataset at {spec}"))?,
    );
    let (store, fraction) = storage_for(pre, image_size);
    let side = store.crop.expect("storage sets a crop").0 as usize;
    let c = store.channels();
    let loader = image_batches(
        ds.clone(),
        store,
        LoaderOptions {
            batch_size: 32,
            threads,
            decode_size,
            ..LoaderOptions::default()
        },
    )?;
    let label = format!("decoding {spec}");
    let mut task = Task::start(obs, &label, ds.samples.len() as u64, "images");
    let mut pixels = Vec::with_capacity(ds.samples.len() * c * side * side);
    let mut labels = Vec::with_capacity(ds.samples.len());
    for batch in loader {
        let batch = batch?;
        task.advance(batch.indices.len() as u64);
        pixels.extend(batch.data.iter().map(|&v| (v * 255.0).round() as u8));
        labels.extend(batch.indices.iter().map(|&i| ds.samples[i].1 as i64));
    }
    drop(task);
    let n = labels.len() as i64;
    let images =
        tch::Tensor::from_slice(&pixels).f_view([n, c as i64, side as i64, side as i64])?;
    let mut t = Samples::new(images, labels, ds.classes.clone(), spec.to_string())?;
    t.center_fraction = fraction;
    Ok(t)
}
