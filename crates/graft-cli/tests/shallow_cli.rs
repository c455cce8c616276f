//! End-to-end tests of `graft align` and `graft reweight` through the real binary, on two
//! feature domains the tests make themselves: results in JSON, the weights file, the unaligned
//! baseline, and clear errors for inputs that cannot work.

mod common;

use common::{graft, stderr, summary as json_of};

use graft_data::npy::{write_npz, NpyOut};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` samples of 3 classes in `d` dimensions: class `c` is centred on 2 in the features
/// `j % 3 == c`; the target domain scales every feature by `scale` and adds `shift` to the
/// features of class 0, a covariate shift that makes every target sample look like class 0 to
/// an unadapted classifier.
fn domain(n: usize, d: usize, seed: u64, shift: f64, scale: f64) -> (Vec<f32>, Vec<i64>) {
    let mut st = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = || {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        (st >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        for j in 0..d {
            let centre = if j % 3 == c { 2.0 } else { 0.0 };
            let moved = if j % 3 == 0 { shift } else { 0.0 };
            x.push(((centre + rnd()) * scale + moved) as f32);
        }
        y.push(c as i64);
    }
    (x, y)
}

fn write(dir: &Path, name: &str, x: &[f32], y: &[i64], d: usize) -> PathBuf {
    let p = dir.join(name);
    write_npz(
        std::fs::File::create(&p).unwrap(),
        &[
            ("X", &[y.len(), d], NpyOut::F32(x)),
            ("y", &[y.len()], NpyOut::I64(y)),
        ],
    )
    .unwrap();
    p
}

struct Sets {
    _tmp: tempfile::TempDir,
    source: PathBuf,
    target: PathBuf,
    target_labelled: PathBuf,
    dir: PathBuf,
}

fn sets() -> Sets {
    let tmp = tempfile::tempdir().unwrap();
    let d = 6;
    let (xs, ys) = domain(150, d, 1, 0.0, 1.0);
    let (xt, yt) = domain(120, d, 2, 4.0, 1.0);
    let (xl, yl) = domain(9, d, 3, 4.0, 1.0);
    Sets {
        source: write(tmp.path(), "source.npz", &xs, &ys, d),
        target: write(tmp.path(), "target.npz", &xt, &yt, d),
        target_labelled: write(tmp.path(), "target_labelled.npz", &xl, &yl, d),
        dir: tmp.path().to_path_buf(),
        _tmp: tmp,
    }
}

#[test]
fn every_alignment_reports_target_accuracy_against_the_baseline() {
    let t = sets();
    let base = json_of(&graft(&[
        "align",
        "--method",
        "none",
        "--source",
        s(&t.source),
        "--target",
        s(&t.target),
        "--normalize",
        "none",
        "--json",
    ]));
    let none_acc = base["accuracy"].as_f64().unwrap();
    assert!(base["baseline_accuracy"].is_null());
    for method in ["pca", "coral", "sa", "tca", "jda", "fa"] {
        let out = t.dir.join(format!("aligned-{method}"));
        let mut args = vec![
            "align",
            "--method",
            method,
            "--source",
            s(&t.source),
            "--target",
            s(&t.target),
            "--dim",
            "3",
            // The raw features: the shift below is one of their mean (the methods' own default
            // normalisation is checked in crates/graft/tests/defaults_documented.rs).
            "--normalize",
            "none",
            "--out",
            s(&out),
            "--json",
        ];
        if method == "fa" {
            args.extend(["--target-labelled", s(&t.target_labelled)]);
        }
        let v = json_of(&graft(&args));
        let acc = v["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{method}: {v}");
        assert!(v["baseline_accuracy"].as_f64().is_some(), "{method}: {v}");
        assert!(out.join("source.npz").exists() && out.join("target.npz").exists());
        if method == "tca" || method == "jda" {
            // A shift of the mean: the MMD term of TCA and JDA removes it, 1-NN on the raw
            // features cannot; the test fails if the alignment does nothing.
            assert!(acc > none_acc + 0.3, "{method} {acc} vs none {none_acc}");
        }
    }
}

#[test]
fn reweight_writes_one_weight_per_source_row_and_measures_the_effect() {
    let t = sets();
    for (method, file) in [
        ("kliep", "w.csv"),
        ("ulsif", "w.npy"),
        ("kmm", "k.csv"),
        ("nnw", "n.csv"),
        ("classifier", "c.csv"),
    ] {
        let w = t.dir.join(file);
        let v = json_of(&graft(&[
            "reweight",
            "--method",
            method,
            "--source",
            s(&t.source),
            "--target",
            s(&t.target),
            "--out",
            s(&w),
            "--json",
        ]));
        assert_eq!(v["n_source"], 150, "{method}");
        let ess = v["effective_sample_size"].as_f64().unwrap();
        assert!(ess > 0.0 && ess <= 150.0 + 1e-9, "{method}: {v}");
        assert!(v["accuracy"].as_f64().is_some() && v["baseline_accuracy"].as_f64().is_some());
        if file.ends_with(".csv") {
            let text = std::fs::read_to_string(&w).unwrap();
            assert_eq!(
                text.lines().count(),
                151,
                "{method}: header + one line per row"
            );
            assert!(text.starts_with("index,weight"));
        } else {
            assert!(std::fs::metadata(&w).unwrap().len() >= 150 * 8);
        }
    }
    let w = t.dir.join("tr.csv");
    let v = json_of(&graft(&[
        "reweight",
        "--method",
        "tradaboost",
        "--source",
        s(&t.source),
        "--target",
        s(&t.target),
        "--target-labelled",
        s(&t.target_labelled),
        "--out",
        s(&w),
        "--json",
    ]));
    let acc = v["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
}

#[test]
fn inputs_that_cannot_work_get_clear_errors() {
    let t = sets();
    let (x4, y4) = domain(30, 4, 5, 0.0, 1.0);
    let narrow = write(&t.dir, "narrow.npz", &x4, &y4, 4);
    let (mut xn, yn) = domain(30, 6, 6, 0.0, 1.0);
    xn[7] = f32::NAN;
    let nan = write(&t.dir, "nan.npz", &xn, &yn, 6);
    let w = t.dir.join("w.csv");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "align",
                "--method",
                "coral",
                "--source",
                s(&t.source),
                "--target",
                s(&narrow),
            ],
            vec!["narrow.npz", "4 features", "6"],
        ),
        (
            vec![
                "align",
                "--method",
                "pca",
                "--source",
                s(&t.source),
                "--target",
                s(&nan),
            ],
            vec!["nan.npz", "sample 1", "NaN"],
        ),
        (
            vec![
                "align",
                "--method",
                "pca",
                "--dim",
                "50",
                "--source",
                s(&t.source),
                "--target",
                s(&t.target),
            ],
            vec!["dim", "50"],
        ),
        (
            vec![
                "align",
                "--method",
                "fa",
                "--source",
                s(&t.source),
                "--target",
                s(&t.target),
            ],
            vec!["labelled"],
        ),
        (
            vec![
                "reweight",
                "--method",
                "tradaboost",
                "--source",
                s(&t.source),
                "--target",
                s(&t.target),
                "--out",
                s(&w),
            ],
            vec!["--target-labelled"],
        ),
        (
            vec![
                "reweight",
                "--method",
                "kliep",
                "--source",
                s(&t.source),
                "--target",
                s(&narrow),
                "--out",
                s(&w),
            ],
            vec!["narrow.npz", "4 features"],
        ),
        (
            vec![
                "align",
                "--method",
                "none",
                "--source",
                "missing.npz",
                "--target",
                s(&t.target),
            ],
            vec!["missing.npz"],
        ),
    ];
    for (args, expect) in cases {
        let o = graft(&args);
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?} should fail");
        for piece in expect {
            assert!(e.contains(piece), "{args:?}: `{piece}` not in: {e}");
        }
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
    assert!(
        !w.exists(),
        "no weights file is left behind by a failed run"
    );
}
