//! JSON Lines (jsonlines.org): one object per line, e.g. `{"text": "...", "label": "pos"}`,
//! the format of Hugging Face `datasets`' `to_json` and of most scraped corpora.

use super::dataset::{keep_text, TextDataset, TextOptions};
use super::labels::{LabelColumn, RawLabel};
use super::source::read_utf8;
use crate::error::{DataError, Result};
use serde_json::{Map, Value};
use std::path::Path;

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field<'v>(
    obj: &'v Map<String, Value>,
    name: &str,
    path: &Path,
    line: usize,
) -> Result<&'v Value> {
    obj.get(name).ok_or_else(|| {
        let present: Vec<&str> = obj.keys().map(String::as_str).collect();
        DataError::parse(
            path,
            line,
            format!(
                "no field '{name}' (fields: {}); expected the field '{name}' on every line",
                present.join(", ")
            ),
        )
    })
}

fn label_of(v: &Value, name: &str, path: &Path, line: usize) -> Result<RawLabel> {
    match v {
        Value::String(s) => Ok(RawLabel::Name(s.clone())),
        Value::Number(n) if n.as_i64().is_some() => Ok(RawLabel::Index(n.as_i64().unwrap_or(0))),
        other => Err(DataError::parse(
            path,
            line,
            format!(
                "field '{name}' is {} ({other}); expected a string or an integer label",
                json_kind(other)
            ),
        )),
    }
}

pub(crate) fn open_jsonl(path: &Path, opts: &TextOptions) -> Result<TextDataset> {
    let content = read_utf8(path)?;
    let mut texts = Vec::new();
    let mut labels = LabelColumn::default();
    let mut skipped = 0;
    for (i, raw) in content.split('\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(raw).map_err(|e| {
            // serde_json counts lines within the one line it was given: keep only its column.
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m);
            DataError::parse(
                path,
                line,
                format!(
                    "invalid JSON at column {}: {msg}; expected one JSON object per line",
                    e.column()
                ),
            )
        })?;
        let Value::Object(obj) = value else {
            return Err(DataError::parse(
                path,
                line,
                format!(
                    "the line holds {}; expected a JSON object",
                    json_kind(&value)
                ),
            ));
        };
        let text = match field(&obj, &opts.text_column, path, line)? {
            Value::String(s) => s,
            other => {
                return Err(DataError::parse(
                    path,
                    line,
                    format!(
                        "field '{}' is {}; expected a string",
                        opts.text_column,
                        json_kind(other)
                    ),
                ))
            }
        };
        let what = format!("field '{}'", opts.text_column);
        if !keep_text(text, path, line, &what, opts, &mut skipped)? {
            continue;
        }
        if let Some(name) = &opts.label_column {
            let label = label_of(field(&obj, name, path, line)?, name, path, line)?;
            labels.push(path, line, label)?;
        }
        texts.push(text.clone());
    }
    let (y, names) = if opts.label_column.is_some() {
        labels.into_classes()
    } else {
        (vec![-1; texts.len()], Vec::new())
    };
    TextDataset::build(path, texts, y, names, skipped)
}
