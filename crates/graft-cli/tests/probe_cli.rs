//! End-to-end tests of `graft probe` and `graft rank` through the real binary, on features and
//! image folders the tests make themselves.

use graft_data::npy::{write_npz, NpyOut};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn graft(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .env("GRAFT_CACHE_DIR", cache)
        .output()
        .expect("the graft binary runs")
}

fn json_of(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "graft failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("--json prints one JSON object")
}

/// Three well-separated Gaussian-ish blobs in `d` dimensions (deterministic).
fn blobs(dir: &Path, name: &str, n: usize, d: usize, seed: u64, classes: usize) -> PathBuf {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % classes;
        for j in 0..d {
            let centre = if j % classes == c { 3.0 } else { 0.0 };
            x.push((centre + rnd()) as f32);
        }
        y.push(c as i64);
    }
    let p = dir.join(name);
    write_npz(
        std::fs::File::create(&p).unwrap(),
        &[
            ("X", &[n, d], NpyOut::F32(&x)),
            ("y", &[n], NpyOut::I64(&y)),
        ],
    )
    .unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_head_separates_clean_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let train = blobs(tmp.path(), "train.npz", 150, 12, 1, 3);
    let test = blobs(tmp.path(), "test.npz", 60, 12, 2, 3);
    for head in ["logreg", "ridge", "knn", "svm", "mlp"] {
        let v = json_of(&graft(
            &[
                "probe",
                "--features",
                s(&train),
                "--test",
                s(&test),
                "--head",
                head,
                "--epochs",
                "20",
                "--threads",
                "1",
                "--json",
            ],
            tmp.path(),
        ));
        let acc = v["accuracy"].as_f64().unwrap();
        assert!(acc > 0.95, "{head}: accuracy {acc}");
        assert!((0.0..=1.0).contains(&v["macro_f1"].as_f64().unwrap()));
        assert_eq!(v["confusion"].as_array().unwrap().len(), 3);
    }
    // auto choices by cross-validation, and a held-out split without --test.
    let v = json_of(&graft(
        &["probe", "--features", s(&train), "--c", "auto", "--json"],
        tmp.path(),
    ));
    assert_eq!(v["n_test"], 30);
    let v = json_of(&graft(
        &[
            "probe",
            "--features",
            s(&train),
            "--head",
            "knn",
            "--k",
            "auto",
            "--metric",
            "cosine",
            "--json",
        ],
        tmp.path(),
    ));
    assert!(v["accuracy"].as_f64().unwrap() > 0.9);
}

#[test]
fn bad_features_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let train = blobs(tmp.path(), "train.npz", 60, 6, 1, 3);
    let narrow = blobs(tmp.path(), "narrow.npz", 30, 5, 2, 3);
    let more_classes = blobs(tmp.path(), "four.npz", 40, 6, 3, 4);
    let one = blobs(tmp.path(), "one.npz", 20, 6, 4, 1);
    let nan = tmp.path().join("nan.npz");
    let mut x = vec![0.5f32; 20 * 6];
    x[13] = f32::NAN;
    let y: Vec<i64> = (0..20).map(|i| i % 2).collect();
    write_npz(
        std::fs::File::create(&nan).unwrap(),
        &[
            ("X", &[20, 6], NpyOut::F32(&x)),
            ("y", &[20], NpyOut::I64(&y)),
        ],
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--features", s(&train), "--test", s(&narrow)],
            "5 features per sample",
        ),
        (
            vec!["--features", s(&train), "--test", s(&more_classes)],
            "does not have",
        ),
        (vec!["--features", s(&one)], "one class"),
        (vec!["--features", s(&nan)], "row 2"),
        (vec!["--features", "/no/such.npz"], "/no/such.npz"),
        (
            vec!["--features", s(&train), "--c", "lots"],
            "--c must be a number",
        ),
    ];
    for (args, want) in cases {
        let mut full = vec!["probe"];
        full.extend(args.iter().copied());
        let o = graft(&full, tmp.path());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(e.contains(want), "{args:?}: expected `{want}` in: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// Two classes of small PNGs: dark or bright.
fn image_folder(root: &Path) -> PathBuf {
    let dir = root.join("images");
    for (k, c) in ["dark", "bright"].iter().enumerate() {
        std::fs::create_dir_all(dir.join(c)).unwrap();
        for i in 0..6u32 {
            let img = image::RgbImage::from_fn(30, 30, |x, y| {
                let v = (k as u32 * 150 + (x * 3 + y * 2 + i * 7) % 60) as u8;
                image::Rgb([v, v, v])
            });
            img.save(dir.join(c).join(format!("{i}.png"))).unwrap();
        }
    }
    dir
}

#[test]
fn extracted_features_are_cached_and_ranked() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let data = image_folder(tmp.path());
    let args = [
        "probe",
        "--model",
        "lenet",
        "--data",
        s(&data),
        "--head",
        "knn",
        "--k",
        "1",
        "--threads",
        "1",
        "--json",
    ];
    let first = json_of(&graft(&args, &cache));
    assert_eq!(first["cache"]["train"]["hit"], false);
    let second = json_of(&graft(&args, &cache));
    assert_eq!(second["cache"]["train"]["hit"], true);
    assert_eq!(first["accuracy"], second["accuracy"]);
    // A changed file changes the key.
    let f = data.join("dark").join("0.png");
    image::RgbImage::from_pixel(31, 30, image::Rgb([9, 9, 9]))
        .save(&f)
        .unwrap();
    let third = json_of(&graft(&args, &cache));
    assert_eq!(third["cache"]["train"]["hit"], false);

    let r = json_of(&graft(
        &[
            "rank",
            "--models",
            "lenet",
            "--stages",
            "conv2,fc1",
            "--data",
            s(&data),
            "--threads",
            "1",
            "--json",
        ],
        &cache,
    ));
    let c = r["candidates"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert!(c[0]["logme"].as_f64().unwrap() >= c[1]["logme"].as_f64().unwrap());
    assert!(
        c[0]["leep"].is_null(),
        "no weights: no source head, no LEEP"
    );
}
