//! `graft models`: every model graft builds, with what each expects as input: the registry's
//! image models one by one, then the families found by other means (the mlp over feature
//! vectors, text encoder folders).

use graft_data::preprocess::{Normalization, Preprocess};
use graft_nn::models::{registry, Backbone};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object per model instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    for spec in registry() {
        // Building on the CPU without a head is cheap and asks the model itself, so the listing
        // cannot drift from what the code does.
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let model: Box<dyn Backbone> = spec.build_checked(&vs.root(), None)?;
        let stages = model.stages();
        let pre = model
            .input()
            .preprocess()
            .cloned()
            .unwrap_or_else(|| spec.preprocess());
        if args.json {
            let v = json!({
                "name": spec.name,
                "summary": spec.summary,
                "input": [spec.input.0, spec.input.1, spec.input.2],
                "stages": stages.iter().map(|s| json!({"name": s.name, "dim": s.dim})).collect::<Vec<_>>(),
                "feature_dim": stages.last().map(|s| s.dim),
                "parameters": vs.variables().values().map(|t| t.numel()).sum::<usize>(),
                "preprocess": pre,
                "reads": "pixels",
                "lora_targets": spec.lora_targets,
            });
            println!("{v}");
        } else {
            let params: usize = vs.variables().values().map(|t| t.numel()).sum();
            println!("{}  ({})", spec.name, spec.summary);
            println!(
                "  input {}x{}x{}, {:.2} M parameters without head",
                spec.input.0,
                spec.input.1,
                spec.input.2,
                params as f64 / 1e6
            );
            let st: Vec<String> = stages
                .iter()
                .map(|s| format!("{}:{}", s.name, s.dim))
                .collect();
            println!("  stages (name:feature dim) {}", st.join(" "));
            println!("  preprocessing {}", describe(&pre));
            if !spec.lora_targets.is_empty() {
                println!("  LoRA targets {}", spec.lora_targets.join(","));
            }
            println!();
        }
    }
    for f in &graft::model_ref::OTHER_FAMILIES {
        let reads = format!("{:?}", f.reads).to_lowercase();
        if args.json {
            println!(
                "{}",
                json!({"name": f.name, "summary": f.summary, "reads": reads})
            );
        } else {
            println!("{}  ({})", f.name, f.summary);
            println!("  reads {reads}");
            println!();
        }
    }
    Ok(())
}

/// One line a person can check against a model card.
pub fn describe(p: &Preprocess) -> String {
    let mut parts = Vec::new();
    if let Some(s) = p.resize_shorter {
        parts.push(format!("resize shorter side to {s} ({:?})", p.interpolation).to_lowercase());
    }
    if let Some((h, w)) = p.crop {
        parts.push(format!("centre crop {h}x{w}"));
    }
    parts.push(format!("{:?}", p.color).to_lowercase());
    parts.push(match &p.normalization {
        Normalization::MeanStd { mean, std } => format!("(x/255 - {mean:?}) / {std:?}"),
        Normalization::Centered { center, scale } => format!("(x - {center}) / {scale}"),
        Normalization::UnitRange => "x/255".to_string(),
    });
    parts.join(", ")
}
