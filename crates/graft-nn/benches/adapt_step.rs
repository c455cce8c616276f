//! Cost of a training step with each domain loss against a plain step over the same source +
//! target batch, in one process, for LeNet on 28x28 digits and ResNet-18 on 64x64 images
//! (best of 3 runs of 16 steps each). `cargo bench -p graft-nn --bench adapt_step`;
//! `MODELS=lenet` keeps one model, `THREADS` sets libtorch's threads (default 2).
//!
//! The "plain" row runs the same forward and backward pass over both halves of the batch with
//! no term reading the target half, so the ratio is the price of the domain term alone; the
//! "source only" row is the step without any target batch.

use graft_data::synth_digits::{render_with, DigitDomain, RenderOptions};
use graft_nn::models::find;
use graft_nn::train::adapt::{AdaptConfig, Adapter, DomainLoss, SelfTraining};
use graft_nn::train::{
    Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, RunFiles, Samples, Schedule, TrainConfig,
    Trainer,
};
use graft_nn::transfer::PseudoLabelRule;
use std::sync::atomic::AtomicBool;
use tch::nn::VarStore;
use tch::Device;

const STEPS: usize = 16;

fn digits(domain: DigitDomain, n: usize, side: usize, seed: u64) -> Samples {
    let opts = RenderOptions { side };
    let d = render_with(domain, n, seed, &opts).expect("valid render options");
    let names = (0..10).map(|c| c.to_string()).collect();
    Samples::from_hwc_u8(
        &d.pixels,
        [n, side, side, 3],
        d.labels,
        names,
        domain.name(),
    )
    .expect("rendered digits make images")
}

/// Milliseconds per step of one epoch of `STEPS` steps.
fn time(model_name: &str, side: usize, batch: usize, adapt: &AdaptConfig) -> f64 {
    let n = batch * STEPS;
    let src = digits(DigitDomain::Source, n, side, 1);
    let tgt = digits(DigitDomain::Target, n, side, 2);
    let spec = find(model_name).expect("registered model");
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = RunFiles {
        dir: dir.path().to_path_buf(),
    };
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        tch::manual_seed(0);
        let mut vs = VarStore::new(Device::Cpu);
        let model = spec
            .build_checked(&vs.root(), Some(10))
            .expect("model builds");
        let cfg = TrainConfig {
            epochs: 1,
            batch_size: batch,
            groups: GroupSpec {
                lr: 0.01,
                ..GroupSpec::default()
            },
            optimizer: OptimizerSpec::sgd(0.9, 5e-4),
            schedule: Schedule::Cosine { min_factor: 0.0 },
            warmup_epochs: 0.0,
            clip_grad_norm: None,
            label_smoothing: 0.0,
            bn: BnMode::Train,
            augment: Augment::none(),
            input: InputSpec::from_preprocess(&spec.preprocess(), Some(side as i64)),
            seed: 0,
            early_stopping: None,
            precision: Default::default(),
        };
        let trainer = Trainer::new(model.as_ref(), &mut vs, cfg).expect("trainer");
        let mut a = Adapter::new(trainer, adapt.clone(), 10).expect("adapter");
        let t = std::time::Instant::now();
        a.fit(
            &src,
            None,
            &tgt,
            None,
            None,
            &files,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .expect("training runs");
        // Includes the end-of-epoch checkpoint, written in every row alike.
        best = best.min(t.elapsed().as_secs_f64() * 1000.0 / STEPS as f64);
    }
    best
}

fn main() {
    tch::set_num_threads(
        std::env::var("THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
    );
    // A plain step over the same images: the target half rides along, no term reads it.
    let plain = {
        let mut c = AdaptConfig::new(DomainLoss::None);
        c.self_training = Some(SelfTraining {
            rule: PseudoLabelRule::Confidence { threshold: 1.0 },
            weight: 0.0,
            start_epoch: usize::MAX,
        });
        c
    };
    // Adversarial heads as wide as `graft adapt` makes them: 500 for LeNet (its feature
    // width), 1024 for ResNet-18 (TLlib's width).
    let with_head = |d: DomainLoss, width: i64| {
        let mut c = AdaptConfig::new(d);
        c.head_width = width;
        c
    };
    let only = std::env::var("MODELS").unwrap_or_default();
    for (model, side, batch, width) in [("lenet", 28, 64, 500), ("resnet18", 64, 32, 1024)] {
        if !only.is_empty() && !only.split(',').any(|m| m == model) {
            continue;
        }
        let rows: Vec<(&str, AdaptConfig)> = vec![
            ("source only", AdaptConfig::new(DomainLoss::None)),
            ("plain, source + target", plain.clone()),
            ("dann", with_head(DomainLoss::Dann, width)),
            (
                "cdan+e",
                with_head(DomainLoss::Cdan { entropy: true }, width),
            ),
            ("mdd", with_head(DomainLoss::Mdd { margin: 4.0 }, width)),
            ("coral", AdaptConfig::new(DomainLoss::Coral)),
            ("mmd", AdaptConfig::new(DomainLoss::Mmd { linear: false })),
        ];
        println!("{model}, {side}x{side}, batch {batch} source + {batch} target:");
        let _ = time(model, side, batch, &rows[0].1); // warm-up
        let mut base = None;
        for (name, c) in &rows {
            let ms = time(model, side, batch, c);
            if name.starts_with("plain") {
                base = Some(ms);
            }
            let ratio = base.map_or(String::from("-"), |b| format!("{:.2}x", ms / b));
            println!("  {name:24} {ms:8.2} ms/step  {ratio:>6}");
        }
    }
}
