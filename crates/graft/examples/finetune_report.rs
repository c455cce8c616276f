//! Fine-tune a registry model on an image folder and write its report, as a Rust program.
//!
//!     cargo run --release -p graft --example finetune_report -- MODEL IMAGE_FOLDER [WEIGHTS] [OUT]
//!
//! With no arguments it renders a small folder of digit images (one subfolder per class),
//! pre-trains LeNet on one style of digits and fine-tunes it on another, so it runs anywhere.

use graft::train::{TrainOpts, TrainSpec};
use graft::{CancelToken, Event, Runtime};
use graft_data::synth_digits::{render, DigitDomain};
use std::path::{Path, PathBuf};

/// `n` digits of `domain` as PNG files in `dir/<digit>/<i>.png`.
fn digit_folder(dir: &Path, domain: DigitDomain, n: usize, seed: u64) -> anyhow::Result<()> {
    let d = render(domain, n, seed);
    let side = 28;
    for (i, (&label, px)) in d
        .labels
        .iter()
        .zip(d.pixels.chunks(side * side * 3))
        .enumerate()
    {
        let class = dir.join(label.to_string());
        std::fs::create_dir_all(&class)?;
        image::RgbImage::from_raw(side as u32, side as u32, px.to_vec())
            .expect("28 x 28 x 3 bytes")
            .save(class.join(format!("{i}.png")))?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let work = tempfile::tempdir()?;
    let (model, data, weights, out) = match args.as_slice() {
        [model, data, rest @ ..] => (
            model.clone(),
            PathBuf::from(data),
            rest.first().cloned(),
            PathBuf::from(rest.get(1).map_or("runs/example-finetune", |s| s.as_str())),
        ),
        _ => {
            // The built-in case: LeNet pre-trained on one style of digits, fine-tuned on another.
            let (source, target) = (work.path().join("source"), work.path().join("target"));
            digit_folder(&source, DigitDomain::Source, 3000, 1)?;
            digit_folder(&target, DigitDomain::Target, 300, 2)?;
            let pre = graft::train::run(
                &TrainSpec::pretrain("lenet", source.to_str().unwrap())
                    .opts(TrainOpts {
                        epochs: 4,
                        lr: 0.05,
                        ..TrainOpts::default()
                    })
                    .out(work.path().join("pretrained")),
                &Runtime::default(),
                &mut graft::Silent,
                &CancelToken::new(),
            )?;
            let weights = pre.dir.model().display().to_string();
            (
                "lenet".into(),
                target,
                Some(weights),
                work.path().join("finetuned"),
            )
        }
    };
    let mut spec = TrainSpec::finetune(&model, data.to_str().expect("a UTF-8 path"))
        .opts(TrainOpts {
            epochs: 10,
            lr: 0.02,
            ..TrainOpts::default()
        })
        .out(&out);
    spec.data.val_fraction = Some(0.2);
    if let Some(w) = weights {
        spec = spec.weights(w);
    }
    // The observer sees every epoch; a program may log them, draw them, or stop the run.
    let outcome = graft::train::run(
        &spec,
        &Runtime::default(),
        &mut |e: Event<'_>| {
            if let Event::Train(graft_nn::train::Event::EpochEnd(r)) = e {
                println!("epoch {}: loss {:.4}", r.epoch, r.train_loss);
            }
        },
        &CancelToken::new(),
    )?;
    let s = &outcome.summary;
    println!(
        "{} on {}: validation accuracy {:.1}% ({})",
        s.model,
        s.data,
        100.0 * s.accuracy.unwrap_or(f64::NAN),
        s.selected
    );
    let report = outcome.report.expect("the report is written");
    println!(
        "report: {} ({} bytes)",
        report.display(),
        std::fs::metadata(&report)?.len()
    );
    Ok(())
}
