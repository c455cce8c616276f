//! Extract sentence features with a text model, as a Rust program: a BERT-family encoder
//! folder (config.json, tokenizer.json and weights, as Hugging Face and sentence-transformers
//! save them) run once over labelled texts, pooled as the model's own configuration says.
//!
//!     cargo run --release -p graft --example text_extract -- MODEL_DIR TEXTS.jsonl OUT.safetensors
//!
//! With no arguments it writes a tiny random encoder and a few reviews, so it runs anywhere
//! (the features of a random encoder mean nothing; point it at all-MiniLM-L6-v2 for real ones).

use graft::extract::{extract, Request};
use graft::text_features::TextArgs;
use graft::Observer;
use std::path::PathBuf;

/// Counts the texts as they are encoded.
struct Counter(u64);

impl Observer for Counter {
    fn event(&mut self, e: graft::Event<'_>) {
        if let graft::Event::TaskAdvance(n) = e {
            self.0 += n;
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let work = tempfile::tempdir()?;
    let (model, data, out) = match args.as_slice() {
        [m, d, o] => (PathBuf::from(m), PathBuf::from(d), PathBuf::from(o)),
        _ => {
            let model = work.path().join("tiny-bert");
            graft_nn::models::bert::tiny::write_tiny_model(&model, "bert", "", 0)?;
            let data = work.path().join("reviews.jsonl");
            let reviews = [
                ("great book, love it", "positive"),
                ("excellent film, fun story", "positive"),
                ("terrible book, boring story", "negative"),
                ("the blender broke, worst buy", "negative"),
            ];
            let lines: Vec<String> = reviews
                .iter()
                .map(|(t, l)| serde_json::json!({"text": t, "label": l}).to_string())
                .collect();
            std::fs::write(&data, lines.join("\n"))?;
            (model, data, work.path().join("features.safetensors"))
        }
    };
    let text = TextArgs::default();
    let model_name = model.to_str().expect("a UTF-8 path");
    let mut counter = Counter(0);
    let features = extract(&Request::new(model_name, &data, &text), &mut counter)?.set;
    features.write_safetensors(&out)?;
    println!(
        "{} texts -> {} x {} features ({} pooling, {} tokens at most) in {}",
        counter.0,
        features.n,
        features.d,
        features.metadata["pooling"],
        features.metadata["max_length"],
        out.display()
    );
    Ok(())
}
