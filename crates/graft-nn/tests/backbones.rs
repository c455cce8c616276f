//! Backbones against torchvision (key names, shapes, outputs) and the `Backbone` contract
//! (stage widths, early stopping, errors). The ResNet reference outputs come from
//! scripts/reference/resnet_reference.py; weights and inputs are generated on both sides from
//! the same integer hash, so no weights are committed.

mod common;

use common::max_abs;

use graft_nn::models::{find, registry, Backbone};
use graft_nn::weights::save::save_safetensors;
use graft_nn::weights::{load_into, safetensors, LoadOptions, StateDict};
use graft_nn::NnError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resnet")
}

// ---- the deterministic fill shared with resnet_reference.py ----

fn fnv1a(name: &str) -> u64 {
    name.bytes().fold(0x811C_9DC5u64, |h, b| {
        ((h ^ b as u64) * 0x0100_0193) & 0xFFFF_FFFF
    })
}

/// `n` values in [-0.5, 0.5), multiples of 2^-24, as the script's `unit`.
fn unit(n: usize, seed: u64) -> impl Iterator<Item = f64> {
    (0..n as u64).map(move |i| {
        let mut h = (i * 2_654_435_761 + seed) & 0xFFFF_FFFF;
        h ^= h >> 15;
        h = (h * 2_246_822_519) & 0xFFFF_FFFF;
        h ^= h >> 13;
        (h >> 8) as f64 / (1u64 << 24) as f64 - 0.5
    })
}

/// The value of a parameter or buffer by the role its name gives it (the script's `value`).
fn value(name: &str, shape: &[i64]) -> Tensor {
    let n = shape.iter().product::<i64>() as usize;
    let fan_in: i64 = shape.iter().skip(1).product();
    let v: Vec<f32> = unit(n, fnv1a(name))
        .map(|u| {
            let v = if name.ends_with("running_mean") || name.ends_with("bias") {
                0.1 * u
            } else if name.ends_with("running_var") {
                1.0 + 0.5 * (u + 0.5)
            } else if shape.len() > 1 {
                u * (24.0 / fan_in as f64).sqrt()
            } else {
                1.0 + 0.2 * u
            };
            v as f32
        })
        .collect();
    Tensor::from_slice(&v).view(shape)
}

fn input(batch: i64, side: i64) -> Tensor {
    let shape = [batch, 3, side, side];
    let n = shape.iter().product::<i64>() as usize;
    let v: Vec<f32> = unit(n, fnv1a("input")).map(|u| (2.0 * u) as f32).collect();
    Tensor::from_slice(&v).view(shape)
}

