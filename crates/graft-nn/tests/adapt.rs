//! Domain adaptation in the training engine: an alignment loss must recover a domain shift that
//! source-only training falls for (generated vectors), DANN must beat source-only training from
//! MNIST to USPS (shared data), a resumed run must end bit for bit where the uninterrupted one
//! does (generated digits), and bad inputs are named.

use graft_data::preprocess::Normalization;
use graft_data::synth_digits::{render, DigitDomain};
use graft_data::testdata::data_dir_or_skip;
use graft_nn::models::{mlp::Mlp, registry, Backbone};
use graft_nn::train::adapt::{
    AdaptConfig, Adapter, DeltaSpec, DomainLoss, L2SpSpec, Selection, SelfTraining,
};
use graft_nn::train::{
    evaluate, Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, RunFiles, Samples, Schedule,
    TrainConfig, Trainer,
};
use graft_nn::transfer::PseudoLabelRule;
use graft_nn::NnError;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use tch::nn::VarStore;
use tch::Device;

/// libtorch's random generator is process-global: tests that draw from it take turns.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn digits(domain: DigitDomain, n: usize, seed: u64) -> Samples {
    let d = render(domain, n, seed);
    let names = (0..10).map(|c| c.to_string()).collect();
    Samples::from_hwc_u8(&d.pixels, [n, 28, 28, 3], d.labels, names, domain.name()).unwrap()
}

fn lenet(vs: &VarStore) -> Box<dyn Backbone> {
    let spec = registry().iter().find(|m| m.name == "lenet").unwrap();
    spec.build_checked(&vs.root(), Some(10)).unwrap()
}

fn config(epochs: usize, seed: u64) -> TrainConfig {
    let spec = registry().iter().find(|m| m.name == "lenet").unwrap();
    TrainConfig {
        epochs,
        batch_size: 32,
        groups: GroupSpec {
            lr: 1e-3,
            ..GroupSpec::default()
        },
        optimizer: OptimizerSpec::adamw(0.0),
        schedule: Schedule::Cosine { min_factor: 0.0 },
        warmup_epochs: 0.0,
        clip_grad_norm: None,
        label_smoothing: 0.0,
        bn: BnMode::Train,
        augment: Augment::none(),
        input: InputSpec::from_preprocess(&spec.preprocess(), None),
        seed,
        early_stopping: None,
        precision: Default::default(),
    }
}

struct Data {
    source: Samples,
    target: Samples,
    test: Samples,
}

/// Trains LeNet under `cfg` with `adapt` and returns the target test accuracy.
fn target_accuracy_with(d: &Data, adapt: AdaptConfig, cfg: TrainConfig) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(cfg.seed as i64);
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let input = cfg.input.clone();
    let trainer = Trainer::new(model.as_ref(), &mut vs, cfg).unwrap();
    let mut a = Adapter::new(trainer, adapt, 10).unwrap();
    let files = RunFiles {
        dir: dir.path().to_path_buf(),
    };
    let stop = AtomicBool::new(false);
    a.fit(
        &d.source,
        None,
        &d.target,
        None,
        None,
        &files,
        &stop,
        &mut |_| {},
    )
    .unwrap();
    drop(a);
    evaluate(model.as_ref(), &input, &d.test, Device::Cpu, 128)
        .unwrap()
        .accuracy
}

