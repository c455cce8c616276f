//! `graft predict RUN_DIR FILES..`: the flags of [`graft::predict::PredictSpec`] and the top-k
//! classes of each input, with probabilities, as CSV or JSON.

use super::runtime_args::InferenceArgs;
use graft::predict::PredictSpec;
use graft::weights_file::csv_field;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: PredictSpec,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    #[command(flatten)]
    pub run: InferenceArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.run.runtime()?;
    let predictions =
        graft::predict::run(&a.spec, &rt, &mut crate::progress::CliObserver::new(false))?;
    match a.format {
        Format::Csv => {
            println!("path,rank,class,probability");
            for p in &predictions {
                for (r, s) in p.top.iter().enumerate() {
                    println!(
                        "{},{},{},{:.6}",
                        csv_field(&p.path),
                        r + 1,
                        csv_field(&s.class),
                        s.probability
                    );
                }
            }
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&predictions)?),
    }
    Ok(())
}
