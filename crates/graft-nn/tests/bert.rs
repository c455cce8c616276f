//! BERT-family encoders: parity of all-MiniLM-L6-v2 with the outputs of sentence-transformers
//! (golden file in the shared data folder; skipped when it is absent), and the key layouts and
//! configuration errors on small generated models.

use graft_data::npy::{NpyData, NpzFile};
use graft_data::testdata::data_dir_or_skip;
use graft_nn::models::bert::tiny::{tiny_config, write_tiny_model};
use graft_nn::models::bert::{load_text_model, pack_tokens, BertConfig, Pooling, PoolingMode};
use graft_nn::models::Backbone;
use graft_nn::weights::save::save_tensors;
use serde_json::json;
use std::path::Path;
use tch::{Device, Kind, Tensor};

fn array_f32(npz: &mut NpzFile, key: &str) -> (Vec<f32>, Vec<i64>) {
    let a = npz.array(key).unwrap();
    let shape = a.shape.iter().map(|&d| d as i64).collect();
    let v = match a.data {
        NpyData::Float(v) => v.into_iter().map(|x| x as f32).collect(),
        NpyData::Int(v) => v.into_iter().map(|x| x as f32).collect(),
        other => panic!("{key}: {other:?}"),
    };
    (v, shape)
}

fn array_i64(npz: &mut NpzFile, key: &str) -> Vec<i64> {
    match npz.array(key).unwrap().data {
        NpyData::Int(v) => v,
        other => panic!("{key}: not integers: {other:?}"),
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some(dir) = data_dir_or_skip("all_minilm_l6_v2") else {
        return;
    };
    let tm = load_text_model(dir.to_str().unwrap(), None, Device::Cpu, true, None).unwrap();
    assert_eq!(tm.loaded, 103, "every encoder tensor loads");
    assert_eq!(tm.skipped, vec!["embeddings.position_ids".to_string()]);
    assert_eq!(tm.max_length, 256);
    assert_eq!(
        tm.model.pooling(),
        Pooling {
            mode: PoolingMode::Mean,
            normalize: true
        }
    );
    assert_eq!(tm.model.stages().len(), 7);
    assert_eq!(tm.model.stages()[6].name, "encoder.layer.5");

    let mut golden = NpzFile::open(&dir.join("golden/minilm_golden.npz")).unwrap();
    let ids = array_i64(&mut golden, "input_ids");
    let mask = array_i64(&mut golden, "attention_mask");
    let types = array_i64(&mut golden, "token_type_ids");
    let (hidden, hshape) = array_f32(&mut golden, "last_hidden_state");
    let (emb, eshape) = array_f32(&mut golden, "sentence_embeddings");
    let (n, len) = (hshape[0] as usize, hshape[1] as usize);
    let x = pack_tokens(&ids, &mask, &types, n, len).unwrap();
    tch::no_grad(|| {
        let h = tm.model.last_hidden_state(&x).unwrap();
        let dh = max_abs_diff(&h, &Tensor::from_slice(&hidden).view(hshape.as_slice()));
        let e = tm.model.forward_features(&x, None, false).unwrap();
        let de = max_abs_diff(&e, &Tensor::from_slice(&emb).view(eshape.as_slice()));
        println!("max |diff|: hidden states {dh:.2e}, sentence embeddings {de:.2e}");
        assert!(dh < 1e-4, "hidden states differ by {dh}");
        assert!(de < 1e-4, "sentence embeddings differ by {de}");
        // Running the layers in two parts (a frozen prefix, then the rest) gives the same.
        let mid = tm.model.forward_stages(&x, 0, 3, false).unwrap();
        let rest = tm.model.forward_stages(&mid, 4, 6, false).unwrap();
        let e2 = tm.model.pool_stage(&rest, 6).unwrap();
        assert!(max_abs_diff(&e, &e2) < 1e-6);
    });
}

/// A tiny model folder of `model_type` with keys under `prefix`, plus `extra` tensors.
fn write_model(dir: &Path, model_type: &str, prefix: &str, extra: &[(&str, Tensor)]) {
    write_tiny_model(dir, model_type, prefix, 0).unwrap();
    if extra.is_empty() {
        return;
    }
    let path = dir.join("model.safetensors");
    let mut named: Vec<(String, Tensor)> = graft_nn::weights::read(&path)
        .unwrap()
        .tensors
        .into_iter()
        .collect();
    for (k, t) in extra {
        named.push((k.to_string(), t.shallow_clone()));
    }
    save_tensors(&named, &path, &Default::default()).unwrap();
}

#[test]
fn task_checkpoints_load_as_the_bare_encoder() {
    for (model_type, prefix, head) in [
        ("bert", "bert.", "cls.predictions.bias"),
        ("distilbert", "distilbert.", "vocab_projector.bias"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let extra = [(head, Tensor::zeros([44], (Kind::Float, Device::Cpu)))];
        write_model(tmp.path(), model_type, prefix, &extra);
        let tm = load_text_model(
            tmp.path().to_str().unwrap(),
            Some(3),
            Device::Cpu,
            true,
            None,
        )
        .unwrap();
        assert_eq!(tm.skipped, vec![head.to_string()], "{model_type}");
        assert_eq!(tm.model.arch(), model_type);
        assert_eq!(tm.max_length, 20);
        let x = pack_tokens(&[1, 2, 3, 0], &[1, 1, 1, 0], &[0; 4], 2, 2).unwrap();
        let f = tm.model.forward_features(&x, None, false).unwrap();
        assert_eq!(f.size(), [2, 16]);
        let logits = tm.model.forward_head(&f, false).unwrap();
        assert_eq!(logits.size(), [2, 3]);
    }
}

#[test]
fn padding_does_not_change_a_text_s_features() {
    let tmp = tempfile::tempdir().unwrap();
    write_model(tmp.path(), "bert", "", &[]);
    let tm = load_text_model(tmp.path().to_str().unwrap(), None, Device::Cpu, true, None).unwrap();
    let short = pack_tokens(&[5, 6, 7], &[1, 1, 1], &[0; 3], 1, 3).unwrap();
    let padded = pack_tokens(&[5, 6, 7, 0, 0], &[1, 1, 1, 0, 0], &[0; 5], 1, 5).unwrap();
    let a = tm.model.forward_features(&short, None, false).unwrap();
    let b = tm.model.forward_features(&padded, None, false).unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-5);
}

#[test]
fn bad_inputs_and_configs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_model(tmp.path(), "bert", "", &[]);
    let tm = load_text_model(tmp.path().to_str().unwrap(), None, Device::Cpu, true, None).unwrap();
    let out_of_vocab = pack_tokens(&[5, 99], &[1, 1], &[0, 0], 1, 2).unwrap();
    let e = tm
        .model
        .forward_features(&out_of_vocab, None, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside its vocabulary of 44"), "{e}");
    let too_long = pack_tokens(&[1; 21], &[1; 21], &[0; 21], 1, 21).unwrap();
    let e = tm
        .model
        .forward_features(&too_long, None, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("21 tokens exceed its 20 positions"), "{e}");
    let floats = Tensor::zeros([1, 3, 4], (Kind::Float, Device::Cpu));
    let e = tm
        .model
        .forward_features(&floats, None, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected int64 tokens"), "{e}");

    let path = tmp.path().join("config.json");
    let mut cfg = tiny_config("bert", 50);
    cfg["num_attention_heads"] = json!(5);
    let e = BertConfig::from_json(&cfg, &path).unwrap_err().to_string();
    assert!(
        e.contains("config.json") && e.contains("not divisible by the 5"),
        "{e}"
    );
    let mut cfg = tiny_config("bert", 50);
    cfg["model_type"] = json!("gpt2");
    let e = BertConfig::from_json(&cfg, &path).unwrap_err().to_string();
    assert!(e.contains("model_type `gpt2`"), "{e}");
    let mut cfg = tiny_config("bert", 50);
    cfg.as_object_mut().unwrap().remove("hidden_size");
    let e = BertConfig::from_json(&cfg, &path).unwrap_err().to_string();
    assert!(e.contains("field `hidden_size` is missing"), "{e}");

    let no_tok = tempfile::tempdir().unwrap();
    write_model(no_tok.path(), "bert", "", &[]);
    std::fs::remove_file(no_tok.path().join("tokenizer.json")).unwrap();
    let e = load_text_model(
        no_tok.path().to_str().unwrap(),
        None,
        Device::Cpu,
        true,
        None,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("no tokenizer.json"), "{e}");
}

#[test]
fn merged_lora_weights_give_the_adapted_model() {
    use graft_nn::models::lora::{merged_tensors, LoraSpec};
    let tmp = tempfile::tempdir().unwrap();
    write_model(tmp.path(), "bert", "", &[]);
    let spec = LoraSpec {
        alpha: 16.0,
        ..LoraSpec::new(4)
    };
    let tm = load_text_model(
        tmp.path().to_str().unwrap(),
        Some(2),
        Device::Cpu,
        true,
        Some(&spec),
    )
    .unwrap();
    // B starts at zero (the adapted model starts as the base model); give it values.
    let x = pack_tokens(&[5, 6, 7, 8, 9, 10], &[1, 1, 1, 1, 1, 0], &[0; 6], 2, 3).unwrap();
    let before = tm.model.forward_features(&x, None, false).unwrap();
    tch::no_grad(|| {
        for (k, mut t) in tm.vs.variables() {
            if k.contains("lora_B") {
                t.copy_(&(Tensor::randn_like(&t) * 0.1));
            }
        }
    });
    let adapted = tm.model.forward_features(&x, None, false).unwrap();
    assert!(
        max_abs_diff(&before, &adapted) > 1e-3,
        "the adapters change the output"
    );

    let merged = merged_tensors(&tm.vs, &spec).unwrap();
    assert!(merged.iter().all(|(k, _)| !k.contains("lora_")));
    let plain = tempfile::tempdir().unwrap();
    write_model(plain.path(), "bert", "", &[]);
    save_tensors(
        &merged,
        &plain.path().join("model.safetensors"),
        &Default::default(),
    )
    .unwrap();
    let tm2 = load_text_model(
        plain.path().to_str().unwrap(),
        Some(2),
        Device::Cpu,
        false,
        None,
    )
    .unwrap();
    let again = tm2.model.forward_features(&x, None, false).unwrap();
    assert!(max_abs_diff(&adapted, &again) < 1e-5);
}
