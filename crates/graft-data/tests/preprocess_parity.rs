//! graft's preprocessing against PIL + torchvision (Resize, CenterCrop, Grayscale, ToTensor,
//! Normalize). The reference values come from `scripts/reference/preprocess_reference.py`: the
//! 8-bit pixels after resize and crop at a fixed stride of the CHW tensor, a few normalised
//! floats, and per-channel statistics of the whole tensor.
//!
//! PNG inputs decode identically in both, so they are compared strictly (every sampled level
//! within 1, at least 99.9% exact). JPEG decoders differ (graft's is not libjpeg), so JPEG cases
//! are compared loosely: 99% of levels within 1, none off by more than 2 (measured: 99.1-99.3%
//! exact, max 1 level on rocket.jpg).

use graft_data::image_io::{decode_rgb, luma, preprocess, resize_and_crop};
use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= (val(c) as u32) << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn recipe(case: &Value) -> Preprocess {
    let norm = &case["normalization"];
    let f = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect::<Vec<_>>()
    };
    Preprocess {
        resize_shorter: case["resize"].as_u64().map(|v| v as u32),
        crop: case["crop"]
            .as_array()
            .map(|c| (c[0].as_u64().unwrap() as u32, c[1].as_u64().unwrap() as u32)),
        interpolation: match case["interpolation"].as_str().unwrap() {
            "bilinear" => Interpolation::Bilinear,
            _ => Interpolation::Bicubic,
        },
        color: match case["color"].as_str().unwrap() {
            "rgb" => ColorMode::Rgb,
            "bgr" => ColorMode::Bgr,
            _ => ColorMode::Gray,
        },
        normalization: match norm["kind"].as_str().unwrap() {
            "mean_std" => Normalization::MeanStd {
                mean: f(&norm["mean"]),
                std: f(&norm["std"]),
            },
            "centered" => Normalization::Centered {
                center: norm["center"].as_f64().unwrap() as f32,
                scale: norm["scale"].as_f64().unwrap() as f32,
            },
            _ => Normalization::UnitRange,
        },
    }
}

/// (value of an 8-bit level in channel c, size of one level) in f64.
fn norm_of(p: &Preprocess, c: usize, level: f64) -> (f64, f64) {
    match &p.normalization {
        Normalization::MeanStd { mean, std } => {
            let (m, s) = (mean[c] as f64, std[c] as f64);
            ((level / 255.0 - m) / s, 1.0 / 255.0 / s)
        }
        Normalization::Centered { center, scale } => (
            (level - *center as f64) / *scale as f64,
            1.0 / *scale as f64,
        ),
        Normalization::UnitRange => (level / 255.0, 1.0 / 255.0),
    }
}

/// graft's 8-bit CHW tensor (before normalisation), from the public u8 stage.
fn graft_levels(img: &image::RgbImage, p: &Preprocess) -> Vec<u8> {
    let hwc = resize_and_crop(img, p).unwrap();
    let plane = (hwc.width() * hwc.height()) as usize;
    let px: Vec<&[u8]> = hwc.as_raw().chunks_exact(3).collect();
    match p.color {
        ColorMode::Gray => px.iter().map(|q| luma(q)).collect(),
        ColorMode::Rgb | ColorMode::Bgr => {
            let order = if p.color == ColorMode::Rgb {
                [0, 1, 2]
            } else {
                [2, 1, 0]
            };
            let mut out = vec![0u8; 3 * plane];
            for (i, q) in px.iter().enumerate() {
                for c in 0..3 {
                    out[c * plane + i] = q[order[c]];
                }
            }
            out
        }
    }
}

struct Figures {
    exact: f64,
    within_tol: f64,
    max_levels: u8,
    max_abs: f64,
    max_stat: f64,
}

