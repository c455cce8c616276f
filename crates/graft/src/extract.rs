//! Running a frozen backbone once over a dataset to get its features, with everything needed
//! to trust and reuse them later (model, weights hash, stage, preprocessing, decode size, class
//! names, file paths): `graft extract`, and the features behind `probe`, `rank` and the
//! feature cache.

use crate::model_ref::ModelRef;
use crate::observe::{Observer, Task};
use crate::text_features::TextArgs;
use anyhow::{bail, Context};
use graft_data::features::FeatureSet;
use graft_data::image_folder::{ImageDataset, OpenOptions};
use graft_data::image_io::DecodeSize;
use graft_data::loader::{image_batches, ImageBatch, LoaderOptions};
use graft_nn::models::vit::Pool;
use graft_nn::precision::{Autocast, Precision};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// What to extract: everything that determines the features (and so the cache key).
pub struct Request<'a> {
    pub model: &'a str,
    pub weights: Option<&'a str>,
    pub data: &'a Path,
    pub stage: Option<&'a str>,
    pub batch_size: usize,
    pub threads: usize,
    pub seed: u64,
    pub device: Device,
    pub precision: Precision,
    pub skip_bad: bool,
    /// Also keep the model's own classifier outputs (softmax over the source classes, for
    /// LEEP); the weights must then include the head.
    pub with_source_probs: bool,
    /// How JPEGs are decoded (part of what determines the features).
    pub decode_size: DecodeSize,
    /// How texts are read, for a text model.
    pub text: &'a TextArgs,
    /// A vision transformer's pooling other than its default (`None`: the model's own).
    pub pool: Option<Pool>,
}

