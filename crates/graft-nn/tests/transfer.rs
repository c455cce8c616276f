//! Deep transfer losses and regularisers against PyTorch (TLlib's formulas): every value and its
//! gradient with respect to the inputs, on the fixed inputs of
//! `fixtures/transfer_reference.safetensors` (made by scripts/reference/transfer_reference.py).

use graft_data::preprocess::{ColorMode, Interpolation, Normalization, Preprocess};
use graft_nn::models::layers::{global_avg_pool, BatchNorm2d, Conv2d, ConvSpec};
use graft_nn::models::mlp::Mlp;
use graft_nn::models::{Backbone, StageInfo};
use graft_nn::transfer::*;
use graft_nn::weights::StateDict;
use graft_nn::{NnError, Result};
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// libtorch's random generator is process-global: tests that draw from it take turns.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

const TOL: f64 = 1e-5;

fn fixture() -> StateDict {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transfer_reference.safetensors");
    graft_nn::weights::safetensors::read(&path).unwrap()
}

fn get(fx: &StateDict, key: &str) -> Tensor {
    fx.get(key)
        .unwrap_or_else(|| panic!("fixture has no `{key}`"))
        .shallow_clone()
}

fn scalar(fx: &StateDict, key: &str) -> f64 {
    get(fx, key).reshape([-1]).double_value(&[0])
}

/// A fresh leaf with the fixture's values that records its gradient.
fn leaf(fx: &StateDict, key: &str) -> Tensor {
    get(fx, key).copy().set_requires_grad(true)
}

/// `|a - b| <= TOL * (1 + |b|)` element-wise.
fn close(what: &str, ours: &Tensor, theirs: &Tensor) {
    assert_eq!(ours.size(), theirs.size(), "{what}: shape");
    let a = ours.detach().to_kind(Kind::Double).reshape([-1]);
    let b = theirs.to_kind(Kind::Double).reshape([-1]);
    let excess = (&a - &b).abs() - (b.abs() * TOL + TOL);
    let worst = excess.max().double_value(&[]);
    assert!(
        worst <= 0.0,
        "{what}: differs from PyTorch beyond {TOL}: ours {a:?} theirs {b:?}"
    );
}

fn close_scalar(what: &str, ours: &Tensor, theirs: f64) {
    let a = ours.double_value(&[]);
    assert!(
        (a - theirs).abs() <= TOL * (1.0 + theirs.abs()),
        "{what}: ours {a} theirs {theirs}"
    );
}

/// Copies `fx[prefix.NAME]` into every variable `NAME` of `vs`.
fn fill(vs: &VarStore, fx: &StateDict, prefix: &str) {
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            var.copy_(&get(fx, &format!("{prefix}.{name}")));
        }
    });
}

fn zero_grads(ts: &[&Tensor]) {
    for t in ts {
        let mut g = t.grad();
        if g.defined() {
            let _ = g.zero_();
        }
    }
}

#[test]
fn grl_is_identity_forward_and_reverses_the_gradient() {
    let x = Tensor::from_slice(&[0.1f32, -3.5, 1e-8, 42.0]).set_requires_grad(true);
    let up = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]);
    for coeff in [0.0, 0.37, 1.0, GrlSchedule::dann().coeff(30, 100)] {
        zero_grads(&[&x]);
        let y = grad_reverse(&x, coeff).unwrap();
        assert!(y.equal(&x), "forward must be the identity, bit for bit");
        (&y * &up).sum(Kind::Float).backward();
        let want = &up * (-coeff);
        assert!(
            x.grad().equal(&want),
            "coeff {coeff}: gradient {:?}",
            x.grad()
        );
    }
}

