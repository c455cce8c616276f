//! graft-shallow against scikit-learn and the tllib ranking formulas on the small synthetic
//! problems of `tests/fixtures/linalg_synth.npz` (made by scripts/reference/linalg_reference.py).

mod common;

use common::{max_diff, Fixture};
use graft_shallow::{
    metrics, scores, CSpec, KNeighborsClassifier, LinearSvc, LogisticRegression, Metric,
    RidgeClassifier,
};

fn tight(c: f64) -> LogisticRegression {
    LogisticRegression {
        c: CSpec::Fixed(c),
        tol: 1e-10,
        max_iter: 10_000,
        ..Default::default()
    }
}

#[test]
fn logistic_multinomial_matches_sklearn() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y, xt) = (f.matrix("x_train"), f.labels("y_train"), f.matrix("x_test"));
    let m = tight(1.0).fit(&x, &y, None).unwrap();
    assert!(m.converged());
    assert_eq!(m.classes(), &[0, 1, 2, 3]);
    let dc = max_diff(m.coef().data(), &f.vec("lr_coef"));
    let di = max_diff(m.intercept(), &f.vec("lr_intercept"));
    let dp = max_diff(m.predict_proba(&xt).unwrap().data(), &f.vec("lr_proba"));
    assert!(
        dc < 1e-6 && di < 1e-6 && dp < 1e-7,
        "coef {dc:e}, intercept {di:e}, proba {dp:e}"
    );
}

#[test]
fn logistic_weighted_unpenalised_intercept_and_no_intercept_match_sklearn() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y) = (f.matrix("x_train"), f.labels("y_train"));
    let sw = f.vec("sample_weight");
    let m = tight(0.3).fit(&x, &y, Some(&sw)).unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("lr_w_coef"));
    let di = max_diff(m.intercept(), &f.vec("lr_w_intercept"));
    assert!(
        dc < 1e-6 && di < 1e-6,
        "weighted: coef {dc:e}, intercept {di:e}"
    );
    let est = LogisticRegression {
        fit_intercept: false,
        ..tight(10.0)
    };
    let m = est.fit(&x, &y, None).unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("lr_noint_coef"));
    assert!(dc < 1e-6, "no intercept: coef {dc:e}");
    assert!(m.intercept().iter().all(|&b| b == 0.0));
}

#[test]
fn logistic_two_classes_is_binomial_like_sklearn() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, yb, xt) = (
        f.matrix("x_train"),
        f.labels("y_binary"),
        f.matrix("x_test"),
    );
    let m = tight(0.5).fit(&x, &yb, None).unwrap();
    assert_eq!(m.coef().rows(), 1);
    let dc = max_diff(m.coef().data(), &f.vec("lr_bin_coef"));
    let di = max_diff(m.intercept(), &f.vec("lr_bin_intercept"));
    let dd = max_diff(
        m.decision_function(&xt).unwrap().data(),
        &f.vec("lr_bin_decision"),
    );
    let dp = max_diff(m.predict_proba(&xt).unwrap().data(), &f.vec("lr_bin_proba"));
    assert!(
        dc < 1e-6 && di < 1e-6 && dd < 1e-5 && dp < 1e-7,
        "{dc:e} {di:e} {dd:e} {dp:e}"
    );
}

#[test]
fn logistic_standardised_matches_sklearn_pipeline() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y, xt) = (f.matrix("x_train"), f.labels("y_train"), f.matrix("x_test"));
    let est = LogisticRegression {
        standardize: true,
        ..tight(1.0)
    };
    let m = est.fit(&x, &y, None).unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("lr_std_coef"));
    let dp = max_diff(m.predict_proba(&xt).unwrap().data(), &f.vec("lr_std_proba"));
    assert!(dc < 1e-6 && dp < 1e-7, "coef {dc:e}, proba {dp:e}");
}