/// Two classes in 5 dimensions: feature 0 is informative in both domains, feature 1 is more
/// informative but shifted by `shift` in the target (the domain shift), the rest is noise. A
/// model trained on the source alone leans on feature 1 and fails on the target.
fn shifted_vectors(n: usize, shift: f32, seed: u64) -> Samples {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || {
        let (u, v): (f32, f32) = (rng.random::<f32>().max(1e-7), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    };
    let (mut x, mut y) = (Vec::with_capacity(n * 5), Vec::with_capacity(n));
    for i in 0..n {
        let label = (i % 2) as i64;
        let s = 2.0 * label as f32 - 1.0;
        x.push(1.5 * s + normal());
        x.push(2.0 * s + 0.3 * normal() + shift);
        for _ in 0..3 {
            x.push(normal());
        }
        y.push(label);
    }
    let names = vec!["0".to_string(), "1".to_string()];
    Samples::from_features(&x, n, 5, y, names, format!("vectors shifted by {shift}")).unwrap()
}

/// Target test accuracy of an MLP trained on the shifted vectors with `adapt`.
fn vector_accuracy(adapt: AdaptConfig, seed: u64) -> f64 {
    let (source, target, test) = (
        shifted_vectors(400, 0.0, 1),
        shifted_vectors(400, -4.0, 2),
        shifted_vectors(400, -4.0, 3),
    );
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(seed as i64);
    let mut vs = VarStore::new(Device::Cpu);
    let model = Mlp::new(&vs.root(), 5, &[16], 0.0, Some(2)).unwrap();
    let mut cfg = config(30, seed);
    cfg.batch_size = 64;
    cfg.groups.lr = 0.01;
    cfg.optimizer = OptimizerSpec::sgd(0.9, 5e-4);
    cfg.input = InputSpec {
        channels: 5,
        height: 1,
        width: 1,
        normalization: Normalization::UnitRange,
    };
    let input = cfg.input.clone();
    let trainer = Trainer::new(&model, &mut vs, cfg).unwrap();
    let mut a = Adapter::new(trainer, adapt, 2).unwrap();
    let files = RunFiles {
        dir: dir.path().to_path_buf(),
    };
    let stop = AtomicBool::new(false);
    a.fit(
        &source,
        None,
        &target,
        None,
        None,
        &files,
        &stop,
        &mut |_| {},
    )
    .unwrap();
    drop(a);
    evaluate(&model, &input, &test, Device::Cpu, 128)
        .unwrap()
        .accuracy
}

#[test]
fn mmd_recovers_a_shifted_feature_that_source_only_training_trusts() {
    let _g = rng_lock();
    for seed in 0..2 {
        let src = vector_accuracy(AdaptConfig::new(DomainLoss::None), seed);
        let mmd = vector_accuracy(AdaptConfig::new(DomainLoss::Mmd { linear: false }), seed);
        eprintln!("seed {seed}: source only {src:.3}, MMD {mmd:.3}");
        assert!(
            src < 0.75,
            "source only should fail on the shifted target: {src:.3}"
        );
        assert!(
            mmd > 0.85 && mmd > src + 0.2,
            "MMD {mmd:.3} vs source only {src:.3}"
        );
    }
}

/// MNIST -> USPS (ADDA protocol, as `scripts/experiments/adapt_digits.sh`) with fewer epochs:
/// DANN must beat source-only training on the USPS test set. Needs the shared data.
#[test]
fn dann_beats_source_only_from_mnist_to_usps() {
    let (Some(mnist), Some(usps)) = (
        data_dir_or_skip("mnist_test/t10k-images-idx3-ubyte.gz"),
        data_dir_or_skip("usps/usps.npz"),
    ) else {
        return;
    };
    let _g = rng_lock();
    let load = |spec: String| -> Samples {
        Samples::from_arrays(&graft_data::arrays::open_array_spec(&spec).unwrap()).unwrap()
    };
    let mnist = load(mnist.display().to_string());
    let mut pick: Vec<i64> = (0..mnist.len() as i64).collect();
    pick.shuffle(&mut ChaCha8Rng::seed_from_u64(10));
    pick.truncate(2000);
    let d = Data {
        source: mnist.select(&pick).unwrap(),
        target: load(format!("{}:train", usps.display())),
        test: load(format!("{}:test", usps.display())),
    };
    let mut gain = 0.0;
    for seed in 0..2 {
        let mut cfg = config(10, seed);
        cfg.batch_size = 64;
        cfg.groups.lr = 0.01;
        cfg.optimizer = OptimizerSpec::sgd(0.9, 5e-4);
        let src = target_accuracy_with(&d, AdaptConfig::new(DomainLoss::None), cfg.clone());
        let mut dann = AdaptConfig::new(DomainLoss::Dann);
        dann.head_width = 500;
        let acc = target_accuracy_with(&d, dann, cfg);
        eprintln!("seed {seed}: source only {src:.3}, DANN {acc:.3}");
        gain += acc - src;
    }
    assert!(gain / 2.0 > 0.03, "DANN gains {:.3} on average", gain / 2.0);
}

fn mixed() -> AdaptConfig {
    let mut cfg = AdaptConfig::new(DomainLoss::Dann);
    cfg.head_width = 64;
    cfg.self_training = Some(SelfTraining {
        rule: PseudoLabelRule::Confidence { threshold: 0.5 },
        weight: 1.0,
        start_epoch: 1,
    });
    cfg.l2sp = Some(L2SpSpec {
        alpha: 0.01,
        beta: 0.01,
    });
    cfg.delta = Some(DeltaSpec {
        alpha: 0.01,
        beta: 0.01,
        stages: vec!["conv2".into()],
    });
    cfg.selection = Selection::Dev;
    cfg
}

/// `mixed()`'s adapter, with DELTA's reference: a copy of the starting weights.
fn mixed_adapter<'a>(trainer: Trainer<'a>, reference_seed: i64) -> Adapter<'a> {
    tch::manual_seed(reference_seed);
    let rvs = VarStore::new(Device::Cpu);
    let reference = lenet(&rvs);
    Adapter::new(trainer, mixed(), 10)
        .unwrap()
        .with_reference(reference, rvs)
}

