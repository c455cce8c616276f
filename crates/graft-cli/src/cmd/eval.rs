//! `graft eval RUN_DIR --data DATA`: the flags of [`graft::eval::EvalSpec`] and the metrics
//! printed.

use super::runtime_args::InferenceArgs;
use graft::eval::EvalSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: EvalSpec,
    #[command(flatten)]
    pub run: InferenceArgs,
    /// Print the metrics as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.run.runtime()?;
    let m = graft::eval::run(&a.spec, &rt, &mut crate::progress::CliObserver::new(a.json))?;
    if a.json {
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    println!(
        "{} on {}: accuracy {:.2}%  macro-F1 {:.4}  ({} samples)",
        m.run_dir,
        m.data,
        100.0 * m.accuracy,
        m.macro_f1,
        m.n
    );
    for (c, acc) in m.classes.iter().zip(&m.per_class_accuracy) {
        match acc {
            Some(a) => println!("  {c:>20}  {:.2}%", 100.0 * a),
            None => println!("  {c:>20}  (no sample)"),
        }
    }
    Ok(())
}
