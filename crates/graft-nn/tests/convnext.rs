//! ConvNeXt against timm (both MLP forms) and torchvision: tiny random-weight models with every
//! parameter perturbed, each stage's pooled features, the final features and the logits; and
//! the full-size registry models' key names, shapes and preprocessing. The fixtures come from
//! scripts/reference/convnext_reference.py.

mod common;

use common::{max_abs, shapes, under};

use graft_data::preprocess::Normalization;
use graft_nn::models::convnext::{ConvNext, ConvNextConfig, ConvNextLayout};
use graft_nn::models::{find, Backbone};
use graft_nn::weights::{load_into, safetensors, LoadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Device, Tensor};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convnext")
}

fn tiny(case: &str) -> ConvNextConfig {
    ConvNextConfig {
        arch: "tiny_convnext",
        depths: [1, 1, 2, 1],
        dims: [16, 24, 32, 40],
        conv_mlp: case == "timm_conv_mlp",
        layout: if case == "torchvision" {
            ConvNextLayout::Torchvision
        } else {
            ConvNextLayout::Timm
        },
    }
}

#[test]
fn tiny_convnexts_match_timm_and_torchvision() {
    let reference = safetensors::read(&fixtures().join("tiny_outputs.safetensors")).unwrap();
    let all = safetensors::read(&fixtures().join("tiny_weights.safetensors")).unwrap();
    let x = &reference.tensors["input"];
    for case in ["timm", "timm_conv_mlp", "torchvision"] {
        let sd = under(&all, &format!("{case}."));
        let mut vs = VarStore::new(Device::Cpu);
        let model = ConvNext::new(
            &vs.root(),
            &tiny(case),
            Some(5),
            graft_data::preprocess::Preprocess::torchvision(236),
        );
        let report =
            load_into(&mut vs, &sd, &LoadOptions::default(), case, Path::new("w")).unwrap();
        assert!(report.skipped.is_empty());
        let mut worst = 0.0f64;
        tch::no_grad(|| {
            let mut check = |what: &str, got: &Tensor| {
                let diff = max_abs(&(got - &reference.tensors[&format!("{case}.{what}")]));
                worst = worst.max(diff);
                assert!(diff < 1e-4, "{case} {what}: max |Δ| {diff:.3e}");
            };
            for stage in ["stem", "stages.0", "stages.1", "stages.2"] {
                check(
                    stage,
                    &model.forward_features(x, Some(stage), false).unwrap(),
                );
            }
            let f = model.forward_features(x, None, false).unwrap();
            check("features", &f);
            check("logits", &model.forward_head(&f, false).unwrap());
        });
        eprintln!("{case}: max |Δ| {worst:.2e}");
    }
}

#[derive(serde::Deserialize)]
struct Full {
    keys: Vec<(String, Vec<i64>)>,
    num_classes: i64,
    crop_pct: Option<f64>,
    mean: Option<Vec<f32>>,
}

#[test]
fn full_size_convnexts_have_the_reference_keys_and_preprocessing() {
    #[derive(serde::Deserialize)]
    struct File {
        full: BTreeMap<String, Full>,
    }
    let text = std::fs::read_to_string(fixtures().join("full_keys.json")).unwrap();
    let file: File = serde_json::from_str(&text).unwrap();
    assert_eq!(file.full.len(), 4);
    for (name, full) in &file.full {
        let spec = find(name).unwrap();
        let vs = VarStore::new(Device::Cpu);
        spec.build_checked(&vs.root(), Some(full.num_classes))
            .unwrap();
        let theirs: BTreeMap<String, Vec<i64>> = full.keys.iter().cloned().collect();
        assert_eq!(shapes(&vs), theirs, "{name}");
        if let Some(crop_pct) = full.crop_pct {
            let p = spec.preprocess();
            assert_eq!(
                p.resize_shorter,
                Some((224.0 / crop_pct).floor() as u32),
                "{name}"
            );
            let Normalization::MeanStd { mean, .. } = &p.normalization else {
                panic!("{name}")
            };
            assert_eq!(Some(mean), full.mean.as_ref(), "{name}");
        }
        // The head norm trains with the last stage, and a new head leaves it loaded.
        let stages = spec.stages();
        let last = &stages.last().unwrap().param_prefixes;
        assert!(
            last.iter()
                .any(|p| p == "head.norm." || p == "classifier.0."),
            "{name}: {last:?}"
        );
    }
}
