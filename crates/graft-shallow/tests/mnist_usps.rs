//! Acceptance on real data: train on the JDA MNIST arrays (2000 x 256), test on USPS (1800 x 256),
//! and compare accuracies with scikit-learn's (`tests/fixtures/mnist_usps_sklearn.json`, from
//! scripts/reference/linalg_reference.py) within 0.3 points. Skips when the shared data is absent.

mod common;

use graft_shallow::{
    metrics, scores, KNeighborsClassifier, LinearSvc, LogisticRegression, Matrix, Metric,
    RidgeClassifier,
};

struct Split {
    xs: Matrix,
    ys: Vec<usize>,
    xt: Matrix,
    yt: Vec<usize>,
}

fn load() -> Option<(Split, serde_json::Value)> {
    let dir = common::data_dir_or_skip("jda_mnist_usps_coil")?;
    let z = common::npy::read_npz(&dir.join("mnist_usps_jda.npz")).expect("mnist_usps_jda.npz");
    let mat = |k: &str| {
        let a = &z[k];
        Matrix::new(a.shape[0], a.shape[1], a.data.clone()).unwrap()
    };
    // Labels are 1..10 in the file.
    let lab = |k: &str| {
        z[k].data
            .iter()
            .map(|&v| v as usize - 1)
            .collect::<Vec<_>>()
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mnist_usps_sklearn.json");
    let reference = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Some((
        Split {
            xs: mat("mnist_X"),
            ys: lab("mnist_y"),
            xt: mat("usps_X"),
            yt: lab("usps_y"),
        },
        reference,
    ))
}

fn check(name: &str, pred: Vec<usize>, s: &Split, reference: &serde_json::Value) {
    let ours = metrics::accuracy(&s.yt, &pred).unwrap();
    let theirs = reference[name]["accuracy"].as_f64().unwrap();
    eprintln!(
        "{name}: graft {:.2} %, scikit-learn {:.2} %",
        100.0 * ours,
        100.0 * theirs
    );
    assert!(
        (ours - theirs).abs() <= 0.003,
        "{name}: graft {ours}, scikit-learn {theirs}"
    );
}

#[test]
fn heads_match_sklearn_accuracy_on_mnist_to_usps() {
    let Some((s, r)) = load() else { return };
    let m = LogisticRegression::default()
        .fit(&s.xs, &s.ys, None)
        .unwrap();
    check("logreg", m.predict(&s.xt).unwrap(), &s, &r);
    let m = RidgeClassifier::default().fit(&s.xs, &s.ys, None).unwrap();
    check("ridge", m.predict(&s.xt).unwrap(), &s, &r);
    let knn = |k, metric| KNeighborsClassifier {
        k: Some(k),
        metric,
        ..Default::default()
    };
    let m = knn(1, Metric::Euclidean).fit(&s.xs, &s.ys, None).unwrap();
    check("knn1_euclidean", m.predict(&s.xt).unwrap(), &s, &r);
    let m = knn(5, Metric::Euclidean).fit(&s.xs, &s.ys, None).unwrap();
    check("knn5_euclidean", m.predict(&s.xt).unwrap(), &s, &r);
    let m = knn(5, Metric::Cosine).fit(&s.xs, &s.ys, None).unwrap();
    check("knn5_cosine", m.predict(&s.xt).unwrap(), &s, &r);
    let m = LinearSvc::default().fit(&s.xs, &s.ys, None).unwrap();
    check("linear_svc", m.predict(&s.xt).unwrap(), &s, &r);
}

#[test]
fn scores_match_tllib_on_usps() {
    let Some((s, r)) = load() else { return };
    let logme = scores::log_me(&s.xt, &s.yt).unwrap();
    let want = r["logme"].as_f64().unwrap();
    assert!(
        (logme - want).abs() / want.abs() < 1e-4,
        "LogME {logme} vs {want}"
    );
    let h = scores::h_score(&s.xt, &s.yt).unwrap();
    let want = r["hscore"].as_f64().unwrap();
    assert!(
        (h - want).abs() / want.abs() < 1e-4,
        "H-score {h} vs {want}"
    );
}
