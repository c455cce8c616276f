//! Instance weights against ADAPT 0.4.5 (`tests/fixtures/instance_synth.npz`, from
//! scripts/reference/instance_reference.py): 200 source and 200 target rows in 5 dimensions,
//! fixed hyper-parameters, every target row a kernel centre. Pearson correlation >= 0.99 for the
//! kernel methods, equality for nearest-neighbour counts. Ignored tests compare on MNIST -> USPS
//! and time the methods at 2000 x 256 (run them in release).

mod common;

use common::Fixture;
use graft_shallow::instance::{
    DensityRatio, DiscriminativeRatio, InstanceWeights, Kliep, KliepSolver, Kmm,
    NearestNeighborsWeighting, Reweighter, Rulsif, Ulsif,
};
use graft_shallow::{Kernel, LinalgError, Matrix};
use std::time::Instant;

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Pearson correlation at least `min_r`, and every weight within `rel` of the largest of
/// ADAPT's.
fn close(name: &str, ours: &[f64], theirs: &[f64], min_r: f64, rel: f64) {
    let r = pearson(ours, theirs);
    let (so, st) = (ours.iter().sum::<f64>(), theirs.iter().sum::<f64>());
    let top = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = common::max_diff(ours, theirs) / top;
    eprintln!("{name}: pearson {r:.6}, sums {so:.4} / {st:.4}, max diff / max {worst:.2e}");
    assert!(r >= min_r, "{name}: pearson {r} < {min_r}");
    assert!(
        worst <= rel,
        "{name}: max difference {worst} of the largest weight"
    );
    assert!(ours.iter().all(|&w| w >= 0.0 && w.is_finite()), "{name}");
}

struct Synth {
    f: Fixture,
    xs: Matrix,
    xt: Matrix,
}

fn synth() -> Synth {
    let f = Fixture::load("instance_synth.npz");
    let (xs, xt) = (f.matrix("xs"), f.matrix("xt"));
    Synth { f, xs, xt }
}

const GAMMA: f64 = 0.2;

#[test]
fn kmm_matches_adapt() {
    let s = synth();
    let w = Kmm::default().reweight(&s.xs, &s.xt).unwrap();
    assert_eq!(w.chosen, vec![("gamma".to_string(), GAMMA)]);
    close("kmm", &w.weights, &s.f.vec("kmm"), 0.99, 5e-3);
    // The mean-weight constraint |sum b - ns| <= ns eps holds.
    let eps = (200f64.sqrt() - 1.0) / 200f64.sqrt();
    assert!((w.weights.iter().sum::<f64>() - 200.0).abs() <= 200.0 * eps + 1e-6);
    // Growing the QP from a small working set reaches the same solution.
    let small = Kmm {
        working_set: 16,
        ..Default::default()
    }
    .reweight(&s.xs, &s.xt)
    .unwrap();
    close(
        "kmm from 16 rows",
        &small.weights,
        &s.f.vec("kmm"),
        0.99,
        5e-3,
    );
    let top = w.weights.iter().fold(0.0f64, |m, v| m.max(*v));
    assert!(common::max_diff(&small.weights, &w.weights) <= 1e-3 * top);
}

#[test]
fn kliep_matches_adapt_for_every_solver() {
    let s = synth();
    for (solver, key) in [
        (KliepSolver::FrankWolfe, "kliep_fw"),
        (KliepSolver::ProjectedGradient, "kliep_pg"),
        (KliepSolver::Original, "kliep_original"),
    ] {
        let fit = Kliep {
            max_centers: 200,
            solver,
            ..Default::default()
        }
        .fit(&s.xs, &s.xt)
        .unwrap();
        close(key, &fit.weights.weights, &s.f.vec(key), 0.99, 1e-6);
        let new = fit.ratio.ratio(&s.f.matrix("new")).unwrap();
        close(
            &format!("{key} on new rows"),
            &new,
            &s.f.vec(&format!("{key}_new")),
            0.99,
            1e-6,
        );
    }
}

