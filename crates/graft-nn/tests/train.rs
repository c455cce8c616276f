//! The training engine: optimisers against PyTorch, learning, freezing, exact resume and
//! divergence handling, on LeNet and small generated data.

use graft_data::preprocess::Normalization;
use graft_nn::models::registry;
use graft_nn::precision::Precision;
use graft_nn::train::loss_scale::LossScale;
use graft_nn::train::optim::Optimizer;
use graft_nn::train::params::Param;
use graft_nn::train::{
    Augment, BnMode, Event, GroupSpec, InputSpec, OptimizerSpec, RunFiles, Samples, Schedule,
    TrainConfig, Trainer,
};
use graft_nn::NnError;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// libtorch's random generator is process-global: tests that draw from it take turns.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn floats(v: &Value, k: &str) -> Vec<f32> {
    v[k].as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn optimisers_follow_pytorch_step_for_step() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/optim_reference.json")).unwrap();
    let lr = fx["lr"].as_f64().unwrap();
    let wd = fx["weight_decay"].as_f64().unwrap();
    let factors: Vec<f64> = fx["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let specs = [
        (
            "sgd_momentum",
            OptimizerSpec::Sgd {
                momentum: 0.9,
                nesterov: false,
                weight_decay: wd,
            },
        ),
        (
            "sgd_nesterov",
            OptimizerSpec::Sgd {
                momentum: 0.9,
                nesterov: true,
                weight_decay: wd,
            },
        ),
        (
            "adamw",
            OptimizerSpec::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: wd,
            },
        ),
    ];
    for (name, spec) in specs {
        let w = Tensor::from_slice(&floats(&fx, "w0"))
            .view([3, 4])
            .set_requires_grad(true);
        let b = Tensor::from_slice(&floats(&fx, "b0")).set_requires_grad(true);
        let tw = Tensor::from_slice(&floats(&fx, "tw")).view([3, 4]);
        let tb = Tensor::from_slice(&floats(&fx, "tb"));
        let cw = Tensor::from_slice(&floats(&fx, "cw")).view([3, 4]);
        let params = vec![
            Param {
                name: "w".into(),
                tensor: w.shallow_clone(),
                stage: None,
                lr,
                weight_decay: true,
            },
            Param {
                name: "b".into(),
                tensor: b.shallow_clone(),
                stage: None,
                lr,
                weight_decay: false,
            },
        ];
        let mut opt = Optimizer::new(spec, &params).unwrap();
        for &f in &factors {
            Optimizer::zero_grad(&params);
            let loss =
                (&cw * (&w - &tw).square()).sum(Kind::Float) + (&b - &tb).square().sum(Kind::Float);
            loss.backward();
            opt.step(&params, f).unwrap();
        }
        let want_w = floats(&fx[name], "w");
        let want_b = floats(&fx[name], "b");
        let got_w = Vec::<f32>::try_from(w.detach().flatten(0, -1)).unwrap();
        let got_b = Vec::<f32>::try_from(b.detach()).unwrap();
        for (g, e) in got_w.iter().chain(&got_b).zip(want_w.iter().chain(&want_b)) {
            assert!((g - e).abs() < 1e-6, "{name}: {g} vs {e}");
        }
    }
}

/// Two classes of 28x28 digits-like images: a bright bar on the left or on the right.
fn bars(n: usize, seed: i64) -> Samples {
    tch::manual_seed(seed);
    let noise = Tensor::rand([n as i64, 1, 28, 28], (Kind::Float, Device::Cpu))
        .f_mul_scalar(0.3)
        .unwrap();
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 2).collect();
    let left = Tensor::zeros([1, 1, 28, 28], (Kind::Float, Device::Cpu));
    let _ = left.narrow(3, 4, 8).fill_(0.7);
    let right = left.flip([3]);
    let imgs: Vec<Tensor> = labels
        .iter()
        .map(|&l| {
            if l == 0 {
                left.shallow_clone()
            } else {
                right.shallow_clone()
            }
        })
        .collect();
    let x = (Tensor::cat(&imgs, 0) + noise).clamp(0.0, 1.0);
    Samples::new(
        x,
        labels,
        vec!["left".into(), "right".into()],
        "bars".into(),
    )
    .unwrap()
}

