//! What a finished training run leaves beside its model: LoRA adapters as PEFT saves them,
//! and for text models the model folder's own files, so the run is itself a model folder.

use anyhow::Context;
use graft_nn::models::lora::LoraSpec;
use std::collections::BTreeMap;
use std::path::Path;

/// Writes the adapters as PEFT saves them (`adapter_model.safetensors` and
/// `adapter_config.json`), so `PeftModel.from_pretrained(base, dir)` loads them.
pub fn save_adapter(
    vs: &tch::nn::VarStore,
    spec: &LoraSpec,
    base_model: &str,
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tensors = graft_nn::models::lora::peft_tensors(vs);
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    graft_nn::weights::save::save_tensors(&tensors, &dir.join("adapter_model.safetensors"), &meta)?;
    let config = graft_nn::models::lora::peft_config(spec, base_model);
    graft_data::atomic::write_atomic_bytes(
        &dir.join("adapter_config.json"),
        serde_json::to_string_pretty(&config)?.as_bytes(),
    )?;
    Ok(())
}

/// Files of a text model folder besides its weights: configuration, tokenizer and the
/// sentence-transformers pooling files.
const MODEL_FOLDER_FILES: &[&str] = &[
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
];

/// Copies the model folder's own files next to the run's `model.safetensors`, so that a
/// fine-tuned text run is itself a model folder: `graft extract --model RUN`, Transformers'
/// `AutoModel.from_pretrained(RUN)` and sentence-transformers open it as they open the original.
pub fn copy_model_folder_files(from: &Path, run: &Path) -> anyhow::Result<()> {
    for name in MODEL_FOLDER_FILES {
        let src = from.join(name);
        if !src.is_file() {
            continue;
        }
        let dst = run.join(name);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let bytes = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
        graft_data::atomic::write_atomic_bytes(&dst, &bytes)?;
    }
    Ok(())
}
