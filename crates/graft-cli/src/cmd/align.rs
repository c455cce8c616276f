//! `graft align`: the flags of [`graft::align::AlignSpec`], the alignment, and its verdict
//! against the unaligned baseline printed.

use graft::align::AlignSpec;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub spec: AlignSpec,
    /// Print the result as one JSON object on stdout (`accuracy`: target accuracy in [0, 1])
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let r = graft::align::run(&a.spec)?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let method_name = format!("{:?}", r.method).to_lowercase();
    println!(
        "{method_name} alignment: {} source x {} target rows, {} -> {} features; rows \
         normalised {:?}; {} head",
        r.n_source, r.n_target, r.d, r.aligned_d, r.normalize, r.classifier
    );
    for n in &r.notes {
        println!("  note: {n}");
    }
    println!(
        "  target accuracy {:.2}%   macro-F1 {:.4}   (alignment {:.2} s)",
        100.0 * r.accuracy,
        r.macro_f1,
        r.fit_seconds
    );
    if let Some(b) = r.baseline_accuracy {
        let verdict = if r.accuracy > b {
            "alignment helped"
        } else {
            "warning: no gain over the unaligned baseline (negative transfer)"
        };
        println!(
            "  without alignment {:.2}%: {verdict} ({:+.2} points)",
            100.0 * b,
            100.0 * (r.accuracy - b)
        );
    }
    if let Some(dir) = &a.spec.out {
        println!("  aligned features written to {}", dir.display());
    }
    Ok(())
}