/// torchvision's state_dict keys, shapes and dtypes per architecture.
fn torchvision_keys() -> BTreeMap<String, Vec<(String, Vec<i64>, String)>> {
    let text = std::fs::read_to_string(fixtures().join("resnet_keys.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A state dict as torchvision would save it, filled by the shared formula.
fn hashed_state_dict(arch: &str) -> StateDict {
    let mut sd = StateDict::default();
    for (k, shape, dtype) in &torchvision_keys()[arch] {
        let t = match dtype.as_str() {
            "int64" => Tensor::zeros(shape.as_slice(), (Kind::Int64, Device::Cpu)),
            _ => value(k, shape),
        };
        sd.insert(k.clone(), t);
    }
    sd
}

fn build(name: &str, classes: Option<i64>) -> (VarStore, Box<dyn Backbone>) {
    let vs = VarStore::new(Device::Cpu);
    let model = find(name)
        .unwrap()
        .build_checked(&vs.root(), classes)
        .unwrap();
    (vs, model)
}

/// Fills `arch` by the shared formula through a strict load of torchvision's key list, runs it
/// on the shared input and compares with the script's outputs.
fn check_against_torchvision(arch: &str, side: i64) {
    let reference = safetensors::read(&fixtures().join("resnet_outputs.safetensors")).unwrap();
    {
        let (mut vs, model) = build(arch, Some(1000));
        let report = load_into(
            &mut vs,
            &hashed_state_dict(arch),
            &LoadOptions::default(),
            arch,
            Path::new("hash"),
        )
        .unwrap();
        assert_eq!(report.converted_dtype, 0);
        let x = input(2, side);
        tch::no_grad(|| {
            let mut worst = (0.0f64, 0.0f64);
            let mut check = |what: &str, got: &Tensor| {
                let want = &reference.tensors[&format!("{arch}_{side}.{what}")];
                let abs = max_abs(&(got - want));
                let rel = abs / max_abs(want).max(1.0);
                worst = (worst.0.max(abs), worst.1.max(rel));
                assert!(
                    rel < 1e-4,
                    "{arch}@{side} {what}: max |Δ| {abs:.3e} (relative {rel:.3e})"
                );
            };
            // Every stage on the small inputs; only the end on the 224 px one (time).
            if side == 64 {
                for stage in ["stem", "layer1", "layer2", "layer3"] {
                    check(
                        stage,
                        &model.forward_features(&x, Some(stage), false).unwrap(),
                    );
                }
            }
            let features = model.forward_features(&x, None, false).unwrap();
            check("layer4", &features);
            check("logits", &model.forward_head(&features, false).unwrap());
            eprintln!(
                "{arch}@{side}: max |Δ| {:.2e}, max relative {:.2e}",
                worst.0, worst.1
            );
        });
    }
}

#[test]
fn resnet18_matches_torchvision_at_64px() {
    check_against_torchvision("resnet18", 64);
}

#[test]
fn resnet18_matches_torchvision_at_224px() {
    check_against_torchvision("resnet18", 224);
}

#[test]
fn resnet34_matches_torchvision_at_64px() {
    check_against_torchvision("resnet34", 64);
}

#[test]
fn resnet50_matches_torchvision_at_64px() {
    check_against_torchvision("resnet50", 64);
}

#[test]
fn saved_resnets_have_exactly_torchvisions_keys() {
    let dir = tempfile::tempdir().unwrap();
    // GRAFT_KEEP_CHECKPOINTS=DIR keeps the files for scripts/reference/check_checkpoint_loads.py.
    let keep = std::env::var_os("GRAFT_KEEP_CHECKPOINTS").map(PathBuf::from);
    for (arch, want) in torchvision_keys() {
        let (vs, _model) = build(&arch, Some(1000));
        let path = keep
            .as_deref()
            .unwrap_or(dir.path())
            .join(format!("{arch}.safetensors"));
        let meta = BTreeMap::from([("arch".to_string(), arch.clone())]);
        save_safetensors(&vs, &path, &meta).unwrap();
        let saved = safetensors::read(&path).unwrap();
        let got: BTreeMap<&str, (Vec<i64>, Kind)> = saved
            .tensors
            .iter()
            .map(|(k, t)| (k.as_str(), (t.size(), t.kind())))
            .collect();
        let want: BTreeMap<&str, (Vec<i64>, Kind)> = want
            .iter()
            .map(|(k, s, d)| {
                (
                    k.as_str(),
                    (
                        s.clone(),
                        if d == "int64" {
                            Kind::Int64
                        } else {
                            Kind::Float
                        },
                    ),
                )
            })
            .collect();
        assert_eq!(got, want, "{arch}");
        // Values survive the round trip exactly.
        let w = "layer4.1.conv2.weight";
        assert!(saved.get(w).unwrap().equal(&vs.variables()[w]), "{arch}");
    }
}

#[test]
fn every_model_gives_the_stage_widths_it_declares() {
    for spec in registry() {
        let (_vs, model) = build(spec.name, Some(7));
        assert_eq!(model.arch(), spec.name);
        assert_eq!(model.stages(), spec.stages().as_slice(), "{}", spec.name);
        assert_eq!(
            model.input(),
            graft_nn::models::ModelInput::Pixels(spec.preprocess()),
            "{}",
            spec.name
        );
        assert_eq!(model.head_prefix(), spec.head_prefix, "{}", spec.name);
        assert_eq!(
            spec.preprocess().channels() as i64,
            spec.input.0,
            "{}",
            spec.name
        );
        // The full pass at the native size, except for the (fully convolutional) ResNets, whose
        // 224 px pass the parity tests cover; the stages, whose widths do not depend on the
        // resolution, at 64 px for the 3-channel models. Keeps the test fast.
        let (c, h, w) = spec.input;
        let (h, w) = if spec.name.starts_with("resnet") {
            (64, 64)
        } else {
            (h, w)
        };
        let native = Tensor::randn([1, c, h, w], (Kind::Float, Device::Cpu));
        // Patch-14 transformers take multiples of 14.
        let side = if spec.name.contains("dinov2") { 56 } else { 64 };
        let small = if c == 3 {
            Tensor::randn([1, c, side, side], (Kind::Float, Device::Cpu))
        } else {
            native.copy()
        };
        tch::no_grad(|| {
            for stage in model.stages() {
                let f = model
                    .forward_features(&small, Some(stage.name), false)
                    .unwrap();
                assert_eq!(f.size(), vec![1, stage.dim], "{} {}", spec.name, stage.name);
                assert_eq!(spec.feature_dim(Some(stage.name)).unwrap(), stage.dim);
            }
            let logits = model.forward(&native, false).unwrap();
            assert_eq!(logits.size(), vec![1, 7], "{}", spec.name);
        });
    }
}

#[test]
fn registered_variable_names_are_parameter_prefixed_by_stages() {
    // Every variable outside the head belongs to exactly one stage, so freezing by stage
    // covers the whole backbone.
    for spec in registry() {
        let (vs, model) = build(spec.name, Some(3));
        for name in vs.variables().keys() {
            if name.starts_with(model.head_prefix()) {
                continue;
            }
            let owners: Vec<&str> = model
                .stages()
                .iter()
                .filter(|s| {
                    s.param_prefixes
                        .iter()
                        .any(|p| name.starts_with(p.as_str()))
                })
                .map(|s| s.name)
                .collect();
            assert_eq!(
                owners.len(),
                1,
                "{}: `{name}` belongs to stages {owners:?}",
                spec.name
            );
        }
    }
}

#[test]
fn forward_features_runs_nothing_past_the_stage() {
    // Poison everything after `layer2`: the features up to it must stay finite.
    let (vs, model) = build("resnet18", None);
    tch::no_grad(|| {
        for (k, v) in vs.variables() {
            if k.starts_with("layer3.") || k.starts_with("layer4.") {
                let _ = v.shallow_clone().fill_(f64::NAN);
            }
        }
        let x = input(1, 32);
        let early = model.forward_features(&x, Some("layer2"), false).unwrap();
        assert!(bool::try_from(early.isfinite().all()).unwrap());
        let full = model.forward_features(&x, None, false).unwrap();
        assert!(bool::try_from(full.isnan().any()).unwrap());
    });
    // Same for EfficientNet's head, whose stage is not a block group.
    let (vs, model) = build("efficientnet_lite0", None);
    tch::no_grad(|| {
        let _ = vs.variables()["_conv_head.weight"]
            .shallow_clone()
            .fill_(f64::NAN);
        let x = input(1, 64);
        let f = model.forward_features(&x, Some("stage7"), false).unwrap();
        assert!(bool::try_from(f.isfinite().all()).unwrap());
        assert_eq!(f.size(), vec![1, 320]);
        let f = model.forward_features(&x, None, false).unwrap();
        assert!(bool::try_from(f.isnan().any()).unwrap());
    });
}

#[test]
fn training_mode_updates_batchnorm_stats_and_backpropagates() {
    let (vs, model) = build("resnet18", Some(4));
    let rm = vs.variables()["layer1.0.bn1.running_mean"].shallow_clone();
    let before = rm.copy();
    let logits = model.forward(&input(2, 32), true).unwrap();
    assert!(
        !rm.equal(&before),
        "running stats unchanged in training mode"
    );
    logits.sum(Kind::Float).backward();
    let g = vs.variables()["conv1.weight"].grad();
    assert!(g.defined() && max_abs(&g) > 0.0);
    // Eval mode leaves them alone.
    let after = rm.copy();
    let _ = tch::no_grad(|| model.forward(&input(2, 32), false).unwrap());
    assert!(rm.equal(&after));
}

#[test]
fn bad_calls_are_errors_that_say_what_was_expected() {
    let (_vs, resnet) = build("resnet18", None);
    let x = input(1, 32);
    let err = resnet
        .forward_features(&x, Some("layer9"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer9") && err.contains("stem, layer1, layer2, layer3, layer4"),
        "{err}"
    );
    let err = resnet.forward_head(&Tensor::zeros([1, 512], (Kind::Float, Device::Cpu)), false);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("without a classifier head"));
    let gray = Tensor::zeros([1, 1, 32, 32], (Kind::Float, Device::Cpu));
    let err = resnet
        .forward_features(&gray, None, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(N, 3, H, W)") && err.contains("[1, 1, 32, 32]"),
        "{err}"
    );

    let (_vs, lenet) = build("lenet", Some(10));
    let usps = Tensor::zeros([1, 1, 16, 16], (Kind::Float, Device::Cpu));
    let err = lenet
        .forward_features(&usps, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("28x28") && err.contains("16x16"), "{err}");
    let err = lenet.forward_head(&Tensor::zeros([1, 20], (Kind::Float, Device::Cpu)), false);
    assert!(err.unwrap_err().to_string().contains("(N, 500)"));

    let err = find("resnet101").unwrap_err().to_string();
    assert!(
        err.contains("resnet101") && err.contains("efficientnet_lite0") && err.contains("lenet"),
        "{err}"
    );
    let vs = VarStore::new(Device::Cpu);
    let err = find("lenet")
        .unwrap()
        .build_checked(&vs.root(), Some(0))
        .unwrap_err();
    assert!(matches!(err, NnError::Invalid(_)) && err.to_string().contains("at least 1"));
}

#[test]
fn a_new_head_loads_the_backbone_only() {
    let (mut vs, _model) = build("resnet18", Some(5));
    let opts = LoadOptions {
        skip_head: Some("fc.".into()),
        ..Default::default()
    };
    let sd = hashed_state_dict("resnet18");
    let report = load_into(&mut vs, &sd, &opts, "resnet18", Path::new("hash")).unwrap();
    assert_eq!(report.loaded, vs.variables().len() - 2);
    assert!(report.skipped.contains(&"fc.weight".to_string()));
    assert_eq!(vs.variables()["fc.weight"].size(), vec![5, 512]);
    // Without skipping, the 1000-class head does not fit the 5-class one, by name and shape.
    let err = load_into(
        &mut vs,
        &sd,
        &LoadOptions::default(),
        "resnet18",
        Path::new("hash"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("fc.weight: file [1000, 512], model [5, 512]"),
        "{err}"
    );
}
