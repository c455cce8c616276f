//! `graft eval RUN_DIR --data DIR`: the metrics of a finished run's model on a labelled set.

use anyhow::bail;
use graft::finished_run::FinishedRun;
use graft::image_data;
use graft_nn::precision::Autocast;
use graft_nn::train::evaluate;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run directory written by `graft pretrain`, `graft finetune` or `graft adapt`
    pub run_dir: PathBuf,
    /// Labelled images (folder, manifest) or arrays, with the run's classes
    #[arg(long)]
    pub data: String,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[command(flatten)]
    pub run: crate::cmd::runtime_args::InferenceArgs,
    /// Print the metrics as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.run.runtime.runtime()?;
    let threads = rt.apply_threads();
    let device = rt.device;
    let mut obs = crate::progress::CliObserver::new(a.json);
    let run = FinishedRun::open(&a.run_dir, &rt, &mut obs)?;
    let data = image_data::open(
        &a.data,
        &run.pre,
        run.image_size,
        threads,
        run.decode_size,
        &mut obs,
    )?;
    if data.class_names != run.classes {
        bail!(
            "{} has classes [{}] but the run was trained on [{}]",
            a.data,
            data.class_names.join(", "),
            run.classes.join(", ")
        );
    }
    super::warn_precision(a.run.precision, device);
    let autocast = Autocast::enter(a.run.precision, device);
    let m = evaluate(
        run.loaded.model.as_ref(),
        &run.input,
        &data,
        device,
        a.batch_size.max(1),
    )?;
    drop(autocast);
    if a.json {
        println!(
            "{}",
            json!({
                "command": "eval",
                "run_dir": a.run_dir.display().to_string(),
                "data": a.data,
                "n": m.n,
                "precision": a.run.precision.to_string(),
                "accuracy": m.accuracy,
                "macro_f1": m.macro_f1,
                "per_class_accuracy": m.per_class_accuracy,
                "confusion": m.confusion,
                "classes": run.classes,
            })
        );
    } else {
        println!(
            "{} on {}: accuracy {:.2}%  macro-F1 {:.4}  ({} samples)",
            a.run_dir.display(),
            a.data,
            100.0 * m.accuracy,
            m.macro_f1,
            m.n
        );
        for (c, acc) in run.classes.iter().zip(&m.per_class_accuracy) {
            match acc {
                Some(a) => println!("  {c:>20}  {:.2}%", 100.0 * a),
                None => println!("  {c:>20}  (no sample)"),
            }
        }
    }
    Ok(())
}
