//! Boosting across domains against ADAPT 0.4.5 and scikit-learn: the small synthetic problems of
//! `tests/fixtures/boost_synth.npz` and, when the shared data is present, TrAdaBoost on MNIST ->
//! USPS with the labelled USPS indices of `tests/fixtures/boost_mnist_usps.json` (both made by
//! scripts/reference/boost_reference.py).

mod common;

use common::{max_diff, Fixture};
use graft_shallow::boost::{TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2};
use graft_shallow::regression::RidgeRegression;
use graft_shallow::{metrics, CSpec, FittedClassifier, LinalgError, LogisticRegression, Matrix};
use std::time::Instant;

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length");
    a.iter()
        .zip(b)
        .fold(0.0, |m, (x, y)| m.max((x - y).abs() / y.abs().max(1e-300)))
}

#[test]
fn ridge_regression_matches_sklearn_with_weights() {
    let f = Fixture::load("boost_synth.npz");
    for case in ["tall", "wide"] {
        let key = |k: &str| format!("ridge_{case}_{k}");
        let (x, y, w) = (f.matrix(&key("x")), f.vec(&key("y")), f.vec(&key("w")));
        let m = RidgeRegression::default().fit(&x, &y, Some(&w)).unwrap();
        let dc = max_diff(m.coef(), &f.vec(&key("coef")));
        let di = (m.intercept() - f.scalar(&key("intercept"))).abs();
        let m0 = RidgeRegression {
            alpha: 0.5,
            fit_intercept: false,
        }
        .fit(&x, &y, Some(&w))
        .unwrap();
        let d0 = max_diff(m0.coef(), &f.vec(&key("nointercept_coef")));
        eprintln!("ridge {case}: coef {dc:e}, intercept {di:e}, no intercept {d0:e}");
        assert!(dc < 1e-8 && di < 1e-8 && d0 < 1e-8, "{case}");
        assert_eq!(m0.intercept(), 0.0);
    }
}

fn tight_logreg() -> LogisticRegression {
    LogisticRegression {
        c: CSpec::Fixed(1.0),
        tol: 1e-10,
        max_iter: 10_000,
        ..Default::default()
    }
}

#[test]
fn tradaboost_matches_adapt_on_synthetic_classes() {
    let f = Fixture::load("boost_synth.npz");
    let (xs, ys, xt, yt) = (
        f.matrix("cls_xs"),
        f.labels("cls_ys"),
        f.matrix("cls_xt"),
        f.labels("cls_yt"),
    );
    let (xe, ye) = (f.matrix("cls_xe"), f.labels("cls_ye"));
    let m = TrAdaBoost::new(tight_logreg())
        .fit(&xs, &ys, &xt, &yt)
        .unwrap();
    let de = max_diff(m.errors(), &f.vec("cls_errors"));
    let dw = max_rel_diff(m.source_weights(), &f.vec("cls_source_weights"));
    let dt = max_rel_diff(m.target_weights(), &f.vec("cls_target_weights"));
    let pred = m.predict(&xe).unwrap();
    let agree = metrics::accuracy(&f.labels("cls_pred"), &pred).unwrap();
    let acc = metrics::accuracy(&ye, &pred).unwrap();
    eprintln!(
        "TrAdaBoost synthetic: errors {de:e}, source weights rel {dw:e}, target weights rel \
         {dt:e}, agreement {agree}, accuracy {acc} (ADAPT {})",
        f.scalar("cls_accuracy")
    );
    assert!(de < 1e-8 && dw < 1e-7 && dt < 1e-7, "{de:e} {dw:e} {dt:e}");
    assert_eq!(agree, 1.0);
}

