//! `graft extract`: run a frozen backbone once over a dataset and save the features, with
//! everything needed to trust and reuse them later (model, weights hash, stage, preprocessing,
//! class names, file paths).

use crate::text_features::TextArgs;
use anyhow::{bail, Context};
use graft_data::features::FeatureSet;
use graft_data::image_folder::{ImageDataset, OpenOptions};
use graft_data::loader::{image_batches, ImageBatch, LoaderOptions};
use graft_nn::models::bert::load::is_text_model;
use graft_nn::precision::{Autocast, Precision};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Registry name of the backbone (see `graft models`), or a text model folder
    /// (config.json, tokenizer.json and weights of a BERT, MiniLM or DistilBERT encoder, as
    /// Hugging Face and sentence-transformers save them)
    #[arg(long)]
    pub(crate) model: String,
    /// Pretrained weights: a .safetensors or PyTorch .pth file, a folder holding one, or
    /// hf:ORG/NAME[@REV] from the Hugging Face cache. Without it the backbone is randomly
    /// initialised (from --seed), which is rarely what you want.
    #[arg(long)]
    pub(crate) weights: Option<String>,
    /// Images: a folder with one subfolder per class (torchvision ImageFolder layout), or a CSV
    /// manifest with columns path,label. Texts (with a text model): JSONL, CSV/TSV with text and
    /// label columns, a folder with one subfolder of .txt files per class, or Blitzer .review
    /// files
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Take the features at the end of this stage instead of the last one
    #[arg(long)]
    pub(crate) stage: Option<String>,
    /// Output file (.safetensors or .npz)
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Output format; by default taken from the extension of --out
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
    #[arg(long, default_value_t = 32)]
    pub(crate) batch_size: usize,
    /// Threads for libtorch and for image decoding (default: all cores)
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Seeds random initialisation when no --weights are given
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// cpu, cuda, cuda:N or auto
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    #[arg(long, default_value_t = Precision::Fp32, help = super::PRECISION_HELP)]
    pub(crate) precision: Precision,
    /// Skip unreadable or corrupt images (counted in the summary) instead of stopping
    #[arg(long)]
    pub(crate) skip_bad: bool,
    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) text: TextArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Safetensors,
    Npz,
}

impl Format {
    fn from_path(p: &Path) -> Format {
        match p.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("npz") => Format::Npz,
            _ => Format::Safetensors,
        }
    }
}

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
    pub quiet: bool,
    /// How texts are read, for a text model.
    pub text: &'a TextArgs,
}

/// Extracted features, and the images left out with `skip_bad`.
pub struct Extracted {
    pub set: FeatureSet,
    pub skipped: Vec<(PathBuf, String)>,
    /// `(n, source classes)` softmax outputs when asked for.
    pub source_probs: Option<(Vec<f32>, usize)>,
}

