//! `graft report`: a run's report.html, built again or compared across runs.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directories; one rebuilds its report.html, several are compared side by side
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Where to write: default RUN/report.html for one run, ./report-compare.html for several
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let path = match a.runs.as_slice() {
        [one] => graft::report::write_run_report(one, a.out.as_deref())?,
        many => {
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from(graft::report::COMPARE_FILE));
            graft::report::write_comparison(many, &out)?
        }
    };
    println!("{}", path.display());
    Ok(())
}
