//! Bad input fails with an error that names the input, never a panic.

use graft_shallow::{
    metrics, scores, CSpec, KNeighborsClassifier, LinalgError, LinearSvc, LogisticRegression,
    Matrix, RidgeClassifier,
};

fn toy() -> (Matrix, Vec<usize>) {
    let rows: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![i as f64, (i % 3) as f64, 1.0 - i as f64 / 7.0])
        .collect();
    (
        Matrix::from_rows(&rows).unwrap(),
        (0..12).map(|i| i % 3).collect(),
    )
}

/// Runs `fit` of every estimator with the same arguments.
fn all_fits(x: &Matrix, y: &[usize], w: Option<&[f64]>) -> Vec<(&'static str, LinalgError)> {
    let mut out = Vec::new();
    let mut push = |name, r: Result<(), LinalgError>| {
        if let Err(e) = r {
            out.push((name, e));
        }
    };
    push(
        "logistic",
        LogisticRegression::default().fit(x, y, w).map(|_| ()),
    );
    push("ridge", RidgeClassifier::default().fit(x, y, w).map(|_| ()));
    push(
        "knn",
        KNeighborsClassifier {
            k: Some(3),
            ..Default::default()
        }
        .fit(x, y, w)
        .map(|_| ()),
    );
    push("svm", LinearSvc::default().fit(x, y, w).map(|_| ()));
    out
}

#[test]
fn nan_is_reported_with_row_and_column() {
    let (mut x, y) = toy();
    x.row_mut(4)[2] = f64::NAN;
    let errs = all_fits(&x, &y, None);
    assert_eq!(errs.len(), 4);
    for (name, e) in errs {
        assert!(
            matches!(
                e,
                LinalgError::NonFinite {
                    input: "x",
                    row: 4,
                    col: 2,
                    ..
                }
            ),
            "{name}: {e}"
        );
        assert!(e.to_string().contains("row 4, column 2"), "{e}");
    }
    x.row_mut(4)[2] = f64::INFINITY;
    assert!(matches!(
        scores::log_me(&x, &y),
        Err(LinalgError::NonFinite { row: 4, .. })
    ));
}

#[test]
fn single_class_and_empty_input_are_refused() {
    let (x, _) = toy();
    for (name, e) in all_fits(&x, &[2; 12], None) {
        assert!(
            matches!(e, LinalgError::SingleClass { class: 2, .. }),
            "{name}: {e}"
        );
    }
    let empty = Matrix::new(0, 3, vec![]).unwrap();
    let errs = all_fits(&empty, &[], None);
    assert_eq!(errs.len(), 4);
    for (name, e) in errs {
        assert!(
            matches!(e, LinalgError::Empty { input: "x", .. }),
            "{name}: {e}"
        );
    }
    assert!(matches!(
        scores::nce(&[], &[]),
        Err(LinalgError::Empty { .. })
    ));
}

#[test]
fn label_and_weight_problems_are_named() {
    let (x, y) = toy();
    for (name, e) in all_fits(&x, &y[..11], None) {
        assert!(
            matches!(
                e,
                LinalgError::LengthMismatch {
                    input: "y",
                    expected: 12,
                    got: 11,
                    ..
                }
            ),
            "{name}: {e}"
        );
    }
    for (name, e) in all_fits(&x, &y, Some(&[1.0; 5])) {
        assert!(
            matches!(
                e,
                LinalgError::LengthMismatch {
                    input: "sample_weight",
                    ..
                }
            ),
            "{name}: {e}"
        );
    }
    let mut w = vec![1.0; 12];
    w[7] = -0.5;
    for (name, e) in all_fits(&x, &y, Some(&w)) {
        assert!(
            matches!(e, LinalgError::InvalidWeight { index: 7, .. }),
            "{name}: {e}"
        );
    }
    for (name, e) in all_fits(&x, &y, Some(&[0.0; 12])) {
        assert!(matches!(e, LinalgError::ZeroWeights { .. }), "{name}: {e}");
    }
    let e = metrics::confusion_matrix(&[0, 1, 3], &[0, 1, 1], 3).unwrap_err();
    assert!(matches!(
        e,
        LinalgError::LabelOutOfRange {
            input: "y_true",
            index: 2,
            label: 3,
            n_classes: 3
        }
    ));
    assert!(matches!(
        scores::leep(&x, &y[..3]),
        Err(LinalgError::LengthMismatch { .. })
    ));
}

