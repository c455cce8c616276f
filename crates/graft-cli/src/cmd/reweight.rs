//! `graft reweight`: the flags of [`graft::reweight::ReweightSpec`], the weights, and their
//! summary (chosen parameters, effective sample size, histogram, effect) printed.

use graft::reweight::ReweightSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: ReweightSpec,
    /// Print the result as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let r = graft::reweight::run(&a.spec, &mut crate::progress::CliObserver::new(a.json))?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let method_name = format!("{:?}", r.method).to_lowercase();
    let (n_s, ess) = (r.n_source, r.effective_sample_size);
    println!(
        "{method_name}: {n_s} source x {} target rows, {} features ({:.2} s)",
        r.n_target, r.d, r.fit_seconds
    );
    for (k, v) in &r.chosen {
        println!("  chosen {k} = {v}");
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    println!(
        "  effective sample size {ess:.1} of {n_s} ({:.1}%)",
        100.0 * ess / n_s.max(1) as f64
    );
    let top = r.histogram.iter().map(|h| h.2).max().unwrap_or(1).max(1);
    println!("  weight histogram");
    for (lo, hi, c) in &r.histogram {
        let bar = "#".repeat((40 * c).div_ceil(top));
        println!("  [{lo:>9.4}, {hi:>9.4}) {c:>7} {bar}");
    }
    if let (Some(acc), Some(base), Some(head), Some(on)) = (
        r.accuracy,
        r.baseline_accuracy,
        &r.classifier,
        &r.checked_on,
    ) {
        let verdict = if acc > base {
            "the weights helped"
        } else {
            "warning: no gain over the unweighted source (negative transfer)"
        };
        println!(
            "  {head} on {on}: {:.2}% weighted vs {:.2}% unweighted: {verdict}",
            100.0 * acc,
            100.0 * base
        );
    }
    println!("  weights written to {}", r.out);
    if let Some(p) = &r.report {
        println!("  report written to {}", p.display());
    }
    Ok(())
}