#[test]
fn ulsif_and_rulsif_match_adapt() {
    let s = synth();
    let fit = Ulsif {
        max_centers: 200,
        ..Default::default()
    }
    .fit(&s.xs, &s.xt)
    .unwrap();
    close("ulsif", &fit.weights.weights, &s.f.vec("ulsif"), 0.99, 1e-9);
    let new = fit.ratio.ratio(&s.f.matrix("new")).unwrap();
    close("ulsif on new rows", &new, &s.f.vec("ulsif_new"), 0.99, 1e-9);
    let w = Ulsif {
        lambdas: vec![0.01],
        max_centers: 200,
        ..Default::default()
    }
    .reweight(&s.xs, &s.xt)
    .unwrap();
    close(
        "ulsif lambda 0.01",
        &w.weights,
        &s.f.vec("ulsif_lambda001"),
        0.99,
        1e-9,
    );

    let fit = Rulsif {
        max_centers: 200,
        ..Default::default()
    }
    .fit(&s.xs, &s.xt)
    .unwrap();
    close(
        "rulsif",
        &fit.weights.weights,
        &s.f.vec("rulsif"),
        0.99,
        1e-9,
    );
    let new = fit.ratio.ratio(&s.f.matrix("new")).unwrap();
    close(
        "rulsif on new rows",
        &new,
        &s.f.vec("rulsif_new"),
        0.99,
        1e-9,
    );
    let w = Rulsif {
        alpha: 0.5,
        lambdas: vec![0.1],
        max_centers: 200,
        ..Default::default()
    }
    .reweight(&s.xs, &s.xt)
    .unwrap();
    close(
        "rulsif alpha 0.5",
        &w.weights,
        &s.f.vec("rulsif_alpha05"),
        0.99,
        1e-9,
    );
}

#[test]
fn nearest_neighbour_counts_equal_adapt() {
    let s = synth();
    for k in [1, 5] {
        let w = NearestNeighborsWeighting { n_neighbors: k }
            .reweight(&s.xs, &s.xt)
            .unwrap();
        assert_eq!(w.weights, s.f.vec(&format!("nnw{k}")), "k = {k}");
        assert_eq!(w.weights.iter().sum::<f64>(), (200 * k) as f64);
    }
}

#[test]
fn domain_classifier_matches_adapt_iwc() {
    let s = synth();
    let fit = DiscriminativeRatio::default().fit(&s.xs, &s.xt).unwrap();
    // ns = nt, so the prior factor is 1 and ADAPT's 1 / p(source | x) - 1 is the same ratio.
    let theirs = s.f.vec("iwc");
    close(
        "discriminative",
        &fit.weights.weights,
        &theirs,
        0.9999,
        1e-3,
    );
    for (o, t) in fit.weights.weights.iter().zip(&theirs) {
        assert!((o - t).abs() <= 1e-3 * t.max(1.0), "{o} vs {t}");
    }
    let again = fit.ratio.ratio(&s.xs).unwrap();
    assert_eq!(again, fit.weights.weights);
}

#[test]
fn cross_validation_is_deterministic_and_reports_its_choice() {
    let s = synth();
    let gammas = Some(vec![0.02, 0.2, 2.0]);
    let u = Ulsif {
        gammas: gammas.clone(),
        lambdas: vec![0.01, 0.1, 1.0],
        ..Default::default()
    };
    let a = u.reweight(&s.xs, &s.xt).unwrap();
    assert_eq!(a, u.reweight(&s.xs, &s.xt).unwrap());
    assert!(a.chosen.iter().any(|(k, _)| k == "lambda"));
    let k = Kliep {
        gammas,
        max_iter: 200,
        ..Default::default()
    };
    let b = k.reweight(&s.xs, &s.xt).unwrap();
    assert_eq!(b, k.reweight(&s.xs, &s.xt).unwrap());
    let g = b.chosen.iter().find(|(k, _)| k == "gamma").unwrap().1;
    assert!([0.02, 0.2, 2.0].contains(&g));
    assert!(b.notes.iter().any(|n| n.contains("cross-validation")));
}

