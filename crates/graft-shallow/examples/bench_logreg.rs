//! Times `LogisticRegression::fit` on the `.npy` files `scripts/bench/probe_logreg.py` writes and
//! prints one JSON line; the script prints the ratio against scikit-learn.
//!
//! cargo run --release -p graft-shallow --example bench_logreg -- X.npy Y.npy [--c 1] [--tol 1e-4]
//!     [--max-iter 100] [--threads 2] [--runs 2]

#[path = "../tests/common/npy.rs"]
mod npy;

use graft_shallow::{CSpec, LogisticRegression, Matrix};
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: bench_logreg X.npy Y.npy [--c C] [--tol T] [--max-iter N] [--threads N] [--runs N]".into());
    }
    let opt = |name: &str, default: f64| -> Result<f64, Box<dyn std::error::Error>> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args
                .get(i + 1)
                .ok_or(format!("{name} needs a value"))?
                .parse()?),
            None => Ok(default),
        }
    };
    let threads = opt("--threads", 2.0)? as usize;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let xa = npy::read_npy(Path::new(&args[0]))?;
    let ya = npy::read_npy(Path::new(&args[1]))?;
    let x = Matrix::new(xa.shape[0], xa.shape[1], xa.data)?;
    let y = ya.labels();
    let est = LogisticRegression {
        c: CSpec::Fixed(opt("--c", 1.0)?),
        tol: opt("--tol", 1e-4)?,
        max_iter: opt("--max-iter", 100.0)? as usize,
        ..Default::default()
    };
    let mut times = Vec::new();
    let mut model = None;
    for _ in 0..opt("--runs", 2.0)? as usize {
        let t0 = Instant::now();
        let m = est.fit(&x, &y, None)?;
        times.push(t0.elapsed().as_secs_f64());
        model = Some(m);
    }
    let model = model.ok_or("--runs must be at least 1")?;
    let pred = model.predict(&x)?;
    let acc = pred.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64;
    let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
    println!(
        "{{\"side\": \"graft\", \"seconds\": {best}, \"all_seconds\": {times:?}, \"n_iter\": {}, \"n_eval\": {}, \"objective\": {}, \"grad_max\": {}, \"train_accuracy\": {acc}, \"threads\": {threads}}}",
        model.n_iter(),
        model.n_eval(),
        model.objective(),
        model.grad_max()
    );
    Ok(())
}
