//! CSV and TSV tables with a header row, read as pandas' `read_csv` reads them (RFC 4180
//! quoting, so a quoted text may hold delimiters and newlines). Only the text and label columns
//! are used; any others are ignored.

use super::dataset::{keep_text, TextDataset, TextOptions};
use super::labels::{LabelColumn, RawLabel};
use super::source::read_utf8;
use crate::error::{DataError, Result};
use std::path::Path;

fn column_index(header: &[String], name: &str, path: &Path) -> Result<usize> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        DataError::parse(
            path,
            1,
            format!(
                "no column named '{name}' (columns: {}); expected a header row naming it",
                header.join(", ")
            ),
        )
    })
}

/// The labels of a column: all integers are class indices, otherwise every value is a name
/// (as pandas would read such a column: integers, or else strings).
fn label_column(cells: Vec<(usize, String)>, path: &Path) -> Result<(Vec<i64>, Vec<String>)> {
    let all_ints = cells.iter().all(|(_, c)| c.parse::<i64>().is_ok());
    let mut labels = LabelColumn::default();
    for (line, cell) in cells {
        let label = match cell.parse::<i64>() {
            Ok(i) if all_ints => RawLabel::Index(i),
            _ => RawLabel::Name(cell),
        };
        labels.push(path, line, label)?;
    }
    Ok(labels.into_classes())
}

pub(crate) fn open_delimited(
    path: &Path,
    delimiter: u8,
    opts: &TextOptions,
) -> Result<TextDataset> {
    let content = read_utf8(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(content.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| DataError::parse(path, 1, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let text_col = column_index(&header, &opts.text_column, path)?;
    let label_col = match &opts.label_column {
        Some(name) => Some((column_index(&header, name, path)?, name.as_str())),
        None => None,
    };
    let mut texts = Vec::new();
    let mut cells = Vec::new();
    let mut skipped = 0;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            DataError::parse(path, line, format!("malformed row: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let cell = |col: usize, name: &str| {
            rec.get(col).ok_or_else(|| {
                DataError::parse(
                    path,
                    line,
                    format!(
                        "the row has {} fields; expected column '{name}' (field {})",
                        rec.len(),
                        col + 1
                    ),
                )
            })
        };
        let text = cell(text_col, &opts.text_column)?;
        let what = format!("column '{}'", opts.text_column);
        if !keep_text(text, path, line, &what, opts, &mut skipped)? {
            continue;
        }
        if let Some((col, name)) = label_col {
            let label = cell(col, name)?.trim();
            if label.is_empty() {
                return Err(DataError::parse(
                    path,
                    line,
                    format!("column '{name}' is empty; expected a class name or index"),
                ));
            }
            cells.push((line, label.to_string()));
        }
        texts.push(text.to_string());
    }
    let (y, names) = if label_col.is_some() {
        label_column(cells, path)?
    } else {
        (vec![-1; texts.len()], Vec::new())
    };
    TextDataset::build(path, texts, y, names, skipped)
}