/// All variables of the model, sorted by name, as flat vectors.
fn snapshot(vs: &VarStore) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (k, Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn a_resumed_run_ends_exactly_where_the_uninterrupted_one_does() {
    let _g = rng_lock();
    let src = digits(DigitDomain::Source, 96, 4);
    let tgt = digits(DigitDomain::Target, 80, 5);
    let val = digits(DigitDomain::Source, 40, 6);
    let run = |interrupt_at: Option<usize>| -> (Vec<(String, Vec<f32>)>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let files = RunFiles {
            dir: dir.path().to_path_buf(),
        };
        let build = |vs: &mut VarStore| {
            tch::manual_seed(11);
            lenet(vs)
        };
        let mut vs = VarStore::new(Device::Cpu);
        let model = build(&mut vs);
        {
            let trainer = Trainer::new(model.as_ref(), &mut vs, config(3, 9)).unwrap();
            let mut a = mixed_adapter(trainer, 11);
            let stop = AtomicBool::new(false);
            let mut steps = 0;
            let r = a.fit(
                &src,
                None,
                &tgt,
                Some(&val),
                None,
                &files,
                &stop,
                &mut |e| {
                    if let graft_nn::train::adapt::AdaptEvent::Engine(
                        graft_nn::train::Event::Step { .. },
                    ) = e
                    {
                        steps += 1;
                        if Some(steps) == interrupt_at {
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                },
            );
            match interrupt_at {
                None => r.unwrap(),
                Some(_) => assert!(matches!(r, Err(NnError::Interrupted { .. })), "{r:?}"),
            }
        }
        if interrupt_at.is_some() {
            // A fresh process: new model and heads, then the checkpoint.
            let mut vs2 = VarStore::new(Device::Cpu);
            let model2 = build(&mut vs2);
            {
                let trainer = Trainer::new(model2.as_ref(), &mut vs2, config(3, 9)).unwrap();
                let mut a = mixed_adapter(trainer, 11);
                a.resume_from(&files).unwrap();
                let stop = AtomicBool::new(false);
                a.fit(
                    &src,
                    None,
                    &tgt,
                    Some(&val),
                    None,
                    &files,
                    &stop,
                    &mut |_| {},
                )
                .unwrap();
                assert_eq!(a.progress.history.len(), 3);
                assert!(a.progress.history[2].pseudo_labels.is_some());
                assert!(a.progress.history[2].dev_risk.is_some());
            }
            return (snapshot(&vs2), dir);
        }
        (snapshot(&vs), dir)
    };
    let (straight, _d1) = run(None);
    // 3 steps per epoch: interrupt in the middle of the second epoch.
    let (resumed, d2) = run(Some(5));
    assert_eq!(straight.len(), resumed.len());
    for ((k, a), (_, b)) in straight.iter().zip(&resumed) {
        assert_eq!(a, b, "variable {k} differs after resume");
    }
    // The checkpoint holds the discriminator apart from the model's variables.
    let sd =
        graft_nn::weights::safetensors::read(&d2.path().join("checkpoint.safetensors")).unwrap();
    assert!(sd.get("adapt.discriminator.0.weight").is_some());
    assert!(sd.get("model.fc.weight").is_some());
    assert!(straight
        .iter()
        .all(|(k, _)| !k.starts_with("discriminator")));
}

#[test]
fn an_empty_target_and_bad_weights_are_named() {
    let _g = rng_lock();
    let src = digits(DigitDomain::Source, 20, 1);
    let empty = src.select(&[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = RunFiles {
        dir: dir.path().to_path_buf(),
    };
    let mut vs = VarStore::new(Device::Cpu);
    let model = lenet(&vs);
    let trainer = Trainer::new(model.as_ref(), &mut vs, config(1, 0)).unwrap();
    let mut a = Adapter::new(trainer, AdaptConfig::new(DomainLoss::Coral), 10).unwrap();
    let stop = AtomicBool::new(false);
    let e = a
        .fit(&src, None, &empty, None, None, &files, &stop, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("target") && e.contains("empty"), "{e}");
    drop(a);
    let mut cfg = AdaptConfig::new(DomainLoss::Dann);
    cfg.domain_weight = -1.0;
    let trainer = Trainer::new(model.as_ref(), &mut vs, config(1, 0)).unwrap();
    let e = Adapter::new(trainer, cfg, 10).err().unwrap().to_string();
    assert!(e.contains("domain loss weight"), "{e}");
    let mut cfg = AdaptConfig::new(DomainLoss::None);
    cfg.delta = Some(DeltaSpec {
        alpha: 0.01,
        beta: 0.01,
        stages: Vec::new(),
    });
    let trainer = Trainer::new(model.as_ref(), &mut vs, config(1, 0)).unwrap();
    let mut a = Adapter::new(trainer, cfg, 10).unwrap();
    let e = a
        .fit(&src, None, &src, None, None, &files, &stop, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("DELTA") && e.contains("--weights"), "{e}");
}