#[test]
fn dann_loss_and_gradients_match_pytorch() {
    let fx = fixture();
    let vs = VarStore::new(Device::Cpu);
    let disc = DomainDiscriminator::new(&vs.root(), 6, 8).unwrap();
    fill(&vs, &fx, "dann.disc");
    let (f_s, f_t) = (leaf(&fx, "dann.f_s"), leaf(&fx, "dann.f_t"));
    let (w_s, w_t) = (get(&fx, "dann.w_s"), get(&fx, "dann.w_t"));
    let coeff = scalar(&fx, "dann.coeff");
    for (tag, weighted) in [("plain", false), ("weighted", true)] {
        zero_grads(&[&f_s, &f_t]);
        let (ws, wt) = if weighted {
            (Some(&w_s), Some(&w_t))
        } else {
            (None, None)
        };
        let out = domain_adversarial(&disc, &f_s, &f_t, coeff, ws, wt).unwrap();
        out.loss.backward();
        close_scalar(tag, &out.loss, scalar(&fx, &format!("dann.{tag}.loss")));
        // The gradient reaching the features is the reversed one: PyTorch's GRL gives it.
        close(tag, &f_s.grad(), &get(&fx, &format!("dann.{tag}.grad_f_s")));
        close(tag, &f_t.grad(), &get(&fx, &format!("dann.{tag}.grad_f_t")));
        let acc = scalar(&fx, &format!("dann.{tag}.accuracy"));
        assert!((out.domain_accuracy - acc).abs() < 1e-6, "{tag} accuracy");
    }
}

#[test]
fn cdan_and_cdan_e_match_pytorch_for_both_maps() {
    let fx = fixture();
    let (f_s, f_t) = (leaf(&fx, "cdan.f_s"), leaf(&fx, "cdan.f_t"));
    let (g_s, g_t) = (leaf(&fx, "cdan.g_s"), leaf(&fx, "cdan.g_t"));
    let coeff = scalar(&fx, "cdan.coeff");

    let f = Tensor::cat(&[&f_s, &f_t], 0);
    let g = Tensor::cat(&[&g_s, &g_t], 0).softmax(1, Kind::Float);
    close(
        "multilinear map",
        &multilinear_map(&f, &g).unwrap(),
        &get(&fx, "cdan.map"),
    );
    close(
        "entropy weights",
        &entropy_weights(&g).unwrap(),
        &get(&fx, "cdan.entropy_weights"),
    );

    let random = RandomizedMultilinearMap::from_matrices(get(&fx, "cdan.rf"), get(&fx, "cdan.rg"));
    let maps = [
        ("multi", ConditioningMap::Multilinear, 12),
        ("random", ConditioningMap::Randomized(random.unwrap()), 16),
    ];
    for (name, map, width) in &maps {
        let vs = VarStore::new(Device::Cpu);
        let disc = DomainDiscriminator::new(&vs.root(), *width, 8).unwrap();
        fill(&vs, &fx, &format!("cdan.disc_{name}"));
        assert_eq!(map.output_dim(4, 3), *width);
        for (e, entropy) in [("plain", false), ("e", true)] {
            zero_grads(&[&f_s, &f_t, &g_s, &g_t]);
            let out = conditional_adversarial(&disc, map, &f_s, &g_s, &f_t, &g_t, coeff, entropy)
                .unwrap();
            out.loss.backward();
            let tag = format!("cdan.{name}_{e}");
            close_scalar(&tag, &out.loss, scalar(&fx, &format!("{tag}.loss")));
            close(&tag, &f_s.grad(), &get(&fx, &format!("{tag}.grad_f_s")));
            close(&tag, &f_t.grad(), &get(&fx, &format!("{tag}.grad_f_t")));
            // The predictions condition the map but are detached, as in TLlib.
            for g in [&g_s, &g_t] {
                let gg = g.grad();
                assert!(!gg.defined() || gg.abs().max().double_value(&[]) == 0.0);
            }
        }
    }
}

