//! Alignment methods against NumPy / SciPy written from the papers and against ADAPT 0.4.5, on
//! the small seeded problem of `tests/fixtures/align_synth.npz` (made by
//! scripts/reference/align_reference.py): 40 source rows, 32 target rows, 8 labelled target
//! rows, 6 features, 3 classes, subspaces of dimension 3.

mod common;

use common::{max_diff, Fixture};
use graft_shallow::align::{
    AlignMethod, Aligned, Coral, Domains, FeatureAugmentation, Jda, LambdaScale, Pca,
    SubspaceAlignment, Tca,
};
use graft_shallow::{Kernel, Matrix};

struct Problem {
    f: Fixture,
    xs: Matrix,
    ys: Vec<usize>,
    xt: Matrix,
    xl: Matrix,
    yl: Vec<usize>,
    xnew: Matrix,
}

fn problem() -> Problem {
    let f = Fixture::load("align_synth.npz");
    Problem {
        xs: f.matrix("xs"),
        ys: f.labels("ys"),
        xt: f.matrix("xt"),
        xl: f.matrix("xl"),
        yl: f.labels("yl"),
        xnew: f.matrix("xnew"),
        f,
    }
}

impl Problem {
    fn fit(&self, m: AlignMethod) -> Aligned {
        let d = Domains {
            source: &self.xs,
            source_labels: &self.ys,
            target: &self.xt,
            target_labelled: Some((&self.xl, &self.yl)),
        };
        m.fit(&d).unwrap()
    }

    /// Our matrix against the fixture's, relative to the fixture's largest entry.
    fn check(&self, what: &str, ours: &Matrix, key: &str, tol: f64) {
        let want = self.f.matrix(key);
        assert_eq!(
            (ours.rows(), ours.cols()),
            (want.rows(), want.cols()),
            "{what}: shape"
        );
        let scale = want.data().iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        let diff = max_diff(ours.data(), want.data()) / scale;
        assert!(diff < tol, "{what}: relative difference {diff:e} vs {key}");
    }
}

fn columns_centred(x: &Matrix) -> Matrix {
    let mut out = x.clone();
    for j in 0..x.cols() {
        let mean = (0..x.rows()).map(|i| x.get(i, j)).sum::<f64>() / x.rows() as f64;
        for i in 0..x.rows() {
            out.row_mut(i)[j] -= mean;
        }
    }
    out
}

/// Flips our columns to the signs of `want`'s (scikit-learn's PCA picks its own signs).
fn signs_like(ours: &Matrix, want: &Matrix) -> Matrix {
    let mut out = ours.clone();
    for j in 0..ours.cols() {
        let dot: f64 = (0..ours.rows())
            .map(|i| ours.get(i, j) * want.get(i, j))
            .sum();
        if dot < 0.0 {
            for i in 0..ours.rows() {
                out.row_mut(i)[j] *= -1.0;
            }
        }
    }
    out
}

#[test]
fn pca_matches_reference() {
    let p = problem();
    let a = p.fit(AlignMethod::Pca(Pca { dim: 3 }));
    p.check("pca source", &a.source, "pca_source", 1e-10);
    p.check("pca target", &a.target, "pca_target", 1e-10);
    p.check(
        "pca new rows",
        &a.transform_target(&p.xnew).unwrap(),
        "pca_new",
        1e-10,
    );
    let tl = a.target_labelled.as_ref().unwrap();
    assert_eq!(tl, &a.transform_target(&p.xl).unwrap());
}

#[test]
fn coral_matches_the_paper_and_adapt() {
    let p = problem();
    // The paper's lambda = 1, absolute (the fixture's features are not standardised).
    let a = p.fit(AlignMethod::Coral(Coral {
        lambda: 1.0,
        scale: LambdaScale::Absolute,
    }));
    p.check("coral source", &a.source, "coral_source", 1e-10);
    p.check(
        "coral source vs ADAPT",
        &a.source,
        "coral_adapt_source",
        1e-10,
    );
    assert_eq!(a.target, p.xt, "CORAL leaves the target unchanged");
    assert_eq!(a.transform_target(&p.xnew).unwrap(), p.xnew);
}

#[test]
fn subspace_alignment_matches_the_paper_and_adapt_up_to_centring() {
    let p = problem();
    let a = p.fit(AlignMethod::Sa(SubspaceAlignment { dim: 3 }));
    p.check("sa source", &a.source, "sa_source", 1e-10);
    p.check("sa target", &a.target, "sa_target", 1e-10);
    p.check(
        "sa new",
        &a.transform_target(&p.xnew).unwrap(),
        "sa_new",
        1e-10,
    );
    // ADAPT centres each domain before projecting: equal once our columns are centred.
    let (want_s, want_t) = (p.f.matrix("sa_adapt_source"), p.f.matrix("sa_adapt_target"));
    let s = signs_like(&columns_centred(&a.source), &want_s);
    let t = signs_like(&columns_centred(&a.target), &want_t);
    p.check("sa source vs ADAPT", &s, "sa_adapt_source", 1e-9);
    p.check("sa target vs ADAPT", &t, "sa_adapt_target", 1e-9);
}