#[test]
fn logistic_default_tolerance_takes_sklearns_path() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y, xt) = (f.matrix("x_train"), f.labels("y_train"), f.matrix("x_test"));
    let m = LogisticRegression::default().fit(&x, &y, None).unwrap();
    let sk_iter = f.scalar("lr_default_n_iter") as usize;
    assert!(
        m.n_iter().abs_diff(sk_iter) <= 2,
        "graft {} iterations, scikit-learn {sk_iter}",
        m.n_iter()
    );
    let dc = max_diff(m.coef().data(), &f.vec("lr_default_coef"));
    assert!(dc < 1e-3, "coef {dc:e}");
    assert_eq!(m.predict(&xt).unwrap(), f.labels("lr_default_pred"));
}

#[test]
fn logistic_auto_c_is_deterministic_and_picks_the_best_grid_value() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y) = (f.matrix("x_train"), f.labels("y_train"));
    let est = LogisticRegression {
        c: CSpec::Auto,
        c_grid: vec![1e-3, 1e-2, 1e-1, 1.0, 10.0],
        ..Default::default()
    };
    let a = est.fit(&x, &y, None).unwrap();
    let b = est.fit(&x, &y, None).unwrap();
    assert_eq!(a, b);
    let scores = a.cv_scores();
    assert_eq!(scores.len(), 5);
    let best = scores.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    let first_best = scores.iter().find(|s| s.1 == best).unwrap().0;
    assert_eq!(a.c(), first_best);
    // The smallest C under-fits this problem badly.
    assert!(scores[0].1 < best, "{scores:?}");
}

#[test]
fn ridge_matches_sklearn() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y, xt, yb) = (
        f.matrix("x_train"),
        f.labels("y_train"),
        f.matrix("x_test"),
        f.labels("y_binary"),
    );
    let m = RidgeClassifier::default().fit(&x, &y, None).unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("ridge_coef"));
    let di = max_diff(m.intercept(), &f.vec("ridge_intercept"));
    let dd = max_diff(
        m.decision_function(&xt).unwrap().data(),
        &f.vec("ridge_decision"),
    );
    assert!(
        dc < 1e-10 && di < 1e-10 && dd < 1e-10,
        "{dc:e} {di:e} {dd:e}"
    );

    let sw = f.vec("sample_weight");
    let m = RidgeClassifier {
        alpha: 3.0,
        ..Default::default()
    }
    .fit(&x, &y, Some(&sw))
    .unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("ridge_w_coef"));
    let di = max_diff(m.intercept(), &f.vec("ridge_w_intercept"));
    assert!(dc < 1e-10 && di < 1e-10, "weighted {dc:e} {di:e}");

    let m = RidgeClassifier::default().fit(&x, &yb, None).unwrap();
    assert_eq!(m.coef().rows(), 1);
    let dc = max_diff(m.coef().data(), &f.vec("ridge_bin_coef"));
    let di = max_diff(m.intercept(), &f.vec("ridge_bin_intercept"));
    assert!(dc < 1e-10 && di < 1e-10, "binary {dc:e} {di:e}");

    let (xw, yw) = (f.matrix("x_wide"), f.labels("y_wide"));
    let m = RidgeClassifier {
        alpha: 0.5,
        ..Default::default()
    }
    .fit(&xw, &yw, None)
    .unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("ridge_wide_coef"));
    let di = max_diff(m.intercept(), &f.vec("ridge_wide_intercept"));
    assert!(dc < 1e-9 && di < 1e-9, "wide (kernel form) {dc:e} {di:e}");
}

#[test]
fn knn_matches_sklearn() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y, xt) = (f.matrix("x_train"), f.labels("y_train"), f.matrix("x_test"));
    for (name, metric) in [("euclidean", Metric::Euclidean), ("cosine", Metric::Cosine)] {
        let est = KNeighborsClassifier {
            metric,
            ..Default::default()
        };
        let m = est.fit(&x, &y, None).unwrap();
        assert_eq!(
            m.predict(&xt).unwrap(),
            f.labels(&format!("knn_{name}_pred")),
            "{name}"
        );
        let dp = max_diff(
            m.predict_proba(&xt).unwrap().data(),
            &f.vec(&format!("knn_{name}_proba")),
        );
        assert!(dp < 1e-12, "{name}: proba {dp:e}");
    }
    // Even k: vote ties go to the smallest label.
    let m = KNeighborsClassifier {
        k: Some(4),
        ..Default::default()
    }
    .fit(&x, &y, None)
    .unwrap();
    assert_eq!(m.predict(&xt).unwrap(), f.labels("knn4_pred"));
}

