//! Times one training step of the engine (forward with the frozen prefix outside autograd,
//! cross-entropy, backward, SGD update) on a fixed random batch and prints one JSON line;
//! `scripts/bench/train_step.sh` runs it beside the same step in PyTorch and prints the ratio.
//!
//! cargo run --release -p graft-nn --example train_step -- --model resnet18 --mode full
//!     [--steps 10] [--warmup 3] [--batch 16] [--size 224] [--threads 2] [--seed 0]
//!
//! `--mode full` trains every parameter with BatchNorm in train mode; `--mode last` freezes
//! every stage but the last one (`GroupSpec::freeze_until` = the second-to-last stage), so
//! the frozen prefix runs under no_grad in inference mode, as `Trainer::fit` runs it.

use graft_nn::models::registry;
use graft_nn::train::loss::cross_entropy;
use graft_nn::train::optim::Optimizer;
use graft_nn::train::{
    Augment, BnMode, GroupSpec, InputSpec, OptimizerSpec, Schedule, TrainConfig, Trainer,
};
use std::error::Error;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

type Res<T> = Result<T, Box<dyn Error>>;

const USAGE: &str = "usage: train_step --model NAME --mode full|last [--steps N] [--warmup N] \
                     [--batch N] [--size PX] [--threads N] [--seed N]";

struct Args {
    model: String,
    mode: String,
    steps: usize,
    warmup: usize,
    batch: i64,
    size: i64,
    threads: i32,
    seed: i64,
}

fn parse_args() -> Res<Args> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| -> Option<&str> {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .map(String::as_str)
    };
    let number = |name: &str, default: i64, min: i64| -> Res<i64> {
        match value(name) {
            None if argv.iter().any(|a| a == name) => Err(format!("{name} needs a value").into()),
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(format!("{name} `{v}`: expected an integer >= {min}").into()),
            },
        }
    };
    let model = value("--model").ok_or(USAGE)?.to_string();
    let mode = value("--mode").unwrap_or("full").to_string();
    if mode != "full" && mode != "last" {
        return Err(format!("--mode `{mode}`: expected full or last").into());
    }
    Ok(Args {
        model,
        mode,
        steps: number("--steps", 10, 1)? as usize,
        warmup: number("--warmup", 3, 0)? as usize,
        // BatchNorm in train mode needs more than one sample per channel.
        batch: number("--batch", 16, 2)?,
        size: number("--size", 224, 32)?,
        threads: number("--threads", 2, 1)? as i32,
        seed: number("--seed", 0, 0)?,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// CPU time of the whole process (every thread) in milliseconds, from `/proc/self/stat`
/// (utime + stime in clock ticks of 1/100 s, Linux's USER_HZ); `None` elsewhere.
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

fn main() -> Res<()> {
    let args = parse_args()?;
    tch::set_num_threads(args.threads);
    tch::manual_seed(args.seed);
    let spec = registry::find(&args.model)?;
    let stages = spec.stage_names();
    let freeze_until = match args.mode.as_str() {
        "last" => Some(stages[stages.len() - 2].to_string()),
        _ => None,
    };
    let mut vs = VarStore::new(Device::Cpu);
    let model = spec.build_checked(&vs.root(), Some(spec.default_classes))?;
    let lr = 0.01;
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: args.batch as usize,
        groups: GroupSpec {
            lr,
            freeze_until: freeze_until.clone(),
            ..GroupSpec::default()
        },
        optimizer: OptimizerSpec::sgd(0.9, 0.0),
        schedule: Schedule::Constant,
        warmup_epochs: 0.0,
        clip_grad_norm: None,
        label_smoothing: 0.0,
        bn: BnMode::Train,
        augment: Augment::none(),
        input: InputSpec::from_preprocess(&spec.preprocess(), Some(args.size)),
        seed: args.seed as u64,
        early_stopping: None,
        precision: Default::default(),
    };
    let mut trainer = Trainer::new(model.as_ref(), &mut vs, cfg)?;

    // One fixed batch, already in the network's input form: the step is what is timed, not
    // data handling.
    let x = Tensor::f_randn(
        [args.batch, 3, args.size, args.size],
        (Kind::Float, Device::Cpu),
    )?;
    let y = Tensor::f_randint(
        spec.default_classes,
        [args.batch],
        (Kind::Int64, Device::Cpu),
    )?;

    let mut step_ms = Vec::with_capacity(args.steps);
    let mut last_loss = f64::NAN;
    let mut cpu_start = None;
    for i in 0..args.warmup + args.steps {
        if i == args.warmup {
            cpu_start = process_cpu_ms();
        }
        let t0 = Instant::now();
        let logits = trainer.forward_train(&x)?;
        let loss = cross_entropy(&logits, &y, 0.0, None)?;
        Optimizer::zero_grad(&trainer.groups.params);
        loss.f_backward()?;
        trainer.opt.step(&trainer.groups.params, 1.0)?;
        last_loss = loss.double_value(&[]);
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if i >= args.warmup {
            step_ms.push(ms);
        }
    }
    let cpu_ms = cpu_start
        .zip(process_cpu_ms())
        .map(|(a, b)| (b - a) / args.steps as f64);
    let mean = step_ms.iter().sum::<f64>() / step_ms.len() as f64;
    let out = serde_json::json!({
        "side": "graft",
        "model": args.model,
        "mode": args.mode,
        "freeze_until": freeze_until,
        "trainable_stage": if args.mode == "last" { Some(stages[stages.len() - 1]) } else { None },
        "batch": args.batch,
        "size": args.size,
        "threads": args.threads,
        "warmup": args.warmup,
        "steps": args.steps,
        "ms_median": median(&step_ms),
        "ms_mean": mean,
        "images_per_second": args.batch as f64 * 1e3 / mean,
        "cpu_ms_mean": cpu_ms,
        "step_ms": step_ms,
        "trainable_params": trainer.groups.trainable_count,
        "frozen_params": trainer.groups.frozen_count,
        "last_loss": last_loss,
    });
    println!("{out}");
    Ok(())
}