#[test]
fn tca_primal_and_kernel_match_reference() {
    let p = problem();
    for (name, kernel) in [
        ("tca_primal", None),
        ("tca_rbf", Some(Kernel::Rbf { gamma: 0.05 })),
    ] {
        let a = p.fit(AlignMethod::Tca(Tca {
            dim: 3,
            mu: 0.1,
            kernel,
        }));
        p.check(name, &a.source, &format!("{name}_source"), 1e-8);
        p.check(name, &a.target, &format!("{name}_target"), 1e-8);
        let new = a.transform_target(&p.xnew).unwrap();
        p.check(name, &new, &format!("{name}_new"), 1e-8);
    }
}

#[test]
fn jda_primal_and_kernel_match_reference() {
    let p = problem();
    for (name, kernel) in [
        ("jda_primal", None),
        ("jda_rbf", Some(Kernel::Rbf { gamma: 0.05 })),
    ] {
        let a = p.fit(AlignMethod::Jda(Jda {
            dim: 3,
            lambda: 0.1,
            kernel,
            iterations: 5,
        }));
        assert_eq!(
            a.pseudo_labels().unwrap(),
            p.f.labels(&format!("{name}_pseudo")),
            "{name} pseudo-labels"
        );
        p.check(name, &a.source, &format!("{name}_source"), 1e-8);
        p.check(name, &a.target, &format!("{name}_target"), 1e-8);
        let new = a.transform_target(&p.xnew).unwrap();
        p.check(name, &new, &format!("{name}_new"), 1e-8);
    }
}

#[test]
fn feature_augmentation_matches_adapt_up_to_block_order() {
    let p = problem();
    let a = p.fit(AlignMethod::Fa(FeatureAugmentation));
    // ADAPT: [source-only, target-only, general]; the paper: [general, source-only, target-only].
    let reorder = |x: &Matrix| {
        let d = x.cols() / 3;
        let rows: Vec<Vec<f64>> = (0..x.rows())
            .map(|i| {
                let r = x.row(i);
                [&r[2 * d..], &r[..d], &r[d..2 * d]].concat()
            })
            .collect();
        Matrix::from_rows(&rows).unwrap()
    };
    let want_s = reorder(&p.f.matrix("fa_adapt_source"));
    let want_t = reorder(&p.f.matrix("fa_adapt_target"));
    let want_new = reorder(&p.f.matrix("fa_adapt_new"));
    assert_eq!(a.source, want_s);
    assert_eq!(a.target_labelled.as_ref().unwrap(), &want_t);
    assert_eq!(a.transform_target(&p.xnew).unwrap(), want_new);
    assert_eq!(a.target, a.transform_target(&p.xt).unwrap());
}

/// Timing side of scripts/bench/shallow_align.py (not a check): fits each method on the
/// problem in `$GRAFT_ALIGN_BENCH` (an npz with `xs`, `ys`, `xt`, `xl`, `yl`) and prints one
/// JSON line per method with the best of `$GRAFT_ALIGN_BENCH_RUNS` (default 3) wall times.
/// Run by the script as
/// `cargo test --release -p graft-shallow --test align_reference -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run by scripts/bench/shallow_align.py"]
fn bench_alignment_methods() {
    let Some(path) = std::env::var_os("GRAFT_ALIGN_BENCH") else {
        eprintln!("SKIP: GRAFT_ALIGN_BENCH is not set (scripts/bench/shallow_align.py sets it)");
        return;
    };
    let runs: usize = std::env::var("GRAFT_ALIGN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let only = std::env::var("GRAFT_ALIGN_BENCH_METHODS").unwrap_or_default();
    let z = common::npy::read_npz(std::path::Path::new(&path)).unwrap();
    let mat = |k: &str| Matrix::new(z[k].shape[0], z[k].shape[1], z[k].data.clone()).unwrap();
    let (xs, xt, xl) = (mat("xs"), mat("xt"), mat("xl"));
    let (ys, yl) = (z["ys"].labels(), z["yl"].labels());
    let d = Domains {
        source: &xs,
        source_labels: &ys,
        target: &xt,
        target_labelled: Some((&xl, &yl)),
    };
    let gamma = 1.0 / xs.cols() as f64;
    let tca = |kernel| {
        AlignMethod::Tca(Tca {
            dim: 100,
            mu: 0.1,
            kernel,
        })
    };
    let methods = [
        (
            "coral",
            AlignMethod::Coral(Coral {
                lambda: 1.0,
                scale: LambdaScale::Absolute,
            }),
        ),
        ("sa", AlignMethod::Sa(SubspaceAlignment { dim: 100 })),
        ("fa", AlignMethod::Fa(FeatureAugmentation)),
        ("tca_primal", tca(None)),
        ("tca_linear", tca(Some(Kernel::Linear))),
        ("tca_rbf", tca(Some(Kernel::Rbf { gamma }))),
        ("jda_primal", AlignMethod::Jda(Jda::default())),
    ];
    for (name, m) in methods {
        if !only.is_empty() && !only.split(',').any(|o| o == name) {
            continue;
        }
        let mut best = f64::INFINITY;
        for _ in 0..runs {
            let start = std::time::Instant::now();
            let a = m.fit(&d).unwrap();
            best = best.min(start.elapsed().as_secs_f64());
            std::hint::black_box(a);
        }
        println!(
            "{{\"side\": \"graft\", \"method\": \"{name}\", \"seconds\": {best:.6}, \"runs\": {runs}}}"
        );
    }
}
