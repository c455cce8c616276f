//! `graft rank`: the flags of [`graft::rank::RankSpec`], the ranking, and its table printed.

use super::runtime_args::InferenceArgs;
use graft::rank::RankSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: RankSpec,
    #[command(flatten)]
    pub run: InferenceArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let rt = a.run.runtime()?;
    let ranking = graft::rank::run(&a.spec, &rt, &mut crate::progress::CliObserver::new(a.json))?;
    if a.json {
        println!("{}", serde_json::to_string(&ranking)?);
        return Ok(());
    }
    println!(
        "{:>4}  {:<20} {:<10} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "rank", "model", "stage", "dim", "LogME", "H-score", "LEEP", "NCE"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.4}", v + 0.0));
    for c in &ranking.candidates {
        println!(
            "{:>4}  {:<20} {:<10} {:>6} {:>10.4} {:>10.4} {:>10} {:>10}{}",
            c.rank,
            c.model,
            c.stage,
            c.dim,
            c.logme,
            c.hscore,
            opt(c.leep),
            opt(c.nce),
            if c.cached { "  (cached)" } else { "" }
        );
    }
    println!(
        "ordered by {:?}: higher predicts better transfer",
        a.spec.score
    );
    Ok(())
}
