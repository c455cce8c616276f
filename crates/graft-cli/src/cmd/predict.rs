//! `graft predict RUN_DIR FILES..`: the top-k classes of each image, with probabilities, as CSV
//! or JSON.

use anyhow::{bail, Context};
use graft::finished_run::FinishedRun;
use graft::image_data::storage_for;
use graft::weights_file::csv_field;
use graft_data::image_io::load_preprocessed_with;
use graft_nn::precision::Autocast;
use graft_nn::train::{predict_proba, ImageTensors};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run directory written by `graft finetune` or `graft pretrain`
    pub run_dir: PathBuf,
    /// Image files (jpg, png, webp, bmp)
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    #[command(flatten)]
    pub run: crate::cmd::runtime_args::InferenceArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.run.runtime.runtime()?;
    rt.apply_threads();
    let device = rt.device;
    if a.top_k == 0 {
        bail!("--top-k must be at least 1");
    }
    let run = FinishedRun::open(
        &a.run_dir,
        &rt,
        &mut crate::progress::CliObserver::new(false),
    )?;
    let (store, fraction) = storage_for(&run.pre, run.image_size);
    let side = store.crop.expect("storage sets a crop").0 as i64;
    let mut pixels = Vec::new();
    for f in &a.files {
        let v = load_preprocessed_with(f, &store, run.decode_size)
            .with_context(|| format!("reading {}", f.display()))?;
        pixels.extend(v);
    }
    let n = a.files.len() as i64;
    let c = store.channels() as i64;
    let images = tch::Tensor::from_slice(&pixels).f_view([n, c, side, side])?;
    let mut data = ImageTensors::new(
        images,
        vec![-1; n as usize],
        run.classes.clone(),
        "the files to predict".into(),
    )?;
    data.center_fraction = fraction;
    super::warn_precision(a.run.precision, device);
    let p = {
        let _autocast = Autocast::enter(a.run.precision, device);
        predict_proba(run.loaded.model.as_ref(), &run.input, &data, device, 32)?
    };
    let k = a.top_k.min(run.classes.len()) as i64;
    let (vals, idx) = p.f_topk(k, -1, true, true)?;
    let vals = Vec::<Vec<f32>>::try_from(vals)?;
    let idx = Vec::<Vec<i64>>::try_from(idx)?;
    match a.format {
        Format::Csv => {
            println!("path,rank,class,probability");
            for (f, (v, i)) in a.files.iter().zip(vals.iter().zip(&idx)) {
                for (r, (p, c)) in v.iter().zip(i).enumerate() {
                    println!(
                        "{},{},{},{p:.6}",
                        csv_field(&f.display().to_string()),
                        r + 1,
                        csv_field(&run.classes[*c as usize])
                    );
                }
            }
        }
        Format::Json => {
            let out: Vec<_> = a
                .files
                .iter()
                .zip(vals.iter().zip(&idx))
                .map(|(f, (v, i))| {
                    json!({
                        "path": f.display().to_string(),
                        "top": v.iter().zip(i).map(|(p, c)| json!({"class": run.classes[*c as usize], "probability": p})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}
