//! Bad input, notes and the `transform_target` contract, for every method.

use super::*;
use crate::error::LinalgError;
use crate::kernel::Kernel;
use crate::matrix::Matrix;

fn rows(n: usize, d: usize, seed: u64, shift: f64) -> Matrix {
    let mut s = seed;
    let data = (0..n * d)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) + shift
        })
        .collect();
    Matrix::new(n, d, data).unwrap()
}

fn labels(n: usize) -> Vec<usize> {
    (0..n).map(|i| i % 3).collect()
}

fn all_methods() -> Vec<AlignMethod> {
    vec![
        AlignMethod::None,
        AlignMethod::Pca(Pca { dim: 3 }),
        AlignMethod::Coral(Coral::default()),
        AlignMethod::Sa(SubspaceAlignment { dim: 3 }),
        AlignMethod::Tca(Tca {
            dim: 3,
            ..Default::default()
        }),
        AlignMethod::Tca(Tca {
            dim: 3,
            kernel: Some(Kernel::Rbf { gamma: 0.5 }),
            ..Default::default()
        }),
        AlignMethod::Jda(Jda {
            dim: 3,
            iterations: 3,
            ..Default::default()
        }),
        AlignMethod::Jda(Jda {
            dim: 3,
            iterations: 2,
            kernel: Some(Kernel::Linear),
            ..Default::default()
        }),
        AlignMethod::Fa(FeatureAugmentation),
    ]
}

#[test]
fn transform_target_reproduces_the_fitted_target() {
    let (xs, xt, xl) = (rows(20, 5, 1, 0.0), rows(15, 5, 2, 0.3), rows(4, 5, 3, 0.3));
    let (ys, yl) = (labels(20), labels(4));
    let d = Domains {
        source: &xs,
        source_labels: &ys,
        target: &xt,
        target_labelled: Some((&xl, &yl)),
    };
    for m in all_methods() {
        let a = m.fit(&d).unwrap();
        let again = a.transform_target(&xt).unwrap();
        let diff = crate::align::tests::max_diff(&again, &a.target);
        assert!(diff < 1e-10, "{}: {diff:e}", m.name());
        let tl = a.target_labelled.as_ref().unwrap();
        assert!(crate::align::tests::max_diff(&a.transform_target(&xl).unwrap(), tl) < 1e-10);
        assert_eq!(a.source.rows(), 20);
        assert_eq!(a.source.cols(), a.dim());
        let wrong = rows(3, 4, 9, 0.0);
        assert!(matches!(
            a.transform_target(&wrong),
            Err(LinalgError::DimensionMismatch { .. })
        ));
    }
}

fn max_diff(a: &Matrix, b: &Matrix) -> f64 {
    a.data()
        .iter()
        .zip(b.data())
        .fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn bad_domains_name_the_input() {
    let xs = rows(10, 4, 1, 0.0);
    let ys = labels(10);
    let xt3 = rows(8, 3, 2, 0.0);
    for m in all_methods() {
        let err = m.fit(&Domains::new(&xs, &ys, &xt3)).unwrap_err();
        assert!(
            matches!(
                err,
                LinalgError::DimensionMismatch {
                    input: "target",
                    expected: 4,
                    got: 3,
                    ..
                }
            ),
            "{}: {err}",
            m.name()
        );
        let mut bad = rows(8, 4, 2, 0.0);
        bad.row_mut(2)[1] = f64::NAN;
        let err = m.fit(&Domains::new(&xs, &ys, &bad)).unwrap_err();
        assert!(
            matches!(
                err,
                LinalgError::NonFinite {
                    input: "target",
                    row: 2,
                    col: 1,
                    ..
                }
            ),
            "{}: {err}",
            m.name()
        );
        let empty = Matrix::zeros(0, 4);
        let err = m.fit(&Domains::new(&empty, &[], &xs)).unwrap_err();
        assert!(matches!(
            err,
            LinalgError::Empty {
                input: "source",
                ..
            }
        ));
        let err = m.fit(&Domains::new(&xs, &ys[..9], &xs)).unwrap_err();
        assert!(matches!(
            err,
            LinalgError::LengthMismatch {
                input: "source_labels",
                ..
            }
        ));
    }
}

#[test]
fn too_many_dimensions_name_dim_and_the_maximum() {
    let (xs, xt) = (rows(10, 4, 1, 0.0), rows(8, 4, 2, 0.0));
    let ys = labels(10);
    let d = Domains::new(&xs, &ys, &xt);
    let cases = [
        (AlignMethod::Pca(Pca { dim: 5 }), "pca.dim", 4),
        (AlignMethod::Sa(SubspaceAlignment { dim: 5 }), "sa.dim", 4),
        (
            AlignMethod::Tca(Tca {
                dim: 5,
                ..Default::default()
            }),
            "tca.dim",
            4,
        ),
        (
            AlignMethod::Tca(Tca {
                dim: 19,
                kernel: Some(Kernel::Linear),
                ..Default::default()
            }),
            "tca.dim",
            18,
        ),
        (
            AlignMethod::Jda(Jda {
                dim: 0,
                ..Default::default()
            }),
            "jda.dim",
            4,
        ),
    ];
    for (m, want, max) in cases {
        let err = m.fit(&d).unwrap_err();
        let LinalgError::InvalidParameter { name, value, .. } = &err else {
            panic!("{}: {err}", m.name());
        };
        assert_eq!(*name, want);
        assert!(value.contains(&format!("maximum here is {max}")), "{err}");
    }
}

#[test]
fn feature_augmentation_needs_labelled_target_rows() {
    let (xs, xt) = (rows(10, 4, 1, 0.0), rows(8, 4, 2, 0.0));
    let ys = labels(10);
    let err = FeatureAugmentation
        .fit(&Domains::new(&xs, &ys, &xt))
        .unwrap_err();
    assert!(
        matches!(
            err,
            LinalgError::InvalidParameter {
                name: "target_labelled",
                ..
            }
        ),
        "{err}"
    );
    let xl = rows(3, 5, 3, 0.0);
    let yl = labels(3);
    let d = Domains {
        target_labelled: Some((&xl, &yl)),
        ..Domains::new(&xs, &ys, &xt)
    };
    assert!(matches!(
        FeatureAugmentation.fit(&d).unwrap_err(),
        LinalgError::DimensionMismatch {
            input: "target_labelled",
            ..
        }
    ));
}

#[test]
fn singular_covariances_are_regularised_and_noted() {
    // Column 3 is constant: every covariance is singular.
    let mut xs = rows(12, 4, 1, 0.0);
    let mut xt = rows(9, 4, 2, 0.5);
    for i in 0..12 {
        xs.row_mut(i)[3] = 1.0;
    }
    for i in 0..9 {
        xt.row_mut(i)[3] = 1.0;
    }
    let ys = labels(12);
    let d = Domains::new(&xs, &ys, &xt);
    let a = Coral {
        lambda: 0.0,
        scale: LambdaScale::Absolute,
    }
    .fit(&d)
    .unwrap();
    assert!(a.source.data().iter().all(|v| v.is_finite()));
    assert!(
        a.notes.iter().any(|n| n.contains("singular")),
        "{:?}",
        a.notes
    );
    let a = Pca { dim: 4 }.fit(&d).unwrap();
    assert!(
        a.notes.iter().any(|n| n.contains("rank 3")),
        "{:?}",
        a.notes
    );
    // TCA / JDA: the scatter is singular, lambda I keeps the pencil definite.
    let a = Tca {
        dim: 4,
        ..Default::default()
    }
    .fit(&d)
    .unwrap();
    assert!(a.source.data().iter().all(|v| v.is_finite()));
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("singular (rank 3 of 4)") && n.contains("components 4..4")),
        "{:?}",
        a.notes
    );
    assert!(Coral {
        lambda: -1.0,
        scale: LambdaScale::Absolute
    }
    .fit(&d)
    .is_err());
    assert!(Tca {
        mu: 0.0,
        ..Default::default()
    }
    .fit(&d)
    .is_err());
}