impl<'a> Request<'a> {
    /// Features of `data` at the last stage of `model` (random weights until
    /// [`Request::weights`] is set; text models carry their own), in fp32 on the CPU with every
    /// core, JPEGs decoded at reduced size; `text` says how texts are read for a text model.
    pub fn new(model: &'a str, data: &'a Path, text: &'a TextArgs) -> Request<'a> {
        Request {
            model,
            weights: None,
            data,
            stage: None,
            batch_size: 32,
            threads: crate::threads::resolve(None),
            seed: 0,
            device: Device::Cpu,
            precision: Precision::Fp32,
            skip_bad: false,
            with_source_probs: false,
            decode_size: DecodeSize::default(),
            text,
            pool: None,
        }
    }
}

/// Extracted features, and the images left out with `skip_bad`.
pub struct Extracted {
    pub set: FeatureSet,
    pub skipped: Vec<(PathBuf, String)>,
    /// `(n, source classes)` softmax outputs when asked for.
    pub source_probs: Option<(Vec<f32>, usize)>,
}

/// Runs the backbone once over the dataset.
pub fn extract(r: &Request<'_>, obs: &mut dyn Observer) -> anyhow::Result<Extracted> {
    if r.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    match ModelRef::resolve(r.model)? {
        // A text encoder pools as its own configuration says; the option would go unused.
        ModelRef::Text(_) if r.pool.is_some() => bail!(
            "--pool applies to the vision transformers; the text model {} pools as its \
             configuration says",
            r.model
        ),
        ModelRef::Text(_) => return crate::text_features::extract_text(r, obs),
        ModelRef::Mlp => bail!(
            "the mlp model reads feature vectors, which are features already; extract runs an \
             image or text model"
        ),
        ModelRef::Image(_) => {}
    }
    tch::manual_seed(r.seed as i64);
    let spec = graft_nn::models::find(r.model)?;
    if r.with_source_probs && spec.default_classes == 0 {
        bail!(
            "--with-source-probs needs the model's own classifier; {}'s published weights have \
             none",
            spec.name
        );
    }
    let head_classes = r.with_source_probs.then_some(spec.default_classes);
    let loaded = crate::backbone_load::load(
        r.model,
        r.weights,
        head_classes,
        r.device,
        !r.with_source_probs,
    )?;
    let mut model = loaded.model;
    if let Some(p) = r.pool {
        model.set_pool(p)?;
    }
    // Inference only from here: one kernel per convolution and its BatchNorm (15-20 % faster in
    // fp32). Under a half precision the depthwise ones stay (see `fold_batch_norms`).
    model.fold_batch_norms(r.precision != Precision::Fp32)?;
    let stage = model.stage(r.stage)?.name.to_string();

    let mut meta = BTreeMap::new();
    match &loaded.weights {
        Some(w) => {
            tracing::info!(loaded = w.loaded, "weights");
            meta.insert("weights".into(), w.path.display().to_string());
            meta.insert("weights_sha256".into(), w.sha256.clone());
        }
        None => {
            obs.warn(&format!(
                "no --weights given: {} is randomly initialised",
                spec.name
            ));
            meta.insert("weights".into(), format!("random-init seed={}", r.seed));
        }
    }

    let ds = ImageDataset::open_with(r.data, OpenOptions { min_classes: 1 })
        .with_context(|| format!("reading the dataset at {}", r.data.display()))?;
    let ds = Arc::new(ds);
    let pre = model
        .input()
        .preprocess()
        .cloned()
        .context("an image model")?;
    let loader = image_batches(
        ds.clone(),
        pre.clone(),
        LoaderOptions {
            batch_size: r.batch_size,
            // As many decoders as kernel threads: they sleep while the bounded prefetch queue
            // is full, so they only share the cores when decoding is what the run waits for
            // (with one decoder on 2 cores, Lite0 ran 14 % slower, and 45 % on 12-megapixel
            // photos).
            threads: r.threads,
            shuffle: false,
            seed: r.seed,
            skip_bad: r.skip_bad,
            channels_last: model.channels_last(),
            decode_size: r.decode_size,
            ..LoaderOptions::default()
        },
    )?;

    let label = format!("{} {}", spec.name, stage);
    let mut features: Vec<f32> = Vec::with_capacity(ds.samples.len() * 512);
    let mut probs: Vec<f32> = Vec::new();
    let mut labels = Vec::with_capacity(ds.samples.len());
    let mut paths = Vec::with_capacity(ds.samples.len());
    let mut skipped = Vec::new();
    let mut d = 0usize;
    let last = model.stage_position(None)?;
    let at = model.stage_position(Some(&stage))?;
    let _guard = tch::no_grad_guard();
    if let Some(a) = r.precision.advice(r.device) {
        obs.warn(a);
    }
    let mut task = Task::start(obs, &label, ds.samples.len() as u64, "images");
    let _autocast = Autocast::enter(r.precision, r.device);
    for batch in loader {
        let mut batch = batch?;
        task.advance((batch.indices.len() + batch.skipped.len()) as u64);
        skipped.extend(batch.skipped.iter().cloned());
        if batch.indices.is_empty() {
            continue;
        }
        // SAFETY: `x` and everything computed from it are locals of this iteration, declared
        // after `batch` and so dropped before it; what is kept (features, probabilities) is
        // copied out into Vecs.
        let x = unsafe { batch_tensor(&mut batch) }?.f_to_device(r.device)?;
        let raw = model.forward_stages(&x, 0, at, false)?;
        let f = model.pool_stage(&raw, at)?;
        if r.with_source_probs {
            let rest = if at < last {
                model.forward_stages(&raw, at + 1, last, false)?
            } else {
                raw
            };
            let p = model
                .forward_head(&model.pool_stage(&rest, last)?, false)?
                .f_softmax(-1, Kind::Float)?
                .f_to_device(Device::Cpu)?;
            probs.extend(Vec::<f32>::try_from(p.f_flatten(0, -1)?)?);
        }
        let f = f
            .f_to_kind(Kind::Float)?
            .f_to_device(Device::Cpu)?
            .f_contiguous()?;
        d = f.size()[1] as usize;
        features.extend(Vec::<f32>::try_from(f.f_flatten(0, -1)?)?);
        for &i in &batch.indices {
            let (p, l) = &ds.samples[i];
            labels.push(*l as i64);
            paths.push(p.display().to_string());
        }
    }
    drop(task);
    if labels.is_empty() {
        bail!(
            "{}: no image could be read ({} skipped)",
            r.data.display(),
            skipped.len()
        );
    }

    meta.insert("model".into(), spec.name.to_string());
    meta.insert("stage".into(), stage.clone());
    if let Some(p) = r.pool {
        meta.insert("pool".into(), p.name().into());
    }
    meta.insert("precision".into(), r.precision.to_string());
    meta.insert("decode_size".into(), r.decode_size.name().into());
    meta.insert("preprocess".into(), serde_json::to_string(&pre)?);
    meta.insert("data".into(), r.data.display().to_string());
    meta.insert(
        "graft_version".into(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    let n = labels.len();
    let source_probs = r.with_source_probs.then(|| {
        let k = probs.len() / n.max(1);
        (probs, k)
    });
    Ok(Extracted {
        set: FeatureSet {
            features,
            n,
            d,
            labels,
            class_names: ds.classes.clone(),
            paths,
            metadata: meta,
        },
        skipped,
        source_probs,
    })
}

/// The batch as an NCHW float tensor over the batch's own memory, in its layout (channels-last
/// strides when the loader wrote HWC): no copy.
///
/// # Safety
/// The tensor, and every tensor that shares its memory, must be dropped before `batch` is
/// dropped or moved; libtorch neither owns nor frees the memory it is lent.
unsafe fn batch_tensor(batch: &mut ImageBatch) -> anyhow::Result<Tensor> {
    let [n, c, h, w] = batch.shape.map(|v| v as i64);
    let strides = if batch.channels_last {
        [c * h * w, 1, w * c, c]
    } else {
        [c * h * w, h * w, w, 1]
    };
    anyhow::ensure!(
        batch.data.len() == (n * c * h * w) as usize,
        "a batch of {} values for shape {:?}",
        batch.data.len(),
        batch.shape
    );
    // SAFETY: the pointer covers n*c*h*w float32 values (checked above), the strides stay
    // within them, it comes from a unique borrow, and the caller keeps `batch` alive.
    Ok(unsafe {
        Tensor::f_from_blob(
            batch.data.as_mut_ptr() as *const u8,
            &[n, c, h, w],
            &strides,
            Kind::Float,
            Device::Cpu,
        )?
    })
}
