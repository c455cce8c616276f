//! Inference-only speed-ups keep the features: bf16 autocast stays within the tolerance the
//! extraction promises, and BatchNorm folding is exact up to float rounding.

use graft_nn::models::registry;
use graft_nn::precision::{Autocast, Precision};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Registry model `name` with seed-0 random weights (and a `classes`-way head).
fn seeded(name: &str, classes: Option<i64>) -> (VarStore, Box<dyn graft_nn::models::Backbone>) {
    let vs = VarStore::new(Device::Cpu);
    tch::manual_seed(0);
    let m = registry::find(name)
        .unwrap()
        .build_checked(&vs.root(), classes)
        .unwrap();
    (vs, m)
}

#[test]
fn bf16_autocast_features_stay_close_to_fp32() {
    for (name, side) in [("resnet18", 64), ("efficientnet_lite0", 64)] {
        let (_vs, m) = seeded(name, None);
        let x = Tensor::randn([4, 3, side, side], (Kind::Float, Device::Cpu));
        let full = tch::no_grad(|| m.forward_features(&x, None, false)).unwrap();
        let half = tch::no_grad(|| {
            let _ac = Autocast::enter(Precision::Bf16, Device::Cpu);
            m.forward_features(&x, None, false)
        })
        .unwrap();
        assert_eq!(
            half.kind(),
            Kind::BFloat16,
            "{name}: autocast did not apply"
        );
        let cos = Tensor::cosine_similarity(&full, &half.to_kind(Kind::Float), 1, 1e-8);
        let worst = 1.0 - cos.min().double_value(&[]);
        assert!(worst < 1e-2, "{name}: cosine distance {worst}");
        assert!(worst > 0.0, "{name}: identical features, so bf16 never ran");
    }
}

#[test]
fn folding_batch_norms_keeps_the_features() {
    for (name, kept, pairs) in [("resnet18", 20, 20), ("efficientnet_lite0", 33, 49)] {
        let (vs, mut m) = seeded(name, Some(5));
        // Statistics far from the identity, as trained ones are.
        tch::no_grad(|| {
            for (k, mut v) in vs.variables() {
                let n = v.size()[0];
                if k.ends_with("running_var") {
                    v.copy_(&(Tensor::rand([n], (Kind::Float, Device::Cpu)) * 2.0 + 0.1));
                } else if k.ends_with("running_mean") || k.contains("bn") && k.ends_with("bias") {
                    v.copy_(&(Tensor::randn([n], (Kind::Float, Device::Cpu)) * 0.5));
                } else if k.contains("bn") && k.ends_with("weight") {
                    v.copy_(&(Tensor::rand([n], (Kind::Float, Device::Cpu)) + 0.5));
                }
            }
        });
        let x = Tensor::randn([3, 3, 64, 64], (Kind::Float, Device::Cpu));
        let before = tch::no_grad(|| m.forward(&x, false)).unwrap();
        let scale = before.abs().max().double_value(&[]).max(1.0);
        // First without the depthwise pairs (what bf16 extraction does), then all of them.
        for (keep_grouped, n) in [(true, kept), (false, pairs)] {
            let folded = m.fold_batch_norms(keep_grouped).unwrap();
            assert_eq!(
                folded, n,
                "{name}: BatchNorms folded (keep_grouped {keep_grouped})"
            );
            let after = tch::no_grad(|| m.forward(&x, false)).unwrap();
            let d = (&after - &before).abs().max().double_value(&[]);
            assert!(
                d <= 1e-4 * scale,
                "{name}: folded logits differ by {d} (scale {scale})"
            );
        }
        let e = m.forward(&x, true).unwrap_err().to_string();
        assert!(e.contains("folded"), "{name}: {e}");
    }
}

#[test]
fn channels_last_models_take_a_channels_last_batch_as_it_is() {
    // The loader hands these models HWC samples viewed as NCHW: same values, other strides.
    for (name, h, w) in [
        ("resnet18", 40, 48),
        ("efficientnet_lite0", 40, 48),
        ("lenet", 28, 28),
    ] {
        let (_vs, m) = seeded(name, None);
        let c = m.input().preprocess().expect("an image model").channels() as i64;
        let x = Tensor::randn([2, c, h, w], (Kind::Float, Device::Cpu));
        let nhwc = x.permute([0, 2, 3, 1]).contiguous();
        let cl = nhwc.permute([0, 3, 1, 2]);
        if c > 1 {
            // (A one-channel tensor is both layouts at once.)
            assert_eq!(cl.stride(), vec![h * w * c, 1, w * c, c]);
        }
        let a = tch::no_grad(|| m.forward_features(&x, None, false)).unwrap();
        let b = tch::no_grad(|| m.forward_features(&cl, None, false)).unwrap();
        let worst = (&a - &b).abs().max().double_value(&[]);
        let scale = a.abs().max().double_value(&[]);
        assert!(
            worst <= 1e-5 * scale.max(1.0),
            "{name} (channels last: {}): {worst}",
            m.channels_last()
        );
    }
}