#[test]
fn maps_and_heads_are_built_with_their_reference_shapes_and_names() {
    let _g = rng_lock();
    let vs = VarStore::new(Device::Cpu);
    let small = ConditioningMap::auto(&vs.root().sub("small"), 64, 64).unwrap();
    assert!(matches!(small, ConditioningMap::Multilinear));
    let wide = ConditioningMap::auto(&vs.root().sub("map"), 512, 31).unwrap();
    assert_eq!(wide.output_dim(512, 31), 1024);
    // The random matrices travel with checkpoints but are never trained.
    assert!(vs.trainable_variables().is_empty());
    let mut names: Vec<String> = vs.variables().into_keys().collect();
    names.sort();
    assert_eq!(names, ["map.rf", "map.rg"]);
    let f = Tensor::randn([3, 512], (Kind::Float, Device::Cpu));
    let g = Tensor::randn([3, 31], (Kind::Float, Device::Cpu));
    assert_eq!(wide.forward(&f, &g).unwrap().size(), [3, 1024]);
    assert!(wide.forward(&g, &f).is_err(), "swapped inputs");

    let hvs = VarStore::new(Device::Cpu);
    let head = MddHead::new(&hvs.root(), 16, MddHead::DEFAULT_WIDTH, 5).unwrap();
    let mut names: Vec<String> = hvs.variables().into_keys().collect();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "3.bias", "3.weight"]);
    let w = &hvs.variables()["0.weight"];
    let std = w.std(true).double_value(&[]);
    assert!(
        (std - 0.01).abs() < 1e-3,
        "TLlib's N(0, 0.01) init, got std {std}"
    );
    let x = Tensor::randn([4, 16], (Kind::Float, Device::Cpu));
    assert_eq!(head.forward(&x, false).unwrap().size(), [4, 5]);
}

#[test]
fn mdd_matches_pytorch_and_trains_only_the_adversarial_logits() {
    let fx = fixture();
    let names = ["y_s", "y_s_adv", "y_t", "y_t_adv"];
    let [y_s, y_s_adv, y_t, y_t_adv] = names.map(|n| leaf(&fx, &format!("mdd.{n}")));
    let (w_s, w_t) = (get(&fx, "mdd.w_s"), get(&fx, "mdd.w_t"));
    let margin = scalar(&fx, "mdd.margin");
    assert_eq!(margin, DEFAULT_MARGIN);
    for (tag, weighted) in [("plain", false), ("weighted", true)] {
        zero_grads(&[&y_s, &y_s_adv, &y_t, &y_t_adv]);
        let (ws, wt) = if weighted {
            (Some(&w_s), Some(&w_t))
        } else {
            (None, None)
        };
        let loss = mdd_loss(&y_s, &y_s_adv, &y_t, &y_t_adv, margin, ws, wt).unwrap();
        loss.backward();
        close_scalar(tag, &loss, scalar(&fx, &format!("mdd.{tag}.loss")));
        close(
            tag,
            &y_s_adv.grad(),
            &get(&fx, &format!("mdd.{tag}.grad_y_s_adv")),
        );
        close(
            tag,
            &y_t_adv.grad(),
            &get(&fx, &format!("mdd.{tag}.grad_y_t_adv")),
        );
        for y in [&y_s, &y_t] {
            let g = y.grad();
            assert!(!g.defined() || g.abs().max().double_value(&[]) == 0.0);
        }
    }
}

#[test]
fn coral_matches_pytorch() {
    let fx = fixture();
    let (f_s, f_t) = (leaf(&fx, "coral.f_s"), leaf(&fx, "coral.f_t"));
    let loss = coral_loss(&f_s, &f_t).unwrap();
    loss.backward();
    close_scalar("CORAL", &loss, scalar(&fx, "coral.loss"));
    close("CORAL source", &f_s.grad(), &get(&fx, "coral.grad_f_s"));
    close("CORAL target", &f_t.grad(), &get(&fx, "coral.grad_f_t"));
}

