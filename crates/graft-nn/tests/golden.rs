//! EfficientNet-Lite0 with its published weights against outputs of the reference PyTorch
//! implementation (golden file in the shared data folder; skipped when it is absent).

use graft_data::image_io::load_preprocessed;
use graft_data::npy::{NpyData, NpzFile};
use graft_data::testdata::data_dir_or_skip;
use graft_nn::models::{find, Backbone};
use graft_nn::weights::{self, load_into, LoadOptions};
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// An f32 array of the golden file (f4 widens to f64 exactly, so narrowing back is lossless).
fn golden_array(npz: &mut NpzFile, key: &str) -> Tensor {
    let a = npz.array(key).unwrap();
    assert_eq!(a.descr, "<f4", "{key}");
    let v: Vec<f32> = match a.data {
        NpyData::Float(v) => v.into_iter().map(|x| x as f32).collect(),
        other => panic!("{key}: not floats: {other:?}"),
    };
    let shape: Vec<i64> = a.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&v).view(shape.as_slice())
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

fn lite0_with_weights(dir: &Path) -> (VarStore, Box<dyn Backbone>) {
    let spec = find("efficientnet_lite0").unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = spec
        .build_checked(&vs.root(), Some(spec.default_classes))
        .unwrap();
    let path = dir.join("efficientnet_lite0.safetensors");
    let sd = weights::read(&path).unwrap();
    let report = load_into(&mut vs, &sd, &LoadOptions::default(), spec.name, &path).unwrap();
    assert_eq!(report.loaded, 247);
    assert_eq!(report.converted_dtype, 0);
    (vs, model)
}

#[test]
fn efficientnet_lite0_matches_the_reference_outputs() {
    let Some(dir) = data_dir_or_skip("efficientnet_lite0") else {
        return;
    };
    let (_vs, model) = lite0_with_weights(&dir);
    let mut golden = NpzFile::open(&dir.join("golden/efficientnet_lite0_golden.npz")).unwrap();
    tch::no_grad(|| {
        for image in ["chelsea", "coffee", "rocket"] {
            let x = golden_array(&mut golden, &format!("{image}_input"));
            let pooled = model.forward_features(&x, None, false).unwrap();
            let logits = model.forward_head(&pooled, false).unwrap();
            let dp = max_abs_diff(
                &pooled,
                &golden_array(&mut golden, &format!("{image}_pooled")),
            );
            let dl = max_abs_diff(
                &logits,
                &golden_array(&mut golden, &format!("{image}_logits")),
            );
            eprintln!("efficientnet_lite0 {image}: max |Δ| pooled {dp:.2e}, logits {dl:.2e}");
            assert!(dp < 1e-4 && dl < 1e-4, "{image}: pooled {dp}, logits {dl}");
        }
    });
}

/// The whole path a user takes: decode, graft's own preprocessing for this model, forward.
#[test]
fn efficientnet_lite0_sees_an_espresso() {
    let Some(dir) = data_dir_or_skip("efficientnet_lite0") else {
        return;
    };
    let Some(images) = data_dir_or_skip("test_images") else {
        return;
    };
    let (_vs, model) = lite0_with_weights(&dir);
    let pre = model.input().preprocess().expect("an image model").clone();
    let chw = load_preprocessed(&images.join("coffee.png"), &pre).unwrap();
    let (h, w) = pre.crop.unwrap();
    let x = Tensor::from_slice(&chw).view([1, 3, h as i64, w as i64]);
    let probs = tch::no_grad(|| {
        model
            .forward(&x, false)
            .unwrap()
            .softmax(-1, tch::Kind::Float)
    });
    let top = probs.argmax(-1, false).int64_value(&[0]);
    let p = probs.double_value(&[0, 967]);
    eprintln!("coffee.png: top-1 class {top}, p(espresso) {p:.3}");
    assert_eq!(top, 967, "ImageNet class 967 is espresso");
    assert!(p > 0.8, "p(espresso) {p}");
}