fn all_methods() -> Vec<(&'static str, Box<dyn Reweighter>)> {
    vec![
        ("kmm", Box::new(Kmm::default())),
        ("kliep", Box::new(Kliep::default())),
        ("ulsif", Box::new(Ulsif::default())),
        ("rulsif", Box::new(Rulsif::default())),
        ("nnw", Box::new(NearestNeighborsWeighting::default())),
        ("discriminative", Box::new(DiscriminativeRatio::default())),
    ]
}

#[test]
fn bad_domains_are_named() {
    let good = Matrix::new(12, 2, (0..24).map(|i| (i % 7) as f64).collect()).unwrap();
    let wide = Matrix::zeros(12, 3);
    let mut nan = good.clone();
    nan.data_mut()[5] = f64::NAN;
    let empty = Matrix::zeros(0, 2);
    for (name, m) in all_methods() {
        match m.reweight(&good, &wide) {
            Err(LinalgError::DimensionMismatch {
                input: "target",
                expected: 2,
                got: 3,
                ..
            }) => {}
            other => panic!("{name}: {other:?}"),
        }
        match m.reweight(&nan, &good) {
            Err(LinalgError::NonFinite {
                input: "source",
                row: 2,
                col: 1,
                ..
            }) => {}
            other => panic!("{name}: {other:?}"),
        }
        assert!(
            matches!(
                m.reweight(&good, &empty),
                Err(LinalgError::Empty {
                    input: "target",
                    ..
                })
            ),
            "{name}"
        );
    }
}