/// Runs the backbone once over the dataset.
pub fn extract(r: &Request<'_>) -> anyhow::Result<Extracted> {
    if r.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if is_text_model(r.model) {
        return crate::text_features::extract_text(r);
    }
    tch::manual_seed(r.seed as i64);
    let spec = graft_nn::models::find(r.model)?;
    let head_classes = r.with_source_probs.then_some(spec.default_classes);
    let loaded = crate::backbone_load::load(
        r.model,
        r.weights,
        head_classes,
        r.device,
        !r.with_source_probs,
    )?;
    let mut model = loaded.model;
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
            if !r.quiet {
                eprintln!(
                    "warning: no --weights given: {} is randomly initialised",
                    spec.name
                );
            }
            meta.insert("weights".into(), format!("random-init seed={}", r.seed));
        }
    }

    let ds = ImageDataset::open_with(r.data, OpenOptions { min_classes: 1 })
        .with_context(|| format!("reading the dataset at {}", r.data.display()))?;
    let ds = Arc::new(ds);
    let pre = model.preprocess();
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
            ..LoaderOptions::default()
        },
    )?;

    let pb = crate::progress::bar(ds.samples.len() as u64, "images", r.quiet);
    pb.set_message(format!("{} {}", spec.name, stage));
    let mut features: Vec<f32> = Vec::with_capacity(ds.samples.len() * 512);
    let mut probs: Vec<f32> = Vec::new();
    let mut labels = Vec::with_capacity(ds.samples.len());
    let mut paths = Vec::with_capacity(ds.samples.len());
    let mut skipped = Vec::new();
    let mut d = 0usize;
    let last = model.stage_position(None)?;
    let at = model.stage_position(Some(&stage))?;
    let _guard = tch::no_grad_guard();
    super::warn_precision(r.precision, r.device);
    let _autocast = Autocast::enter(r.precision, r.device);
    for batch in loader {
        let mut batch = batch?;
        pb.inc((batch.indices.len() + batch.skipped.len()) as u64);
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
    pb.finish_and_clear();
    if labels.is_empty() {
        bail!(
            "{}: no image could be read ({} skipped)",
            r.data.display(),
            skipped.len()
        );
    }

    meta.insert("model".into(), spec.name.to_string());
    meta.insert("stage".into(), stage.clone());
    meta.insert("precision".into(), r.precision.to_string());
    meta.insert(
        "decode_size".into(),
        graft_data::image_io::DecodeSize::process_default()
            .name()
            .into(),
    );
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let threads = crate::threads::resolve(args.threads);
    crate::threads::configure_torch(threads);
    let device = graft_nn::device::parse_device(&args.device)?;
    let format = args.format.unwrap_or_else(|| Format::from_path(&args.out));
    let Extracted { set, skipped, .. } = extract(&Request {
        model: &args.model,
        weights: args.weights.as_deref(),
        data: &args.data,
        stage: args.stage.as_deref(),
        batch_size: args.batch_size,
        threads,
        seed: args.seed,
        device,
        precision: args.precision,
        skip_bad: args.skip_bad,
        with_source_probs: false,
        quiet: args.json,
        text: &args.text,
    })?;
    match format {
        Format::Safetensors => set.write_safetensors(&args.out),
        Format::Npz => set.write_npz(&args.out),
    }
    .with_context(|| format!("writing {}", args.out.display()))?;
    let (n, d) = (set.n, set.d);
    let stage = set.metadata["stage"].clone();
    let model_name = set.metadata["model"].clone();
    let classes = set.class_names.len();

    let secs = t0.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    let unit = if set.metadata.contains_key("max_length") {
        "texts"
    } else {
        "images"
    };
    let truncated: usize = set
        .metadata
        .get("texts_truncated")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    if args.json {
        let mut v = json!({
            "command": "extract",
            "out": args.out.display().to_string(),
            "format": format!("{format:?}").to_lowercase(),
            "model": model_name,
            "stage": stage,
            "n": n,
            "d": d,
            "classes": classes,
            "skipped": skipped.len(),
            "skipped_files": skipped.iter().map(|(p, why)| json!({"path": p.display().to_string(), "error": why})).collect::<Vec<_>>(),
            "seconds": secs,
            "texts_truncated": truncated,
            "threads": threads,
            "device": args.device,
            "precision": args.precision.to_string(),
        });
        v[format!("{unit}_per_second")] = json!(rate);
        println!("{v}");
    } else {
        println!(
            "extracted {n} x {d} features ({} at {stage}) from {} in {secs:.1} s ({rate:.1} {unit}/s) -> {}",
            model_name,
            args.data.display(),
            args.out.display()
        );
        if truncated > 0 {
            println!("{truncated} of {n} texts were longer than the token limit and were cut");
        }
        if !skipped.is_empty() {
            println!("skipped {} unreadable file(s):", skipped.len());
            for (p, why) in &skipped {
                println!("  {}: {why}", p.display());
            }
        }
    }
    Ok(())
}