fn check_case(case: &Value, img: &image::RgbImage) -> Figures {
    let p = recipe(case);
    let shape: Vec<usize> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let out = preprocess(img, &p).unwrap();
    assert_eq!(out.len(), shape.iter().product::<usize>(), "tensor size");
    let plane = shape[1] * shape[2];
    let levels = graft_levels(img, &p);
    let stride = case["stride"].as_u64().unwrap() as usize;
    let reference = b64(case["samples_u8"].as_str().unwrap());
    assert_eq!(reference.len(), out.len().div_ceil(stride), "sample count");

    let (mut exact, mut within, mut max_levels, mut max_abs) = (0usize, 0usize, 0u8, 0f64);
    for (k, &r) in reference.iter().enumerate() {
        let i = k * stride;
        let c = i / plane;
        let (want, level) = norm_of(&p, c, r as f64);
        let d = (out[i] as f64 - want).abs();
        max_abs = max_abs.max(d);
        if d <= level + 1e-6 {
            within += 1;
        }
        let dl = levels[i].abs_diff(r);
        max_levels = max_levels.max(dl);
        if dl == 0 {
            exact += 1;
        }
        // The normalised value is exactly the level's value: the LUT is right.
        assert!((out[i] as f64 - norm_of(&p, c, levels[i] as f64).0).abs() < 1e-5);
    }
    for s in case["norm_samples"].as_array().unwrap() {
        let (i, v) = (s[0].as_u64().unwrap() as usize, s[1].as_f64().unwrap());
        if levels[i] == reference[i / stride] {
            assert_eq!(
                out[i], v as f32,
                "normalised value at {i}: float32 arithmetic as torch"
            );
        }
    }
    let mut max_stat = 0f64;
    for (c, want_mean) in case["stats"]["mean"].as_array().unwrap().iter().enumerate() {
        let xs = &out[c * plane..(c + 1) * plane];
        let mean = xs.iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
        let sd = (xs.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / plane as f64).sqrt();
        max_stat = max_stat.max((mean - want_mean.as_f64().unwrap()).abs());
        max_stat = max_stat.max((sd - case["stats"]["std"][c].as_f64().unwrap()).abs());
    }
    let n = reference.len() as f64;
    Figures {
        exact: exact as f64 / n,
        within_tol: within as f64 / n,
        max_levels,
        max_abs,
        max_stat,
    }
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("preprocess_reference.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn label(case: &Value) -> String {
    format!(
        "{} resize {} crop {} {} {}",
        case["image"].as_str().unwrap(),
        case["resize"],
        case["crop"],
        case["interpolation"].as_str().unwrap(),
        case["color"].as_str().unwrap()
    )
}

#[test]
fn synthetic_image_matches_pil_exactly() {
    let img = decode_rgb(&fixtures().join("synthetic.png")).unwrap();
    let mut n = 0;
    for case in cases().iter().filter(|c| c["image"] == "synthetic.png") {
        let f = check_case(case, &img);
        eprintln!(
            "{}: exact {:.4}%, within tol {:.4}%, max |levels| {}, max |abs| {:.2e}, max stat diff {:.2e}",
            label(case), f.exact * 100.0, f.within_tol * 100.0, f.max_levels, f.max_abs, f.max_stat
        );
        assert!(
            f.within_tol >= 0.999,
            "{}: {:.4}% within tolerance",
            label(case),
            f.within_tol * 100.0
        );
        assert!(
            f.max_levels <= 1,
            "{}: {} levels off",
            label(case),
            f.max_levels
        );
        assert!(
            f.max_stat < 1e-3,
            "{}: statistics off by {}",
            label(case),
            f.max_stat
        );
        n += 1;
    }
    assert_eq!(n, 8, "all synthetic cases present in the fixture");
}

#[test]
fn real_photos_match_pil() {
    let Some(data) = graft_data::testdata::data_dir_or_skip("test_images") else {
        return;
    };
    for case in cases().iter().filter(|c| c["image"] != "synthetic.png") {
        let name = case["image"].as_str().unwrap();
        let img = decode_rgb(&data.join(name.trim_start_matches("test_images/"))).unwrap();
        let f = check_case(case, &img);
        eprintln!(
            "{}: exact {:.4}%, within tol {:.4}%, max |levels| {}, max |abs| {:.2e}, max stat diff {:.2e}",
            label(case), f.exact * 100.0, f.within_tol * 100.0, f.max_levels, f.max_abs, f.max_stat
        );
        if name.ends_with(".png") {
            assert!(
                f.within_tol >= 0.999,
                "{}: {:.4}% within tolerance",
                label(case),
                f.within_tol * 100.0
            );
            assert!(
                f.max_levels <= 1,
                "{}: {} levels off",
                label(case),
                f.max_levels
            );
            assert!(
                f.max_stat < 1e-3,
                "{}: statistics off by {}",
                label(case),
                f.max_stat
            );
        } else {
            // Loose: another JPEG decoder (see the module doc).
            assert!(
                f.within_tol >= 0.99,
                "{}: {:.4}% within tolerance",
                label(case),
                f.within_tol * 100.0
            );
            assert!(
                f.max_levels <= 2,
                "{}: {} levels off",
                label(case),
                f.max_levels
            );
            assert!(
                f.max_stat < 1e-3,
                "{}: statistics off by {}",
                label(case),
                f.max_stat
            );
        }
    }
}