#[test]
fn hyper_parameters_out_of_domain_are_named() {
    let x = Matrix::new(12, 2, (0..24).map(|i| (i % 5) as f64).collect()).unwrap();
    let name = |r: Result<InstanceWeights, LinalgError>| match r {
        Err(LinalgError::InvalidParameter { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        name(
            Kmm {
                b: 0.0,
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "b"
    );
    assert_eq!(
        name(
            Kmm {
                eps: Some(-1.0),
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "eps"
    );
    assert_eq!(
        name(
            Kmm {
                kernel: Some(Kernel::Rbf { gamma: -1.0 }),
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "kernel gamma"
    );
    assert_eq!(
        name(
            Kliep {
                gammas: Some(vec![]),
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "gammas"
    );
    assert_eq!(
        name(
            Kliep {
                solver: KliepSolver::Original,
                lr: vec![0.0],
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "lr"
    );
    assert_eq!(
        name(
            Ulsif {
                lambdas: vec![-1.0],
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "lambdas"
    );
    assert_eq!(
        name(
            Rulsif {
                alpha: 1.0,
                ..Default::default()
            }
            .reweight(&x, &x)
        ),
        "alpha"
    );
    assert_eq!(
        name(NearestNeighborsWeighting { n_neighbors: 13 }.reweight(&x, &x)),
        "n_neighbors"
    );
}

#[test]
fn singular_system_is_regularised_and_noted() {
    // Duplicated target rows make duplicated centres: H is singular when lambda = 0.
    let xs = Matrix::new(10, 1, (0..10).map(|i| i as f64 / 3.0).collect()).unwrap();
    let xt = Matrix::new(6, 1, vec![1.0, 1.0, 2.0, 2.0, 1.5, 1.5]).unwrap();
    let w = Ulsif {
        gammas: Some(vec![1.0]),
        lambdas: vec![0.0],
        ..Default::default()
    }
    .reweight(&xs, &xt)
    .unwrap();
    assert!(
        w.notes.iter().any(|n| n.contains("singular")),
        "{:?}",
        w.notes
    );
    assert!(w.weights.iter().all(|v| v.is_finite() && *v >= 0.0));
}

/// ADAPT's weights from `instance_reference.py --mnist` against ours on MNIST -> USPS.
#[test]
#[ignore = "needs the shared data and .bench/instance/mnist_usps_adapt.npz; run in release"]
fn mnist_usps_against_adapt() {
    let Some(dir) = common::data_dir_or_skip("jda_mnist_usps_coil") else {
        return;
    };
    let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.bench/instance/mnist_usps_adapt.npz");
    if !reference.is_file() {
        eprintln!("SKIP: {} not found", reference.display());
        return;
    }
    let z = common::npy::read_npz(&dir.join("mnist_usps_jda.npz")).unwrap();
    let mat = |k: &str| Matrix::new(z[k].shape[0], z[k].shape[1], z[k].data.clone()).unwrap();
    let (xs, xt) = (mat("mnist_X"), mat("usps_X"));
    let r = Fixture(common::npy::read_npz(&reference).unwrap());
    let nt = xt.rows();
    let runs: Vec<(&str, Box<dyn Reweighter>)> = vec![
        (
            "kmm",
            Box::new(Kmm {
                max_size: 2000,
                ..Default::default()
            }),
        ),
        (
            "kliep_fw",
            Box::new(Kliep {
                max_centers: nt,
                ..Default::default()
            }),
        ),
        (
            "kliep_pg",
            Box::new(Kliep {
                max_centers: nt,
                solver: KliepSolver::ProjectedGradient,
                ..Default::default()
            }),
        ),
        (
            "kliep_original",
            Box::new(Kliep {
                max_centers: nt,
                solver: KliepSolver::Original,
                ..Default::default()
            }),
        ),
        (
            "ulsif",
            Box::new(Ulsif {
                max_centers: nt,
                ..Default::default()
            }),
        ),
        (
            "ulsif_lambda001",
            Box::new(Ulsif {
                lambdas: vec![0.01],
                max_centers: nt,
                ..Default::default()
            }),
        ),
        (
            "rulsif",
            Box::new(Rulsif {
                max_centers: nt,
                ..Default::default()
            }),
        ),
        (
            "rulsif_alpha05",
            Box::new(Rulsif {
                alpha: 0.5,
                lambdas: vec![0.1],
                max_centers: nt,
                ..Default::default()
            }),
        ),
        (
            "nnw1",
            Box::new(NearestNeighborsWeighting { n_neighbors: 1 }),
        ),
        (
            "nnw5",
            Box::new(NearestNeighborsWeighting { n_neighbors: 5 }),
        ),
        ("iwc", Box::new(DiscriminativeRatio::default())),
    ];
    for (key, m) in runs {
        if !r.0.contains_key(key) {
            continue;
        }
        let t = Instant::now();
        let w = m.reweight(&xs, &xt).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let theirs = r.vec(key);
        let scale = if key == "iwc" {
            xs.rows() as f64 / nt as f64
        } else {
            1.0
        };
        let theirs: Vec<f64> = theirs.iter().map(|v| v * scale).collect();
        let equal = w
            .weights
            .iter()
            .zip(&theirs)
            .filter(|(a, b)| a == b)
            .count();
        eprintln!(
            "{key}: pearson {:.6}, equal {equal}/{}, ESS {:.1} vs {:.1}, {secs:.3} s, notes {:?}",
            pearson(&w.weights, &theirs),
            theirs.len(),
            w.effective_sample_size(),
            InstanceWeights {
                weights: theirs.clone(),
                method: "adapt",
                chosen: vec![],
                notes: vec![]
            }
            .effective_sample_size(),
            w.notes
        );
    }
}

/// Release-mode timings at ns = nt = 2000, d = 256, the data of scripts/bench/shallow_instance.py
/// (`.bench/instance/bench_2000x256.npz`), every method at its defaults.
#[test]
#[ignore = "timing; run with --release after scripts/bench/shallow_instance.py"]
fn time_2000x256() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.bench/instance/bench_2000x256.npz");
    if !path.is_file() {
        eprintln!("SKIP: {} not found", path.display());
        return;
    }
    let f = Fixture(common::npy::read_npz(&path).unwrap());
    let (xs, xt) = (f.matrix("xs"), f.matrix("xt"));
    let repeats: usize = std::env::var("BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for (name, m) in all_methods() {
        let mut best = f64::INFINITY;
        let mut notes = Vec::new();
        for _ in 0..repeats {
            let t = Instant::now();
            let w = m.reweight(&xs, &xt).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            assert_eq!(w.weights.len(), xs.rows());
            notes = w.notes;
        }
        println!("{{\"side\": \"graft\", \"method\": \"{name}\", \"seconds\": {best:.5}}}");
        eprintln!("{name}: {notes:?}");
    }
}