#[test]
fn jda_needs_two_source_classes_and_one_round() {
    let (xs, xt) = (rows(10, 4, 1, 0.0), rows(8, 4, 2, 0.0));
    let ys = vec![2; 10];
    let d = Domains::new(&xs, &ys, &xt);
    let small = Jda {
        dim: 2,
        ..Default::default()
    };
    assert!(matches!(
        small.fit(&d).unwrap_err(),
        LinalgError::SingleClass {
            input: "source_labels",
            class: 2
        }
    ));
    let ys = labels(10);
    let err = Jda {
        iterations: 0,
        ..small
    }
    .fit(&Domains::new(&xs, &ys, &xt))
    .unwrap_err();
    assert!(matches!(
        err,
        LinalgError::InvalidParameter {
            name: "jda.iterations",
            ..
        }
    ));
}

#[test]
fn l2_normalisation_keeps_zero_rows() {
    let x = Matrix::from_rows(&[[3.0, 4.0], [0.0, 0.0]]).unwrap();
    let n = l2_normalise_rows(&x);
    assert_eq!(n.row(0), &[0.6, 0.8]);
    assert_eq!(n.row(1), &[0.0, 0.0]);
}

#[test]
fn coral_lambda_in_variance_units_is_the_same_strength_at_any_scale() {
    let (xs, xt) = (rows(40, 5, 3, 0.0), rows(30, 5, 4, 1.0));
    let ys = vec![0; 40];
    let fit = |c: &Coral, k: f64| {
        let (s, t) = (scale(&xs, k), scale(&xt, k));
        c.fit(&Domains::new(&s, &ys, &t)).unwrap().source
    };
    let relative = Coral::default();
    // Features 1000x smaller: the map is the same, up to that factor.
    let (big, small) = (fit(&relative, 1.0), fit(&relative, 1e-3));
    for (a, b) in big.data().iter().zip(small.data()) {
        assert!((a * 1e-3 - b).abs() < 1e-9 * a.abs().max(1.0), "{a} vs {b}");
    }
    // An absolute lambda = 1 swamps the small features' covariances instead.
    let absolute = Coral {
        lambda: 1.0,
        scale: LambdaScale::Absolute,
    };
    let swamped = fit(&absolute, 1e-3);
    let moved = |a: &Matrix| {
        let x = scale(&xs, 1e-3);
        a.data()
            .iter()
            .zip(x.data())
            .map(|(p, q)| (p - q).abs())
            .sum::<f64>()
    };
    assert!(moved(&swamped) < 0.01 * moved(&small));
}

fn scale(x: &Matrix, k: f64) -> Matrix {
    Matrix::new(x.rows(), x.cols(), x.data().iter().map(|v| v * k).collect()).unwrap()
}