#[test]
fn knn_auto_k_is_deterministic() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y) = (f.matrix("x_train"), f.labels("y_train"));
    let est = KNeighborsClassifier {
        k: None,
        ..Default::default()
    };
    let a = est.fit(&x, &y, None).unwrap();
    let b = est.fit(&x, &y, None).unwrap();
    assert_eq!((a.k(), a.cv_scores()), (b.k(), b.cv_scores()));
    let best = a.cv_scores().iter().map(|s| s.1).fold(f64::MIN, f64::max);
    assert_eq!(a.cv_scores().iter().find(|s| s.1 == best).unwrap().0, a.k());
}

#[test]
fn linear_svc_matches_liblinear() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y, xt, yb) = (
        f.matrix("x_train"),
        f.labels("y_train"),
        f.matrix("x_test"),
        f.labels("y_binary"),
    );
    let m = LinearSvc::default().fit(&x, &y, None).unwrap();
    assert_eq!(m.predict(&xt).unwrap(), f.labels("svm_pred"));
    // Default tolerance 1e-4 on the dual: coefficients agree to a few 1e-3.
    let dc = max_diff(m.coef().data(), &f.vec("svm_coef"));
    assert!(dc < 5e-3, "coef {dc:e}");
    let est = LinearSvc {
        tol: 1e-8,
        max_iter: 100_000,
        ..Default::default()
    };
    let m = est.fit(&x, &yb, None).unwrap();
    let dc = max_diff(m.coef().data(), &f.vec("svm_bin_coef"));
    let di = max_diff(m.intercept(), &f.vec("svm_bin_intercept"));
    assert!(
        dc < 1e-6 && di < 1e-6,
        "binary, tight: coef {dc:e}, intercept {di:e}"
    );
    assert_eq!(m.predict(&xt).unwrap(), f.labels("svm_bin_pred"));
}

#[test]
fn macro_f1_matches_sklearn_with_an_unseen_predicted_label() {
    let f = Fixture::load("linalg_synth.npz");
    let f1 = metrics::macro_f1(&f.labels("y_test"), &f.labels("metric_pred")).unwrap();
    assert!(
        (f1 - f.scalar("metric_f1")).abs() < 1e-12,
        "{f1} vs {}",
        f.scalar("metric_f1")
    );
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn transferability_scores_match_tllib() {
    let f = Fixture::load("linalg_synth.npz");
    let (x, y) = (f.matrix("x_train"), f.labels("y_train"));
    let logme = scores::log_me(&x, &y).unwrap();
    assert!(
        rel(logme, f.scalar("logme")) < 1e-6,
        "LogME {logme} vs {}",
        f.scalar("logme")
    );
    // n < d: the dual (n x n) form must give tllib's d x d value.
    let xs = x.select_rows(&(0..15).collect::<Vec<_>>());
    let wide = scores::log_me(&xs, &f.labels("logme_wide_labels")).unwrap();
    assert!(
        rel(wide, f.scalar("logme_wide")) < 1e-6,
        "LogME n<d {wide} vs {}",
        f.scalar("logme_wide")
    );
    let h = scores::h_score(&x, &y).unwrap();
    assert!(
        rel(h, f.scalar("hscore")) < 1e-8,
        "H-score {h} vs {}",
        f.scalar("hscore")
    );
    let leep = scores::leep(&f.matrix("source_probs"), &y).unwrap();
    assert!(
        rel(leep, f.scalar("leep")) < 1e-10,
        "LEEP {leep} vs {}",
        f.scalar("leep")
    );
    let nce = scores::nce(&f.labels("source_labels"), &y).unwrap();
    assert!(
        rel(nce, f.scalar("nce")) < 1e-10,
        "NCE {nce} vs {}",
        f.scalar("nce")
    );
}
