//! `graft extract`: run a frozen backbone once over a dataset and save the features, with
//! everything needed to trust and reuse them later (model, weights hash, stage, preprocessing,
//! class names, file paths).

use anyhow::Context;
use graft::extract::{extract, Extracted, Request};
use graft::text_features::TextArgs;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// A vision transformer's pooling: `token` (the class token), `avg` (the mean of the patch
    /// tokens) or `token+avg` (both concatenated, DINOv2's linear-probe protocol); default the
    /// model's own
    #[arg(long)]
    pub(crate) pool: Option<graft_nn::models::vit::Pool>,
    /// Output file (.safetensors or .npz)
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Output format; by default taken from the extension of --out
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
    #[arg(long, default_value_t = 32)]
    pub(crate) batch_size: usize,
    #[command(flatten)]
    pub run: crate::cmd::runtime_args::InferenceArgs,
    /// Seeds random initialisation when no --weights are given
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let rt = args.run.runtime.runtime()?;
    let threads = rt.apply_threads();
    let format = args.format.unwrap_or_else(|| Format::from_path(&args.out));
    let Extracted { set, skipped, .. } = extract(
        &Request {
            model: &args.model,
            weights: args.weights.as_deref(),
            data: &args.data,
            stage: args.stage.as_deref(),
            batch_size: args.batch_size,
            threads,
            seed: args.seed,
            device: rt.device,
            precision: args.run.precision,
            skip_bad: args.skip_bad,
            with_source_probs: false,
            decode_size: graft::decode_size::for_new_run(rt.decode_size),
            text: &args.text,
            pool: args.pool,
        },
        &mut crate::progress::CliObserver::new(args.json),
    )?;
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
            "device": args.run.runtime.device,
            "precision": args.run.precision.to_string(),
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