#[test]
fn test_data_with_another_feature_count_is_refused() {
    let (x, y) = toy();
    let wrong = Matrix::zeros(2, 4);
    let check = |e: LinalgError| {
        assert!(
            matches!(
                e,
                LinalgError::DimensionMismatch {
                    expected: 3,
                    got: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("4 columns, expected 3"), "{e}");
    };
    let lr = LogisticRegression::default().fit(&x, &y, None).unwrap();
    check(lr.predict(&wrong).unwrap_err());
    check(lr.predict_proba(&wrong).unwrap_err());
    check(lr.decision_function(&wrong).unwrap_err());
    check(
        RidgeClassifier::default()
            .fit(&x, &y, None)
            .unwrap()
            .predict(&wrong)
            .unwrap_err(),
    );
    let knn = KNeighborsClassifier {
        k: Some(3),
        ..Default::default()
    }
    .fit(&x, &y, None)
    .unwrap();
    check(knn.predict(&wrong).unwrap_err());
    check(
        LinearSvc::default()
            .fit(&x, &y, None)
            .unwrap()
            .decision_function(&wrong)
            .unwrap_err(),
    );
    let mut nan = Matrix::zeros(2, 3);
    nan.row_mut(1)[0] = f64::NAN;
    assert!(matches!(
        lr.predict(&nan),
        Err(LinalgError::NonFinite { row: 1, col: 0, .. })
    ));
}

#[test]
fn hyper_parameters_out_of_domain_are_refused() {
    let (x, y) = toy();
    let bad_c = LogisticRegression {
        c: CSpec::Fixed(0.0),
        ..Default::default()
    };
    assert!(matches!(
        bad_c.fit(&x, &y, None),
        Err(LinalgError::InvalidParameter { name: "c", .. })
    ));
    let bad_k = KNeighborsClassifier {
        k: Some(13),
        ..Default::default()
    };
    assert!(matches!(
        bad_k.fit(&x, &y, None),
        Err(LinalgError::InvalidParameter { name: "k", .. })
    ));
    let bad_svm = LinearSvc {
        c: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        bad_svm.fit(&x, &y, None),
        Err(LinalgError::InvalidParameter { name: "c", .. })
    ));
    let bad_alpha = RidgeClassifier {
        alpha: f64::NAN,
        ..Default::default()
    };
    assert!(matches!(
        bad_alpha.fit(&x, &y, None),
        Err(LinalgError::InvalidParameter { name: "alpha", .. })
    ));
    assert!(matches!(
        Matrix::new(2, 2, vec![1.0; 3]),
        Err(LinalgError::Shape {
            expected: 4,
            got: 3,
            ..
        })
    ));
}

#[test]
fn labels_need_not_be_contiguous() {
    // Classes 3 and 7 only: predictions come back in the caller's labels.
    let (x, _) = toy();
    let y: Vec<usize> = (0..12).map(|i| if i < 6 { 3 } else { 7 }).collect();
    let m = LogisticRegression::default().fit(&x, &y, None).unwrap();
    assert_eq!(m.classes(), &[3, 7]);
    let p = m.predict(&x).unwrap();
    assert!(p.iter().all(|l| *l == 3 || *l == 7));
    assert_eq!(metrics::accuracy(&y, &p).unwrap(), 1.0);
}

#[test]
fn scores_depend_on_label_identity_not_value() {
    let (x, y) = toy();
    let far: Vec<usize> = y
        .iter()
        .map(|&l| if l == 2 { usize::MAX } else { l * 1000 + 7 })
        .collect();
    let probs = Matrix::new(
        12,
        3,
        (0..36).map(|i| 0.1 + (i % 5) as f64 / 10.0).collect(),
    )
    .unwrap();
    let pairs = [
        (
            scores::log_me(&x, &y).unwrap(),
            scores::log_me(&x, &far).unwrap(),
        ),
        (
            scores::h_score(&x, &y).unwrap(),
            scores::h_score(&x, &far).unwrap(),
        ),
        (
            scores::leep(&probs, &y).unwrap(),
            scores::leep(&probs, &far).unwrap(),
        ),
        (
            scores::nce(&far, &y).unwrap(),
            scores::nce(&y, &far).unwrap(),
        ),
    ];
    for (a, b) in pairs {
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} vs {b}");
    }
}
