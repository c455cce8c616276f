//! The cheap baseline of a text task: logistic regression on TF-IDF vectors of the texts,
//! the classic way to learn from a few labelled texts with nothing transferred (it takes
//! seconds where a transformer trained from random weights takes minutes, so the budget goes
//! to the transfer strategies). The words are the model's own word pieces, so no second
//! tokenizer is needed. Weighting as scikit-learn's `TfidfVectorizer` defaults: raw counts
//! times the smoothed inverse document frequency `ln((1 + n) / (1 + df)) + 1`, rows scaled to
//! unit length. The vocabulary and the document frequencies are those of the labelled texts.

use super::split::Splits;
use crate::text_data::{read, TextRecipe};
use crate::text_features::TextArgs;
use anyhow::{bail, Context};
use graft_data::npy::{write_npz, NpyOut};
use graft_data::text::TextTokenizer;
use std::collections::BTreeMap;
use std::path::Path;

/// Longest text counted, in word pieces: whole reviews, not the model's window.
const MAX_PIECES: usize = 4096;

/// Texts as word-piece ids, with their labels and class names.
type Pieces = (Vec<Vec<i64>>, Vec<i64>, Vec<String>);

/// TF-IDF files of the splits (and of the test set), for `graft probe`.
pub struct BowFiles {
    pub train: String,
    pub val: String,
    pub all: String,
    pub test: Option<String>,
}

/// Writes `bow-{train,val,all,test}.npz` into `dir` from the JSONL splits and `test`.
pub fn write(
    splits: &Splits,
    test: Option<&str>,
    tokenizer: &Path,
    dir: &Path,
) -> anyhow::Result<BowFiles> {
    let recipe = TextRecipe::new(&TextArgs::default(), MAX_PIECES);
    let tok = TextTokenizer::from_file(tokenizer, MAX_PIECES)
        .with_context(|| format!("reading {}", tokenizer.display()))?;
    let pieces = |spec: &str| -> anyhow::Result<Pieces> {
        let ds = read(spec, &recipe, true)?;
        let texts: Vec<&str> = ds.texts.iter().map(String::as_str).collect();
        let b = tok.encode_batch(&texts)?;
        let docs = (0..b.batch)
            .map(|i| {
                let mask = &b.attention_mask[i * b.len..(i + 1) * b.len];
                b.row(i)
                    .iter()
                    .zip(mask)
                    .filter(|(_, &m)| m == 1)
                    .map(|(&id, _)| id)
                    .collect()
            })
            .collect();
        Ok((docs, ds.labels, ds.class_names))
    };
    let (all_docs, _, classes) = pieces(&splits.all)?;
    // Columns: the word pieces of the labelled texts; their document frequencies.
    let mut df: BTreeMap<i64, usize> = BTreeMap::new();
    for d in &all_docs {
        let mut seen: Vec<i64> = d.clone();
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            *df.entry(id).or_default() += 1;
        }
    }
    let column: BTreeMap<i64, usize> = df.keys().enumerate().map(|(c, &id)| (id, c)).collect();
    let n = all_docs.len() as f64;
    let idf: Vec<f64> = df
        .values()
        .map(|&f| ((1.0 + n) / (1.0 + f as f64)).ln() + 1.0)
        .collect();
    let width = column.len();
    let write_set = |spec: &str, name: &str| -> anyhow::Result<String> {
        let (docs, labels, names) = pieces(spec)?;
        // Classes by name, in the order of the labelled splits.
        let y: Vec<i64> = labels
            .iter()
            .map(|&l| {
                let name = &names[l as usize];
                match classes.iter().position(|c| c == name) {
                    Some(i) => Ok(i as i64),
                    None => bail!("{spec}: class {name} is not among the labelled texts' classes"),
                }
            })
            .collect::<anyhow::Result<_>>()?;
        let mut x = vec![0f32; docs.len() * width];
        for (i, d) in docs.iter().enumerate() {
            let row = &mut x[i * width..(i + 1) * width];
            let mut tf: BTreeMap<usize, f64> = BTreeMap::new();
            for id in d {
                if let Some(&c) = column.get(id) {
                    *tf.entry(c).or_default() += 1.0;
                }
            }
            let norm = tf
                .iter()
                .map(|(&c, &t)| (t * idf[c]).powi(2))
                .sum::<f64>()
                .sqrt();
            for (c, t) in tf {
                row[c] = (t * idf[c] / norm.max(f64::MIN_POSITIVE)) as f32;
            }
        }
        let out = dir.join(format!("bow-{name}.npz"));
        let (shape, n, k) = ([docs.len(), width], [docs.len()], [classes.len()]);
        graft_data::atomic::write_atomic(&out, |w| {
            write_npz(
                w,
                &[
                    ("X", &shape[..], NpyOut::F32(&x)),
                    ("y", &n[..], NpyOut::I64(&y)),
                    ("class_names", &k[..], NpyOut::Str(&classes)),
                ],
            )
        })?;
        Ok(out.display().to_string())
    };
    Ok(BowFiles {
        train: write_set(&splits.train, "train")?,
        val: write_set(&splits.val, "val")?,
        all: write_set(&splits.all, "all")?,
        test: test.map(|t| write_set(t, "test")).transpose()?,
    })
}