#[test]
fn mk_mmd_quadratic_and_linear_match_pytorch() {
    let fx = fixture();
    let (z_s, z_t) = (leaf(&fx, "mmd.z_s"), leaf(&fx, "mmd.z_t"));
    for (tag, linear) in [("quadratic", false), ("linear", true)] {
        zero_grads(&[&z_s, &z_t]);
        let mmd = MkMmd {
            linear,
            ..MkMmd::default()
        };
        let loss = mmd.loss(&z_s, &z_t).unwrap();
        loss.backward();
        close_scalar(tag, &loss, scalar(&fx, &format!("mmd.{tag}.loss")));
        close(tag, &z_s.grad(), &get(&fx, &format!("mmd.{tag}.grad_z_s")));
        close(tag, &z_t.grad(), &get(&fx, &format!("mmd.{tag}.grad_z_t")));
    }
    let (u_s, u_t) = (leaf(&fx, "mmd.unequal.u_s"), leaf(&fx, "mmd.unequal.u_t"));
    let loss = MkMmd::default().loss(&u_s, &u_t).unwrap();
    loss.backward();
    close_scalar("unequal", &loss, scalar(&fx, "mmd.unequal.loss"));
    close("unequal", &u_s.grad(), &get(&fx, "mmd.unequal.grad_u_s"));
    close("unequal", &u_t.grad(), &get(&fx, "mmd.unequal.grad_u_t"));
    let lin = MkMmd {
        linear: true,
        ..MkMmd::default()
    };
    assert!(
        lin.loss(&u_s, &u_t).is_err(),
        "linear MMD needs equal batches"
    );
}

#[test]
fn bss_matches_pytorch() {
    let fx = fixture();
    let f = leaf(&fx, "bss.f");
    for k in [1usize, 2] {
        zero_grads(&[&f]);
        let loss = bss_loss(&f, k).unwrap();
        loss.backward();
        close_scalar("BSS", &loss, scalar(&fx, &format!("bss.k{k}.loss")));
        close("BSS", &f.grad(), &get(&fx, &format!("bss.k{k}.grad_f")));
    }
    let p = Bss::default().penalty(&f).unwrap();
    close_scalar("BSS eta", &p, 1e-3 * scalar(&fx, "bss.k1.loss"));
    assert!(bss_loss(&f, 6).is_err(), "k beyond min(B, D) = 5");
}

#[test]
fn l2sp_matches_pytorch() {
    let fx = fixture();
    let vs = VarStore::new(Device::Cpu);
    let _mlp = Mlp::new(&vs.root(), 5, &[6], 0.0, Some(3)).unwrap();
    fill(&vs, &fx, "l2sp.w0");
    let (alpha, beta) = (scalar(&fx, "l2sp.alpha"), scalar(&fx, "l2sp.beta"));
    assert_eq!((alpha, beta), (L2Sp::DEFAULT_ALPHA, L2Sp::DEFAULT_BETA));
    let reg = L2Sp::new(&vs, "fc.", alpha, beta).unwrap();
    assert_eq!(
        reg.backbone_names().collect::<Vec<_>>(),
        ["hidden.0.bias", "hidden.0.weight"]
    );
    assert_eq!(
        reg.head_names().collect::<Vec<_>>(),
        ["fc.bias", "fc.weight"]
    );
    close_scalar("at the starting point", &reg.penalty().unwrap(), {
        let fc = [get(&fx, "l2sp.w0.fc.weight"), get(&fx, "l2sp.w0.fc.bias")];
        beta * l2_penalty(&fc).unwrap().double_value(&[])
    });
    fill(&vs, &fx, "l2sp.w");
    let loss = reg.penalty().unwrap();
    loss.backward();
    close_scalar("L2-SP", &loss, scalar(&fx, "l2sp.loss"));
    for (name, var) in vs.variables() {
        close(&name, &var.grad(), &get(&fx, &format!("l2sp.grad.{name}")));
    }
}

