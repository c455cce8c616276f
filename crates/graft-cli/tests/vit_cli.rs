//! A Vision Transformer through the commands a user runs on it: extraction at an intermediate
//! block, probing, ranking, partial fine-tuning with layer-wise decay, LoRA, evaluation, prediction
//! and adaptation, from a timm-layout weights file (ViT-Ti/16, random weights: the point is the
//! plumbing; numerical parity with timm is crates/graft-nn/tests/vit.rs).

mod common;

use common::{graft, s, stderr, summary};
use graft_nn::weights::save::save_safetensors;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MODEL: &str = "vit_tiny_patch16_224";

/// Two classes of small PNGs: a red or a blue ramp.
fn image_folder(root: &Path) -> PathBuf {
    let dir = root.join("images");
    for (k, c) in ["red", "blue"].iter().enumerate() {
        std::fs::create_dir_all(dir.join(c)).unwrap();
        for i in 0..4u32 {
            let img = image::RgbImage::from_fn(48, 40, |x, y| {
                let v = ((x * 4 + y * 3 + i * 11) % 120) as u8;
                if k == 0 {
                    image::Rgb([130 + v, v / 2, 20])
                } else {
                    image::Rgb([20, v / 2, 130 + v])
                }
            });
            img.save(dir.join(c).join(format!("{i}.png"))).unwrap();
        }
    }
    dir
}

/// The model's weights under timm's key names, as a timm user's `save_file(model.state_dict())`.
fn timm_weights(dir: &Path) -> PathBuf {
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    graft_nn::models::find(MODEL)
        .unwrap()
        .build_checked(&vs.root(), Some(1000))
        .unwrap();
    let p = dir.join("vit_tiny.safetensors");
    save_safetensors(&vs, &p, &BTreeMap::new()).unwrap();
    p
}

#[test]
fn a_vit_runs_through_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let data = image_folder(tmp.path());
    let weights = timm_weights(tmp.path());
    let (data, weights) = (s(&data), s(&weights));
    let threads = ["--threads", "2", "--json"];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&threads);
        summary(&graft(&all))
    };

    let feats = tmp.path().join("f.safetensors");
    let e = run(&[
        "extract",
        "--model",
        MODEL,
        "--weights",
        weights,
        "--data",
        data,
        "--stage",
        "blocks.5",
        "--out",
        s(&feats),
    ]);
    assert_eq!((e["n"].as_u64(), e["d"].as_u64()), (Some(8), Some(192)));
    assert_eq!(e["stage"], "blocks.5");

    let p = run(&[
        "probe",
        "--model",
        MODEL,
        "--weights",
        weights,
        "--data",
        data,
        "--head",
        "logreg",
    ]);
    assert!(p["accuracy"].as_f64().is_some(), "{p}");

    let r = run(&[
        "rank",
        "--models",
        MODEL,
        "--weights",
        weights,
        "--data",
        data,
    ]);
    assert_eq!(r["candidates"][0]["stage"], "blocks.11", "{r}");

    // Partial fine-tuning: the last two blocks, the final norm and the head train.
    // One epoch from the weights, validated on the training images, into `out`.
    let finetune = |out: &Path, extra: &[&str]| {
        let base = [
            "finetune",
            "--model",
            MODEL,
            "--weights",
            weights,
            "--data",
            data,
            "--val",
            data,
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--out",
            s(out),
        ];
        run(&[&base[..], extra].concat())
    };
    let ft = tmp.path().join("ft");
    let f = finetune(
        &ft,
        &["--freeze-until", "blocks.9", "--layer-decay", "0.75"],
    );
    // A block: qkv, proj, fc1 and fc2 (12 d^2 weights, 9 d biases), two norms (4 d).
    let block = 12 * 192 * 192 + 13 * 192;
    assert_eq!(
        f["trainable_parameters"].as_i64(),
        Some(2 * block + 2 * 192 + (2 * 192 + 2)),
        "{f}"
    );
    let ev = run(&["eval", s(&ft), "--data", data]);
    assert_eq!(ev["n"], 8);
    let out = graft(&["predict", s(&ft), &format!("{data}/red/0.png")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("red/0.png"));

    // LoRA on the fused qkv (the model's default target): only the adapters and the head
    // train, the adapters are saved as PEFT saves them, and the run opens with them.
    let lr = tmp.path().join("lora");
    let l = finetune(&lr, &["--lora", "4"]);
    assert_eq!(l["lora"]["targets"], serde_json::json!(["qkv"]), "{l}");
    // 12 blocks of A (4 x 192) and B (576 x 4), and the head.
    assert_eq!(
        l["trainable_parameters"].as_i64(),
        Some(12 * (4 * 192 + 576 * 4) + 2 * 192 + 2)
    );
    let cfg = std::fs::read_to_string(lr.join("adapter/adapter_config.json")).unwrap();
    assert!(cfg.contains("\"qkv\""), "{cfg}");
    let ev = run(&["eval", s(&lr), "--data", data]);
    assert_eq!(ev["accuracy"], l["val"]["accuracy"], "{ev} {l}");
    let o = graft(&[
        "finetune",
        "--model",
        "resnet18",
        "--data",
        data,
        "--lora",
        "4",
        "--out",
        s(&tmp.path().join("no")),
    ]);
    assert!(
        stderr(&o).contains("takes no LoRA adapters"),
        "{}",
        stderr(&o)
    );

    let ad = tmp.path().join("ad");
    let a = run(&[
        "adapt",
        "--model",
        MODEL,
        "--weights",
        weights,
        "--source",
        data,
        "--target-unlabelled",
        data,
        "--method",
        "dann",
        "--epochs",
        "1",
        "--out",
        s(&ad),
    ]);
    assert_eq!(a["method"], "dann");

    // AdaBN has no statistics to re-estimate in a LayerNorm network: refused before training.
    let o = graft(&[
        "adapt",
        "--model",
        MODEL,
        "--source",
        data,
        "--target-unlabelled",
        data,
        "--adabn",
        "--out",
        s(&tmp.path().join("adabn")),
    ]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("no BatchNorm layers"),
        "{e}"
    );
    assert!(!e.contains("epoch"), "{e}");
}