#[test]
fn tradaboost_r2_matches_adapt() {
    let f = Fixture::load("boost_synth.npz");
    let (xs, ys, xt, yt) = (
        f.matrix("reg_xs"),
        f.vec("reg_ys"),
        f.matrix("reg_xt"),
        f.vec("reg_yt"),
    );
    let xe = f.matrix("reg_xe");
    let m = TrAdaBoostR2::new(RidgeRegression::default())
        .fit(&xs, &ys, &xt, &yt)
        .unwrap();
    let pred = m.predict(&xe).unwrap();
    let r = pearson(&pred, &f.vec("r2_pred"));
    let dp = max_diff(&pred, &f.vec("r2_pred"));
    let de = max_diff(m.errors(), &f.vec("r2_errors"));
    let dw = max_rel_diff(m.source_weights(), &f.vec("r2_source_weights"));
    eprintln!(
        "TrAdaBoostR2: correlation {r}, predictions {dp:e}, errors {de:e}, weights rel {dw:e}"
    );
    assert!(r >= 0.99, "correlation {r}");
    assert!(dp < 1e-8 && de < 1e-8 && dw < 1e-8);
}

#[test]
fn two_stage_tradaboost_r2_matches_adapt() {
    let f = Fixture::load("boost_synth.npz");
    let (xs, ys, xt, yt) = (
        f.matrix("reg_xs"),
        f.vec("reg_ys"),
        f.matrix("reg_xt"),
        f.vec("reg_yt"),
    );
    let xe = f.matrix("reg_xe");
    let m = TwoStageTrAdaBoostR2::new(RidgeRegression::default())
        .fit(&xs, &ys, &xt, &yt)
        .unwrap();
    let pred = m.predict(&xe).unwrap();
    let r = pearson(&pred, &f.vec("ts_pred"));
    let dp = max_diff(&pred, &f.vec("ts_pred"));
    let de = max_diff(m.errors(), &f.vec("ts_errors"));
    let dw = max_rel_diff(m.source_weights(), &f.vec("ts_source_weights"));
    eprintln!(
        "two-stage TrAdaBoostR2: correlation {r}, predictions {dp:e}, cv errors {de:e}, \
         weights rel {dw:e}, best step {} (ADAPT {})",
        m.best_step(),
        f.scalar("ts_best")
    );
    assert!(r >= 0.99, "correlation {r}");
    assert_eq!(m.best_step(), f.scalar("ts_best") as usize);
    assert!(dp < 1e-8 && de < 1e-8 && dw < 1e-8);
}