#[test]
fn delta_attention_and_feature_loss_match_pytorch() {
    let fx = fixture();
    let vs = VarStore::new(Device::Cpu);
    let mlp = Mlp::new(&vs.root(), 5, &[6, 4], 0.0, Some(3)).unwrap();
    fill(&vs, &fx, "delta.mlp");
    let stages = stage_indices(&mlp, &["hidden.1", "hidden.0"]).unwrap();
    assert_eq!(stages, [0, 1]);
    let batches: Vec<(Tensor, Tensor)> = (0..2)
        .map(|i| {
            (
                get(&fx, &format!("delta.x{i}")),
                get(&fx, &format!("delta.y{i}")),
            )
        })
        .collect();
    let att = delta_channel_attention(&mlp, &stages, &batches).unwrap();
    assert_eq!(att.len(), 2);
    for (i, a) in att.iter().enumerate() {
        close("attention", a, &get(&fx, &format!("delta.attention{i}")));
    }

    let t = [leaf(&fx, "delta.fm.t0"), leaf(&fx, "delta.fm.t1")];
    let s = [get(&fx, "delta.fm.s0"), get(&fx, "delta.fm.s1")];
    let a = [get(&fx, "delta.fm.att0"), get(&fx, "delta.fm.att1")];
    let loss = attention_feature_loss(&t, &s, &a).unwrap();
    loss.backward();
    close_scalar("DELTA feature loss", &loss, scalar(&fx, "delta.fm.loss"));
    for (i, ti) in t.iter().enumerate() {
        close(
            "DELTA gradient",
            &ti.grad(),
            &get(&fx, &format!("delta.fm.grad{i}")),
        );
    }
    let delta = Delta {
        alpha: 0.5,
        beta: 0.25,
        stages,
        attention: a.iter().map(|t| t.shallow_clone()).collect(),
    };
    let head = [get(&fx, "delta.mlp.fc.weight")];
    let want = 0.5 * scalar(&fx, "delta.fm.loss")
        + 0.25 * 0.5 * head[0].square().sum(Kind::Double).double_value(&[]);
    close_scalar(
        "DELTA penalty",
        &delta.penalty(&t, &s, &head).unwrap(),
        want,
    );
}

/// Two Conv-BN-ReLU stages and a BatchNorm layer no forward pass reaches.
#[derive(Debug)]
struct TinyCnn {
    blocks: Vec<(Conv2d, BatchNorm2d)>,
    stages: Vec<StageInfo>,
}

impl TinyCnn {
    const MOMENTUM: f64 = 0.03;

    fn new(vs: &VarStore) -> TinyCnn {
        let p = vs.root();
        let block = |name: &str, i, o| {
            let b = p.sub(name);
            (
                Conv2d::new(&b.sub("conv"), ConvSpec::new(i, o, 3, 1, 1)),
                BatchNorm2d::new(&b.sub("bn"), o, 1e-5, Self::MOMENTUM),
            )
        };
        let _unused = BatchNorm2d::new(&p.sub("unused").sub("bn"), 3, 1e-5, Self::MOMENTUM);
        let stage = |name: &'static str, dim| StageInfo {
            name,
            dim,
            param_prefixes: vec![format!("{name}.")],
        };
        TinyCnn {
            blocks: vec![block("block1", 3, 4), block("block2", 4, 5)],
            stages: vec![stage("block1", 4), stage("block2", 5)],
        }
    }
}

impl Backbone for TinyCnn {
    fn arch(&self) -> &str {
        "tiny_cnn"
    }
    fn stages(&self) -> &[StageInfo] {
        &self.stages
    }
    fn forward_stages(&self, x: &Tensor, from: usize, to: usize, train: bool) -> Result<Tensor> {
        self.check_stage_range(from, to)?;
        let mut h = x.shallow_clone();
        for (conv, bn) in &self.blocks[from..=to] {
            h = bn.forward(&conv.forward(&h)?, train)?.relu();
        }
        Ok(h)
    }
    fn pool_stage(&self, h: &Tensor, _stage: usize) -> Result<Tensor> {
        global_avg_pool(h)
    }
    fn forward_head(&self, _features: &Tensor, _train: bool) -> Result<Tensor> {
        Err(NnError::Invalid("no head".into()))
    }
    fn head_prefix(&self) -> &str {
        "fc."
    }
    fn input(&self) -> graft_nn::models::ModelInput {
        graft_nn::models::ModelInput::Pixels(Preprocess {
            resize_shorter: None,
            crop: None,
            interpolation: Interpolation::Bilinear,
            color: ColorMode::Rgb,
            normalization: Normalization::UnitRange,
        })
    }
}