fn config(epochs: usize, freeze_until: Option<&str>) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 16,
        groups: GroupSpec {
            lr: 0.05,
            freeze_until: freeze_until.map(String::from),
            ..GroupSpec::default()
        },
        optimizer: OptimizerSpec::sgd(0.9, 5e-4),
        schedule: Schedule::Cosine { min_factor: 0.0 },
        warmup_epochs: 0.5,
        clip_grad_norm: Some(5.0),
        label_smoothing: 0.1,
        bn: BnMode::Train,
        augment: Augment::digits(),
        input: InputSpec {
            channels: 1,
            height: 28,
            width: 28,
            normalization: Normalization::MeanStd {
                mean: vec![0.5],
                std: vec![0.5],
            },
        },
        seed: 3,
        early_stopping: None,
        precision: Default::default(),
    }
}

fn lenet(vs: &VarStore) -> Box<dyn graft_nn::models::Backbone> {
    tch::manual_seed(11);
    registry::find("lenet")
        .unwrap()
        .build_checked(&vs.root(), Some(2))
        .unwrap()
}

fn weights_of(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (k, t.detach().copy()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn lenet_learns_and_validation_picks_the_best_epoch() {
    let _turn = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let files = RunFiles {
        dir: dir.path().to_path_buf(),
    };
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let (train, val) = (bars(96, 1), bars(40, 2));
    let mut t = Trainer::new(model.as_ref(), &mut vs, config(4, None)).unwrap();
    let mut epochs_seen = 0;
    t.fit(
        &train,
        None,
        Some(&val),
        &files,
        &AtomicBool::new(false),
        &mut |e| {
            if let Event::EpochEnd(_) = e {
                epochs_seen += 1
            }
        },
    )
    .unwrap();
    assert_eq!(epochs_seen, 4);
    let m = t.evaluate(&val).unwrap();
    assert!(m.accuracy > 0.9, "validation accuracy {}", m.accuracy);
    assert!(t.restore_best(&files).unwrap().is_some());
    let lines = std::fs::read_to_string(files.metrics()).unwrap();
    assert_eq!(lines.lines().count(), 4);
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(first["val"]["accuracy"].as_f64().is_some() && first["train_loss"].as_f64().is_some());
}

#[test]
fn a_run_stopped_mid_epoch_resumes_to_identical_weights() {
    let _turn = rng_lock();
    let train = bars(80, 5);
    // Uninterrupted.
    let d1 = tempfile::tempdir().unwrap();
    let mut vs1 = VarStore::new(Device::Cpu);
    let m1 = lenet(&vs1);
    let mut t1 = Trainer::new(m1.as_ref(), &mut vs1, config(3, None)).unwrap();
    t1.fit(
        &train,
        None,
        None,
        &RunFiles {
            dir: d1.path().into(),
        },
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    drop(t1);
    // Stopped after 7 steps (inside epoch 2), then resumed by a fresh trainer.
    let d2 = tempfile::tempdir().unwrap();
    let files = RunFiles {
        dir: d2.path().into(),
    };
    let stop = AtomicBool::new(false);
    let mut vs2 = VarStore::new(Device::Cpu);
    let m2 = lenet(&vs2);
    {
        let mut t2 = Trainer::new(m2.as_ref(), &mut vs2, config(3, None)).unwrap();
        let mut steps = 0;
        let err = t2
            .fit(&train, None, None, &files, &stop, &mut |e| {
                if let Event::Step { .. } = e {
                    steps += 1;
                    if steps == 7 {
                        stop.store(true, Ordering::SeqCst);
                    }
                }
            })
            .unwrap_err();
        assert!(
            matches!(err, NnError::Interrupted { epoch: 1, step: 2 }),
            "{err}"
        );
    }
    let mut vs3 = VarStore::new(Device::Cpu);
    let m3 = lenet(&vs3);
    let mut t3 = Trainer::new(m3.as_ref(), &mut vs3, config(3, None)).unwrap();
    t3.resume_from(&files.checkpoint()).unwrap();
    t3.fit(
        &train,
        None,
        None,
        &files,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    drop(t3);
    for ((k, a), (_, b)) in weights_of(&vs1).iter().zip(weights_of(&vs3).iter()) {
        assert!(a.equal(b), "{k} differs after resume");
    }
}

#[test]
fn frozen_stages_get_no_gradient_and_do_not_move() {
    let _turn = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let before = weights_of(&vs);
    let mut t = Trainer::new(model.as_ref(), &mut vs, config(1, Some("conv2"))).unwrap();
    assert_eq!(t.groups.frozen_stages, 2);
    assert!(t.groups.params.iter().all(|p| !p.name.starts_with("conv")));
    t.fit(
        &bars(32, 9),
        None,
        None,
        &RunFiles {
            dir: dir.path().into(),
        },
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    drop(t);
    for ((k, a), (_, b)) in before.iter().zip(weights_of(&vs).iter()) {
        assert_eq!(a.equal(b), k.starts_with("conv"), "{k}");
        if k.starts_with("conv") {
            let v = vs.variables()[k].grad();
            assert!(!v.defined(), "{k} has a gradient");
        }
    }
}

#[test]
fn a_nan_loss_stops_with_a_diagnosis() {
    let _turn = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let bad = bars(32, 1);
    let _ = bad.images.narrow(0, 3, 1).fill_(f64::NAN);
    let mut cfg = config(1, None);
    cfg.augment = Augment::none();
    let mut t = Trainer::new(model.as_ref(), &mut vs, cfg).unwrap();
    let err = t
        .fit(
            &bad,
            None,
            None,
            &RunFiles {
                dir: dir.path().into(),
            },
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, NnError::Diverged { .. }) && msg.contains("NaN") && msg.contains("--lr"),
        "{msg}"
    );
}

#[test]
fn split_forward_equals_the_whole_pass() {
    let _turn = rng_lock();
    for (name, side) in [("lenet", 28), ("resnet18", 64), ("efficientnet_lite0", 64)] {
        let vs = VarStore::new(Device::Cpu);
        tch::manual_seed(0);
        let spec = registry::find(name).unwrap();
        let m = spec.build_checked(&vs.root(), None).unwrap();
        let c = spec.input.0;
        let x = Tensor::randn([2, c, side, side], (Kind::Float, Device::Cpu));
        let last = m.stages().len() - 1;
        let whole = m.forward_features(&x, None, false).unwrap();
        for cut in 0..last {
            let h = m.forward_stages(&x, 0, cut, false).unwrap();
            let h = m.forward_stages(&h, cut + 1, last, false).unwrap();
            let f = m.pool_stage(&h, last).unwrap();
            let d = (&f - &whole).abs().max().double_value(&[]);
            assert!(d < 1e-5, "{name}: split after stage {cut} differs by {d}");
        }
    }
}

#[test]
fn parameter_groups_give_each_stage_its_rate_and_spare_norms_from_decay() {
    let vs = VarStore::new(Device::Cpu);
    let m = registry::find("resnet18")
        .unwrap()
        .build_checked(&vs.root(), Some(7))
        .unwrap();
    let spec = GroupSpec {
        lr: 0.1,
        lr_backbone: Some(0.01),
        layer_decay: 0.5,
        freeze_until: Some("layer1".into()),
        ..GroupSpec::default()
    };
    let g = graft_nn::train::params::ParamGroups::new(&vs, m.as_ref(), &spec).unwrap();
    assert_eq!(g.frozen_stages, 2);
    let lr_of = |name: &str| g.params.iter().find(|p| p.name == name).map(|p| p.lr);
    assert_eq!(lr_of("fc.weight"), Some(0.1));
    assert_eq!(lr_of("layer4.0.conv1.weight"), Some(0.01));
    assert_eq!(lr_of("layer3.0.conv1.weight"), Some(0.005));
    assert_eq!(lr_of("layer2.1.bn2.weight"), Some(0.0025));
    assert_eq!(lr_of("layer1.0.conv1.weight"), None, "layer1 is frozen");
    assert_eq!(lr_of("conv1.weight"), None, "the stem is frozen");
    let decay = |name: &str| {
        g.params
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .weight_decay
    };
    assert!(decay("layer4.0.conv1.weight") && decay("fc.weight"));
    assert!(!decay("layer4.0.bn1.weight") && !decay("layer4.0.bn1.bias") && !decay("fc.bias"));
    assert!(g.frozen_count > 0 && g.trainable_count > g.frozen_count);
    let bad = GroupSpec {
        freeze_until: Some("layer9".into()),
        ..GroupSpec::default()
    };
    let err = graft_nn::train::params::ParamGroups::new(&vs, m.as_ref(), &bad).unwrap_err();
    assert!(err.to_string().contains("layer4"), "{err}");
}

#[test]
fn an_mlp_learns_on_feature_vectors() {
    let _turn = rng_lock();
    tch::manual_seed(2);
    let (n, d) = (200usize, 20usize);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
    let centres = Tensor::randn([3, d as i64], (Kind::Float, Device::Cpu)) * 2.0;
    let x = centres.index_select(0, &Tensor::from_slice(&labels))
        + Tensor::randn([n as i64, d as i64], (Kind::Float, Device::Cpu));
    let xs = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
    let names = vec!["a".to_string(), "b".into(), "c".into()];
    let data = Samples::from_features(&xs, n, d, labels, names, "blobs").unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let m = graft_nn::models::mlp::Mlp::new(&vs.root(), d as i64, &[32], 0.1, Some(3)).unwrap();
    let mut cfg = config(30, None);
    cfg.augment = Augment::none();
    cfg.optimizer = OptimizerSpec::adamw(1e-4);
    cfg.groups.lr = 3e-3;
    cfg.input = InputSpec {
        channels: d as i64,
        height: 1,
        width: 1,
        normalization: Normalization::UnitRange,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(&m, &mut vs, cfg).unwrap();
    t.fit(
        &data,
        None,
        None,
        &RunFiles {
            dir: dir.path().into(),
        },
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    let acc = t.evaluate(&data).unwrap().accuracy;
    assert!(acc > 0.95, "MLP training accuracy {acc}");
    assert!(graft_nn::models::mlp::Mlp::new(&vs.root(), 0, &[8], 0.0, None).is_err());
}

#[test]
fn bf16_training_learns_with_float32_weights_and_losses() {
    let _turn = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let files = RunFiles {
        dir: dir.path().to_path_buf(),
    };
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let (train, val) = (bars(96, 1), bars(40, 2));
    let cfg = TrainConfig {
        precision: Precision::Bf16,
        ..config(4, None)
    };
    let mut t = Trainer::new(model.as_ref(), &mut vs, cfg).unwrap();
    let x = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
    let (f, logits) = t.forward_train_parts(&x).unwrap();
    assert_eq!((f.kind(), logits.kind()), (Kind::Float, Kind::Float));
    t.fit(
        &train,
        None,
        Some(&val),
        &files,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    let m = t.evaluate(&val).unwrap();
    assert!(m.accuracy > 0.9, "bf16 validation accuracy {}", m.accuracy);
    // Autocast computes in bf16 but never converts the weights themselves.
    for (name, v) in vs.variables() {
        assert_eq!(v.kind(), Kind::Float, "{name} is {:?}", v.kind());
    }
}

#[test]
fn fp16_training_skips_overflowing_steps_and_resumes_with_its_loss_scale() {
    let _turn = rng_lock();
    let (train, val) = (bars(96, 1), bars(40, 2));
    let fp16 = || TrainConfig {
        precision: Precision::Fp16,
        ..config(4, None)
    };
    // Uninterrupted run, starting from a scale of 2^24: fp16 gradients overflow until the scale
    // has come down to where they fit.
    let d1 = tempfile::tempdir().unwrap();
    let mut vs1 = VarStore::new(Device::Cpu);
    let m1 = lenet(&vs1);
    let mut t1 = Trainer::new(m1.as_ref(), &mut vs1, fp16()).unwrap();
    assert_eq!(t1.progress.loss_scale, Some(LossScale::default()));
    t1.progress.loss_scale = Some(LossScale::with_scale(2f64.powi(24)));
    let files1 = RunFiles {
        dir: d1.path().into(),
    };
    let no_stop = AtomicBool::new(false);
    t1.fit(&train, None, Some(&val), &files1, &no_stop, &mut |_| {})
        .unwrap();
    let m = t1.evaluate(&val).unwrap();
    let ls = t1.progress.loss_scale.clone().unwrap();
    assert!(
        m.accuracy > 0.9,
        "fp16 validation accuracy {} ({ls:?})",
        m.accuracy
    );
    assert!(ls.skipped_steps >= 1, "{ls:?}");
    assert!(ls.scale < 2f64.powi(24) && ls.scale >= 1.0, "{ls:?}");
    assert_eq!(
        ls.skipped_steps + ls.applied_steps,
        t1.progress.global_step as u64
    );
    let last = t1.progress.history.last().unwrap();
    assert_eq!(
        (last.loss_scale, last.skipped_steps),
        (Some(ls.scale), Some(ls.skipped_steps))
    );
    drop(t1);
    for (name, v) in vs1.variables() {
        assert_eq!(v.kind(), Kind::Float, "{name} is {:?}", v.kind());
    }

    // The same run stopped inside epoch 2 and resumed by a fresh trainer ends identically:
    // the checkpoint carries the scale and its counters.
    let d2 = tempfile::tempdir().unwrap();
    let files2 = RunFiles {
        dir: d2.path().into(),
    };
    let stop = AtomicBool::new(false);
    let mut vs2 = VarStore::new(Device::Cpu);
    let m2 = lenet(&vs2);
    {
        let mut t2 = Trainer::new(m2.as_ref(), &mut vs2, fp16()).unwrap();
        t2.progress.loss_scale = Some(LossScale::with_scale(2f64.powi(24)));
        let mut steps = 0;
        t2.fit(&train, None, Some(&val), &files2, &stop, &mut |e| {
            if let Event::Step { .. } = e {
                steps += 1;
                if steps == 8 {
                    stop.store(true, Ordering::SeqCst);
                }
            }
        })
        .unwrap_err();
    }
    let mut vs3 = VarStore::new(Device::Cpu);
    let m3 = lenet(&vs3);
    let mut t3 = Trainer::new(m3.as_ref(), &mut vs3, fp16()).unwrap();
    t3.resume_from(&files2.checkpoint()).unwrap();
    assert!(t3.progress.loss_scale.as_ref().unwrap().scale < 2f64.powi(24));
    t3.fit(&train, None, Some(&val), &files2, &no_stop, &mut |_| {})
        .unwrap();
    assert_eq!(t3.progress.loss_scale, Some(ls));
    drop(t3);
    for ((k, a), (_, b)) in weights_of(&vs1).iter().zip(weights_of(&vs3).iter()) {
        assert!(a.equal(b), "{k} differs after resume");
    }
}

#[test]
fn a_collapsed_fp16_loss_scale_stops_the_run_with_a_clear_error() {
    let _turn = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let cfg = TrainConfig {
        precision: Precision::Fp16,
        ..config(1, None)
    };
    let mut t = Trainer::new(model.as_ref(), &mut vs, cfg).unwrap();
    t.progress.loss_scale = Some(LossScale::with_scale(1e-9));
    let files = RunFiles {
        dir: dir.path().into(),
    };
    let err = t
        .fit(
            &bars(32, 1),
            None,
            None,
            &files,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(&err, NnError::Diverged { epoch: 0, step: 0, what } if what.contains("loss scale")),
        "{err}"
    );
}
