//! Joint distribution adaptation (JDA) between two feature arrays, as a Rust program: align a
//! labelled source to an unlabelled target and compare 1-NN target accuracy before and after.
//!
//!     cargo run --release -p graft --example jda_arrays -- SOURCE.npz TARGET.npz
//!
//! Each file holds `X` (n x d) and `y`; the target's labels are used only to score. With no
//! arguments it renders clean source digits and shifted target digits (colour, texture, noise)
//! and adapts between their pixels.

use graft_data::arrays::open_array_spec;
use graft_data::npy::{write_npz, NpyOut};
use graft_data::synth_digits::{render, DigitDomain};
use graft_shallow::align::{l2_normalise_rows as l2, Domains, Jda};
use graft_shallow::{KNeighborsClassifier, Matrix};
use std::path::Path;

/// `n` digits of `domain` as an .npz of grey pixels scaled to [0, 1].
fn digits(path: &Path, domain: DigitDomain, n: usize, seed: u64) -> anyhow::Result<()> {
    let d = render(domain, n, seed);
    let x: Vec<f32> = d
        .pixels
        .chunks(3)
        .map(|p| (p[0] as f32 + p[1] as f32 + p[2] as f32) / 765.0)
        .collect();
    write_npz(
        std::fs::File::create(path)?,
        &[
            ("X", &[n, 28 * 28], NpyOut::F32(&x)),
            ("y", &[n], NpyOut::I64(&d.labels)),
        ],
    )?;
    Ok(())
}

/// Features and labels of an array file.
fn open(spec: &str) -> anyhow::Result<(Matrix, Vec<usize>)> {
    let ds = open_array_spec(spec)?;
    let y =
        ds.y.as_ref()
            .ok_or_else(|| anyhow::anyhow!("{spec}: no labels (`y`)"))?;
    let y = y.iter().map(|&v| v.max(0) as usize).collect();
    Ok((Matrix::new(ds.n, ds.dim(), ds.x)?, y))
}

fn one_nn_accuracy(xs: &Matrix, ys: &[usize], xt: &Matrix, yt: &[usize]) -> anyhow::Result<f64> {
    let knn = KNeighborsClassifier {
        k: Some(1),
        ..KNeighborsClassifier::default()
    };
    let fitted = knn.fit(xs, ys, None)?;
    let pred = fitted.predict(xt)?;
    Ok(pred.iter().zip(yt).filter(|(p, t)| p == t).count() as f64 / yt.len() as f64)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let work = tempfile::tempdir()?;
    let (source, target) = match args.as_slice() {
        [s, t] => (s.clone(), t.clone()),
        _ => {
            let (s, t) = (
                work.path().join("source.npz"),
                work.path().join("target.npz"),
            );
            digits(&s, DigitDomain::Source, 500, 1)?;
            digits(&t, DigitDomain::Target, 500, 2)?;
            (s.display().to_string(), t.display().to_string())
        }
    };
    // As Long et al.'s code (and `graft align --method jda` by default): rows scaled to unit
    // length before JDA, and the embedded rows again before 1-NN.
    let (xs, ys) = open(&source)?;
    let (xt, yt) = open(&target)?;
    let (xs, xt) = (l2(&xs), l2(&xt));
    let before = one_nn_accuracy(&xs, &ys, &xt, &yt)?;
    // JDA as its paper runs it: 100 components, 10 rounds of pseudo-labels, no kernel.
    let fitted = Jda::default().fit(&Domains::new(&xs, &ys, &xt))?;
    let after = one_nn_accuracy(&l2(&fitted.source), &ys, &l2(&fitted.target), &yt)?;
    println!(
        "1-NN target accuracy: {:.1}% on the raw features, {:.1}% after JDA ({} -> {} dimensions): {}",
        100.0 * before,
        100.0 * after,
        xs.cols(),
        fitted.source.cols(),
        if after > before {
            "JDA helped"
        } else {
            "negative transfer: keep the raw features (pixels of very different domains rarely \
             align linearly; try features from `graft extract`)"
        }
    );
    Ok(())
}