#[test]
fn adabn_replaces_running_statistics_with_the_target_ones() {
    let _g = rng_lock();
    let fx = fixture();
    let batches: Vec<Tensor> = (0..3).map(|i| get(&fx, &format!("adabn.x{i}"))).collect();
    let stats = ["block1.bn", "block2.bn"];
    for momentum in [Some(TinyCnn::MOMENTUM), None] {
        let vs = VarStore::new(Device::Cpu);
        let net = TinyCnn::new(&vs);
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                if name.starts_with("unused") || name.contains("running") {
                    // Source statistics, far from the target's.
                    var.copy_(&(var.rand_like() * 3.0 + 0.5));
                } else {
                    var.copy_(&get(&fx, &format!("adabn.{name}")));
                }
            }
        });
        let unused_before = vs.variables()["unused.bn.running_var"].copy();
        // An adaptation abandoned half-way leaves the statistics as they were.
        let before = vs.variables()["block2.bn.running_var"].copy();
        {
            let mut ada = AdaBn::new(bn_buffers(&vs), TinyCnn::MOMENTUM).unwrap();
            ada.observe(|| net.forward_features(&batches[0], None, true))
                .unwrap();
        }
        assert!(vs.variables()["block2.bn.running_var"].equal(&before));
        let layers = bn_buffers(&vs);
        let inferred = infer_bn_momentum(&layers, &mut || {
            net.forward_features(&batches[0], None, true)
        })
        .unwrap();
        assert!(
            (inferred - TinyCnn::MOMENTUM).abs() < 1e-6,
            "momentum {inferred}"
        );
        for l in &stats {
            let want = get(&fx, &format!("adabn.{l}.running_mean"));
            let before = &vs.variables()[&format!("{l}.running_mean")];
            assert!((before - &want).abs().max().double_value(&[]) > 0.1);
        }
        let report =
            adapt_batchnorm(&net, &vs, momentum, batches.iter().map(|b| b.copy())).unwrap();
        assert_eq!(report.batches, 3);
        assert_eq!(report.adapted, stats);
        assert_eq!(report.untouched, ["unused.bn"]);
        let vars = vs.variables();
        for l in &stats {
            for s in ["running_mean", "running_var"] {
                let key = format!("{l}.{s}");
                close(&key, &vars[&key], &get(&fx, &format!("adabn.{key}")));
            }
        }
        assert!(vars["unused.bn.running_var"].equal(&unused_before));
    }
}