#[test]
fn tradaboost_within_a_point_of_adapt_on_mnist_to_usps() {
    let Some(dir) = common::data_dir_or_skip("jda_mnist_usps_coil") else {
        return;
    };
    let z = common::npy::read_npz(&dir.join("mnist_usps_jda.npz")).expect("mnist_usps_jda.npz");
    let mat = |k: &str| Matrix::new(z[k].shape[0], z[k].shape[1], z[k].data.clone()).unwrap();
    let lab = |k: &str| {
        z[k].data
            .iter()
            .map(|&v| v as usize - 1)
            .collect::<Vec<_>>()
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/boost_mnist_usps.json");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (xs, ys, xu, yu) = (mat("mnist_X"), lab("mnist_y"), mat("usps_X"), lab("usps_y"));
    let idx: Vec<usize> = r["target_labelled_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let rest: Vec<usize> = (0..xu.rows()).filter(|i| !idx.contains(i)).collect();
    let (xt, yt) = (
        xu.select_rows(&idx),
        idx.iter().map(|&i| yu[i]).collect::<Vec<_>>(),
    );
    let (xe, ye) = (
        xu.select_rows(&rest),
        rest.iter().map(|&i| yu[i]).collect::<Vec<_>>(),
    );
    let start = Instant::now();
    let m = TrAdaBoost::new(LogisticRegression::default())
        .fit(&xs, &ys, &xt, &yt)
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let pred = m.predict(&xe).unwrap();
    let ours = metrics::accuracy(&ye, &pred).unwrap();
    let theirs = r["adapt_accuracy"].as_f64().unwrap();
    let adapt_pred: Vec<usize> = r["adapt_pred"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let agree = metrics::accuracy(&adapt_pred, &pred).unwrap();
    let adapt_w: Vec<f64> = r["adapt_source_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let adapt_err: Vec<f64> = r["adapt_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    eprintln!(
        "MNIST -> USPS TrAdaBoost: graft {:.2} %, ADAPT {:.2} % (plain logreg {:.2} %), \
         prediction agreement {:.2} %, source weight correlation {:.6}, largest round error \
         difference {:.2e}, fit {secs:.2} s",
        100.0 * ours,
        100.0 * theirs,
        100.0 * r["plain_logreg_accuracy"].as_f64().unwrap(),
        100.0 * agree,
        pearson(m.source_weights(), &adapt_w),
        max_diff(m.errors(), &adapt_err),
    );
    assert!(
        (ours - theirs).abs() <= 0.01,
        "graft {ours}, ADAPT {theirs}"
    );
}

#[test]
fn bad_input_is_named() {
    let xs = Matrix::from_rows(&[[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]).unwrap();
    let xt = Matrix::from_rows(&[[0.1, 0.9], [0.9, 0.1]]).unwrap();
    let (ys, yt) = ([0, 1, 0], [0, 1]);
    let b = TrAdaBoost::new(LogisticRegression::default());
    let narrow = Matrix::from_rows(&[[0.1], [0.9]]).unwrap();
    assert!(matches!(
        b.fit(&xs, &ys, &narrow, &yt),
        Err(LinalgError::DimensionMismatch {
            input: "target",
            ..
        })
    ));
    let mut nan = xs.clone();
    nan.row_mut(1)[0] = f64::NAN;
    assert!(matches!(
        b.fit(&nan, &ys, &xt, &yt),
        Err(LinalgError::NonFinite {
            input: "source",
            row: 1,
            ..
        })
    ));
    let mut inf = xt.clone();
    inf.row_mut(0)[1] = f64::INFINITY;
    assert!(matches!(
        b.fit(&xs, &ys, &inf, &yt),
        Err(LinalgError::NonFinite {
            input: "target",
            row: 0,
            ..
        })
    ));
    let empty = Matrix::zeros(0, 2);
    assert!(matches!(
        b.fit(&empty, &[], &xt, &yt),
        Err(LinalgError::Empty {
            input: "source",
            ..
        })
    ));
    assert!(matches!(
        b.fit(&xs, &ys, &empty, &[]),
        Err(LinalgError::Empty {
            input: "target",
            ..
        })
    ));
    let err = b.fit(&xs, &ys, &xt, &[0, 7]).unwrap_err();
    assert!(
        matches!(
            err,
            LinalgError::InvalidParameter {
                name: "target_labels",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("label 7"), "{err}");
    assert!(matches!(
        b.fit(&xs, &ys[..2], &xt, &yt),
        Err(LinalgError::LengthMismatch {
            input: "source_labels",
            ..
        })
    ));
    let zero = TrAdaBoost {
        n_estimators: 0,
        ..b.clone()
    };
    assert!(matches!(
        zero.fit(&xs, &ys, &xt, &yt),
        Err(LinalgError::InvalidParameter {
            name: "n_estimators",
            ..
        })
    ));
    let m = b.fit(&xs, &ys, &xt, &yt).unwrap();
    assert!(matches!(
        m.predict(&narrow),
        Err(LinalgError::DimensionMismatch { input: "x", .. })
    ));

    let (ys, yt) = ([0.0, 1.0, 0.5], [0.1, 0.9]);
    let r2 = TrAdaBoostR2::new(RidgeRegression::default());
    let ts = TwoStageTrAdaBoostR2::new(RidgeRegression::default());
    assert!(matches!(
        r2.fit(&xs, &ys, &narrow, &yt),
        Err(LinalgError::DimensionMismatch {
            input: "target",
            ..
        })
    ));
    assert!(matches!(
        ts.fit(&empty, &[], &xt, &yt),
        Err(LinalgError::Empty {
            input: "source",
            ..
        })
    ));
    assert!(matches!(
        r2.fit(&xs, &ys, &xt, &[0.1, f64::NAN]),
        Err(LinalgError::NonFinite {
            input: "target_targets",
            row: 1,
            ..
        })
    ));
    assert!(matches!(
        ts.fit(&xs, &ys[..1], &xt, &yt),
        Err(LinalgError::LengthMismatch {
            input: "source_targets",
            ..
        })
    ));
    assert!(matches!(
        TrAdaBoostR2 {
            n_estimators: 0,
            ..r2.clone()
        }
        .fit(&xs, &ys, &xt, &yt),
        Err(LinalgError::InvalidParameter {
            name: "n_estimators",
            ..
        })
    ));
    assert!(matches!(
        TwoStageTrAdaBoostR2 {
            n_estimators_fs: 0,
            ..ts.clone()
        }
        .fit(&xs, &ys, &xt, &yt),
        Err(LinalgError::InvalidParameter {
            name: "n_estimators_fs",
            ..
        })
    ));
}

/// Timing at ns = nt = 2000, d = 256 (ten classes, logistic heads), on the arrays
/// scripts/bench/shallow_boost.py writes: `GRAFT_BOOST_BENCH=<dir> cargo test --release -p
/// graft-shallow --test boost_adapt -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run through scripts/bench/shallow_boost.py"]
fn bench_tradaboost_logistic() {
    let Some(dir) = std::env::var_os("GRAFT_BOOST_BENCH") else {
        eprintln!("SKIP: set GRAFT_BOOST_BENCH to the folder shallow_boost.py wrote");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let load = |k: &str| common::npy::read_npy(&dir.join(format!("{k}.npy"))).unwrap();
    let mat = |k: &str| {
        let a = load(k);
        Matrix::new(a.shape[0], a.shape[1], a.data).unwrap()
    };
    let (xs, xt, xe) = (mat("xs"), mat("xt"), mat("xe"));
    let (ys, yt, ye) = (
        load("ys").labels(),
        load("yt").labels(),
        load("ye").labels(),
    );
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let mut best = f64::INFINITY;
    let mut acc = 0.0;
    for _ in 0..runs {
        let start = Instant::now();
        let m = TrAdaBoost::new(LogisticRegression::default())
            .fit(&xs, &ys, &xt, &yt)
            .unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        acc = metrics::accuracy(&ye, &m.predict(&xe).unwrap()).unwrap();
    }
    println!("{{\"side\": \"graft\", \"seconds\": {best:.4}, \"accuracy\": {acc:.6}}}");
}

/// Heads without probabilities (ridge, linear SVM) enter TrAdaBoost's error as ADAPT feeds
/// them: scikit-learn's `_predict_proba_lr` of their scores (scripts/reference/proba_lr.py),
/// not as 0/1 predictions.
#[test]
fn linear_heads_give_scikit_learn_s_probabilities_from_their_scores() {
    let text = include_str!("fixtures/proba_lr_reference.json");
    let cases: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    let rows = |v: &serde_json::Value| -> Matrix {
        let r: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        Matrix::new(r.len(), r[0].len(), r.concat()).unwrap()
    };
    for c in &cases {
        let (x, want_d, want_p) = (rows(&c["x"]), rows(&c["decision"]), rows(&c["proba"]));
        let y: Vec<usize> = serde_json::from_value(c["y"].clone()).unwrap();
        let w: Vec<f64> = serde_json::from_value(c["w"].clone()).unwrap();
        let m = graft_shallow::RidgeClassifier::default()
            .fit(&x, &y, Some(&w))
            .unwrap();
        let d = FittedClassifier::decision_function(&m, &x)
            .unwrap()
            .unwrap();
        assert!(
            max_diff(d.data(), want_d.data()) < 1e-9,
            "{} classes",
            c["classes"]
        );
        let p = graft_shallow::proba_from_decision(&d);
        assert!(
            max_diff(p.data(), want_p.data()) < 1e-9,
            "{} classes",
            c["classes"]
        );
    }
    // TrAdaBoost's first-round error now uses those probabilities: fractional, not a count
    // of misclassified target rows.
    let c = &cases[1];
    let (x, y) = (
        rows(&c["x"]),
        serde_json::from_value::<Vec<usize>>(c["y"].clone()).unwrap(),
    );
    let boost = TrAdaBoost::new(graft_shallow::RidgeClassifier::default());
    let m = boost.fit(&x, &y, &x, &y).unwrap();
    let e = m.errors()[0];
    assert!(e > 0.0 && (e * 40.0).fract().abs() > 1e-6, "error {e}");
}
