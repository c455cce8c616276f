//! Readers and preprocessing on the real shared datasets; each test is skipped (with a printed
//! reason) when the shared data folder is absent.

use graft_data::arrays::read_npz;
use graft_data::image_io::{decode_rgb, load_preprocessed, preprocess, resize_exact, resized_wh};
use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use graft_data::testdata::data_dir_or_skip;

#[test]
fn usps_and_jda_archives() {
    let Some(usps) = data_dir_or_skip("usps/usps.npz") else {
        return;
    };
    let a = read_npz(&usps, "train_X", Some("train_y")).unwrap();
    assert_eq!((a.n, a.sample_shape.clone()), (7291, vec![256]));
    let mut hist = [0usize; 10];
    for &l in a.y.as_ref().unwrap() {
        hist[l as usize] += 1;
    }
    assert_eq!(hist, [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644]);
    assert!(a.x.iter().all(|v| (0.0..=1.0).contains(v)));
    let Some(jda) = data_dir_or_skip("jda_mnist_usps_coil/mnist_usps_jda.npz") else {
        return;
    };
    let m = read_npz(&jda, "mnist_X", Some("mnist_y")).unwrap();
    assert_eq!((m.n, m.dim()), (2000, 256));
    assert_eq!(
        m.y.as_ref().unwrap().iter().min(),
        Some(&1),
        "MATLAB labels 1..10 kept as written"
    );
    let sum: f64 = m.x.iter().sum();
    assert!((sum - 69373.58203125).abs() < 1e-6, "{sum}");
}

/// The EfficientNet-Lite0 golden inputs were preprocessed with PIL bilinear resizing, crop 224
/// and (p - 127) / 128, but with the long side *rounded* (chelsea 451x300 -> 385x256), where
/// torchvision's `Resize(256)` truncates (-> 384x256). So: PIL's resize to the rounded size must
/// reproduce them exactly, and graft's torchvision recipe matches where the two rules agree.
#[test]
fn efficientnet_golden_inputs_are_reproduced() {
    let (Some(golden), Some(images)) = (
        data_dir_or_skip("efficientnet_lite0/golden/efficientnet_lite0_golden.npz"),
        data_dir_or_skip("test_images"),
    ) else {
        return;
    };
    let recipe = Preprocess {
        resize_shorter: Some(256),
        crop: Some((224, 224)),
        interpolation: Interpolation::Bilinear,
        color: ColorMode::Rgb,
        normalization: Normalization::Centered {
            center: 127.0,
            scale: 128.0,
        },
    };
    for (name, file) in [
        ("chelsea", "chelsea.png"),
        ("coffee", "coffee.png"),
        ("rocket", "rocket.jpg"),
    ] {
        let want = read_npz(&golden, &format!("{name}_input"), None).unwrap();
        assert_eq!(want.sample_shape, vec![3, 224, 224]);
        let img = decode_rgb(&images.join(file)).unwrap();
        // The golden rule: long side rounded.
        let (w, h) = (img.width(), img.height());
        let long = (256.0 * w.max(h) as f64 / w.min(h) as f64).round() as u32;
        let (rw, rh) = if w >= h { (long, 256) } else { (256, long) };
        let resized = resize_exact(&img, rw, rh, Interpolation::Bilinear).unwrap();
        let exact_recipe = Preprocess {
            resize_shorter: None,
            ..recipe.clone()
        };
        let rounded = preprocess(&resized, &exact_recipe).unwrap();
        let torchvision = load_preprocessed(&images.join(file), &recipe).unwrap();
        let level = 1.0 / 128.0;
        for (rule, got) in [
            ("rounded long side", &rounded),
            ("torchvision Resize(256)", &torchvision),
        ] {
            let off: Vec<f64> = got
                .iter()
                .zip(&want.x)
                .map(|(g, w)| (*g as f64 - w).abs())
                .collect();
            let max = off.iter().cloned().fold(0.0, f64::max);
            let exact = off.iter().filter(|d| **d < 1e-6).count() as f64 / off.len() as f64;
            eprintln!(
                "{file}, {rule} ({rw}x{rh}): {:.3}% exact, max {:.0} levels",
                exact * 100.0,
                max / level
            );
            if rule.starts_with("rounded") || resized_wh(w, h, Some(256)) == (rw, rh) {
                if file.ends_with(".png") {
                    assert!(
                        max < 1e-6,
                        "{file}: PNG inputs must match PIL exactly, max diff {max}"
                    );
                } else {
                    assert!(
                        exact > 0.98 && max <= 2.0 * level + 1e-6,
                        "{file}: {exact} exact, max {max}"
                    );
                }
            }
        }
    }
}