#[test]
fn pseudo_labels_by_confidence_and_class_balanced() {
    let probs = Tensor::from_slice(&[
        0.9f64, 0.05, 0.05, // 0: class 0
        0.6, 0.3, 0.1, // 1: class 0
        0.2, 0.7, 0.1, // 2: class 1
        0.1, 0.85, 0.05, // 3: class 1
        0.3, 0.3, 0.4, // 4: class 2
        0.5, 0.45, 0.05, // 5: class 0
        0.05, 0.15, 0.8, // 6: class 2
    ])
    .reshape([7, 3]);
    let conf =
        select_pseudo_labels(&probs, &PseudoLabelRule::Confidence { threshold: 0.7 }).unwrap();
    assert_eq!(conf.indices, [0, 2, 3, 6]);
    assert_eq!(conf.labels, [0, 1, 1, 2]);
    assert_eq!(conf.confidence, [0.9, 0.7, 0.85, 0.8]);
    // Top half per class: lambda = (0.9, 0.85, 0.8), one sample per class.
    let cb =
        select_pseudo_labels(&probs, &PseudoLabelRule::ClassBalanced { fraction: 0.5 }).unwrap();
    assert_eq!(cb.indices, [0, 3, 6]);
    assert_eq!(cb.labels, [0, 1, 2]);
    // Everything: each class's threshold is its least confident prediction.
    let all =
        select_pseudo_labels(&probs, &PseudoLabelRule::ClassBalanced { fraction: 1.0 }).unwrap();
    assert_eq!(all.indices, [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(all.labels, [0, 0, 1, 1, 2, 0, 2]);
    // CBST's label is the argmax of p / lambda, which may differ from the argmax of p: with
    // lambda = (0.45, 0.4, 0.8), row 1 goes to class 1 (0.42 / 0.4 > 0.45 / 0.45).
    let p2 = Tensor::from_slice(&[
        0.9f64, 0.05, 0.05, 0.45, 0.42, 0.13, 0.3, 0.4, 0.3, 0.1, 0.1, 0.8,
    ])
    .reshape([4, 3]);
    let shifted =
        select_pseudo_labels(&p2, &PseudoLabelRule::ClassBalanced { fraction: 1.0 }).unwrap();
    assert_eq!(shifted.indices, [0, 1, 2, 3]);
    assert_eq!(shifted.labels, [0, 1, 1, 2]);
    for bad in [
        PseudoLabelRule::Confidence { threshold: 1.5 },
        PseudoLabelRule::ClassBalanced { fraction: 0.0 },
    ] {
        assert!(select_pseudo_labels(&probs, &bad).is_err());
    }
    assert!(select_pseudo_labels(
        &probs.reshape([-1]),
        &PseudoLabelRule::Confidence { threshold: 0.5 }
    )
    .is_err());
}

#[test]
fn bad_inputs_are_errors_that_name_them() {
    let m = |r: i64, c: i64| Tensor::ones([r, c], (Kind::Float, Device::Cpu));
    let msg = |e: NnError| e.to_string();
    let e = msg(coral_loss(&m(1, 3), &m(4, 3)).unwrap_err());
    assert!(e.contains("CORAL") && e.contains("source features"), "{e}");
    let e = msg(coral_loss(&m(4, 3), &m(4, 2)).unwrap_err());
    assert!(e.contains("same width"), "{e}");
    let e = msg(dann_loss(&m(4, 1), &m(3, 1), Some(&m(5, 1)), None).unwrap_err());
    assert!(
        e.contains("source logits weights") && e.contains("(4)"),
        "{e}"
    );
    let e = msg(dann_loss(&m(4, 2), &m(3, 1), None, None).unwrap_err());
    assert!(e.contains("(N, 1)"), "{e}");
    let e = msg(mdd_loss(&m(4, 3), &m(4, 2), &m(4, 3), &m(4, 3), 4.0, None, None).unwrap_err());
    assert!(e.contains("MDD"), "{e}");
    let e = msg(bss_loss(&m(4, 3), 0).unwrap_err());
    assert!(e.contains("BSS") && e.contains("k"), "{e}");
    let ints = Tensor::ones([4, 3], (Kind::Int64, Device::Cpu));
    let e = msg(MkMmd::default().loss(&ints, &m(4, 3)).unwrap_err());
    assert!(e.contains("floating"), "{e}");
    let vs = VarStore::new(Device::Cpu);
    let disc = DomainDiscriminator::new(&vs.root(), 6, 8).unwrap();
    let e = msg(domain_adversarial(&disc, &m(4, 5), &m(4, 5), 1.0, None, None).unwrap_err());
    assert!(
        e.contains("domain discriminator") && e.contains("same width"),
        "{e}"
    );
    let e = msg(AdaBn::new(bn_buffers(&VarStore::new(Device::Cpu)), 0.1)
        .map(|_| ())
        .unwrap_err());
    assert!(e.contains("no BatchNorm"), "{e}");
}

/// Cost of each term on a batch of 64 x 512 features (forward + backward), for the engine's
/// planning: `cargo test -p graft-nn --test transfer -- --ignored --nocapture` (the kernels are
/// libtorch's, so the debug profile measures the same thing).
#[test]
#[ignore]
fn bench_losses_64x512() {
    let _g = rng_lock();
    tch::manual_seed(0);
    let (n, d, k) = (64i64, 512i64, 31i64);
    let opts = (Kind::Float, Device::Cpu);
    let f_s = Tensor::randn([n, d], opts).set_requires_grad(true);
    let f_t = Tensor::randn([n, d], opts).set_requires_grad(true);
    let g_s = Tensor::randn([n, k], opts).set_requires_grad(true);
    let g_t = Tensor::randn([n, k], opts).set_requires_grad(true);
    let vs = VarStore::new(Device::Cpu);
    let disc = DomainDiscriminator::new(&vs.root().sub("d"), d, 1024).unwrap();
    let map = ConditioningMap::auto(&vs.root().sub("map"), d, k).unwrap();
    let cdisc = DomainDiscriminator::new(&vs.root().sub("cd"), map.output_dim(d, k), 1024).unwrap();
    let rvs = VarStore::new(Device::Cpu);
    let resnet = graft_nn::models::find("resnet18")
        .unwrap()
        .build_checked(&rvs.root(), Some(k))
        .unwrap();
    let l2sp = L2Sp::new(&rvs, resnet.head_prefix(), 0.1, 0.01).unwrap();
    let maps_t = Tensor::randn([n, 512, 7, 7], opts).set_requires_grad(true);
    let maps_s = Tensor::randn([n, 512, 7, 7], opts);
    let att = Tensor::ones([512], opts) / 512.0;
    // One thread and the fastest of 15 runs: figures that survive a busy machine.
    tch::set_num_threads(1);
    let time = |name: &str, f: &dyn Fn() -> Tensor| {
        for _ in 0..2 {
            f().backward();
        }
        let mut runs: Vec<f64> = (0..15)
            .map(|_| {
                let t0 = std::time::Instant::now();
                f().backward();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        println!(
            "{name:<34} min {:8.2} ms  median {:8.2} ms",
            runs[0], runs[7]
        );
    };
    time("DANN (disc 512-1024-1024-1)", &|| {
        domain_adversarial(&disc, &f_s, &f_t, 1.0, None, None)
            .unwrap()
            .loss
    });
    time("CDAN+E (randomized 1024, 31 cl.)", &|| {
        conditional_adversarial(&cdisc, &map, &f_s, &g_s, &f_t, &g_t, 1.0, true)
            .unwrap()
            .loss
    });
    time("MDD (31 classes)", &|| {
        mdd_loss(&g_s, &g_t, &g_t, &g_s, 4.0, None, None).unwrap()
    });
    time("Deep CORAL", &|| coral_loss(&f_s, &f_t).unwrap());
    time("MK-MMD quadratic (5 kernels)", &|| {
        MkMmd::default().loss(&f_s, &f_t).unwrap()
    });
    let lin = MkMmd {
        linear: true,
        ..MkMmd::default()
    };
    time("MK-MMD linear (5 kernels)", &|| {
        lin.loss(&f_s, &f_t).unwrap()
    });
    time("BSS k=1 (svd of 512 x 64)", &|| bss_loss(&f_s, 1).unwrap());
    time("L2-SP on ResNet-18 (11.2M params)", &|| {
        l2sp.penalty().unwrap()
    });
    time("DELTA maps 64x512x7x7", &|| {
        attention_feature_loss(
            &[maps_t.shallow_clone()],
            &[maps_s.shallow_clone()],
            &[att.shallow_clone()],
        )
        .unwrap()
    });
}
