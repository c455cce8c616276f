//! Numeric tables in CSV with a header row: every column a feature except one label column.
//! The label column is the one named `label` or `y` (any case) unless told otherwise, else the
//! last column; labels may be integers or names.

use crate::arrays::{labels_to_classes, ArrayDataset, RawLabels};
use crate::error::{DataError, Result};
use std::path::Path;

/// Which column holds the labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableLabel<'a> {
    /// `label` or `y` (case-insensitive), else the last column.
    Auto,
    /// This column (exact header name).
    Column(&'a str),
    /// No labels: every column is a feature (unlabelled target data).
    None,
}

/// Reads a table; `label_column` names the label column, `None` picks it automatically
/// ([`TableLabel::Auto`]).
pub fn read_csv_table(path: &Path, label_column: Option<&str>) -> Result<ArrayDataset> {
    read_csv_table_with(
        path,
        label_column.map_or(TableLabel::Auto, TableLabel::Column),
    )
}

/// [`read_csv_table`] with an explicit label choice.
pub fn read_csv_table_with(path: &Path, label: TableLabel<'_>) -> Result<ArrayDataset> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| DataError::parse(path, 1, format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    if header.is_empty() || header.iter().all(|h| h.is_empty()) {
        return Err(DataError::parse(
            path,
            1,
            "empty header; expected column names",
        ));
    }
    let label_col = match label {
        TableLabel::None => None,
        TableLabel::Column(name) => {
            Some(header.iter().position(|h| h == name).ok_or_else(|| {
                DataError::parse(
                    path,
                    1,
                    format!("no column named '{name}' (columns: {})", header.join(", ")),
                )
            })?)
        }
        TableLabel::Auto => Some(
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case("label") || h.eq_ignore_ascii_case("y"))
                .unwrap_or(header.len() - 1),
        ),
    };
    let d = header.len() - usize::from(label_col.is_some());
    if d == 0 {
        return Err(DataError::parse(
            path,
            1,
            "no feature columns besides the label column",
        ));
    }
    let mut x = Vec::new();
    let mut raw_labels = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            DataError::parse(path, line, format!("malformed CSV row: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        if rec.len() != header.len() {
            return Err(DataError::parse(
                path,
                line,
                format!(
                    "expected {} columns as in the header, found {}",
                    header.len(),
                    rec.len()
                ),
            ));
        }
        for (j, cell) in rec.iter().enumerate() {
            if Some(j) == label_col {
                if cell.is_empty() {
                    return Err(DataError::parse(
                        path,
                        line,
                        format!("column '{}': empty label", header[j]),
                    ));
                }
                raw_labels.push(cell.to_string());
                continue;
            }
            let v: f64 = cell.parse().map_err(|_| {
                DataError::parse(
                    path,
                    line,
                    format!(
                        "column '{}': {} is not a number",
                        header[j],
                        if cell.is_empty() {
                            "empty cell".to_string()
                        } else {
                            format!("'{cell}'")
                        }
                    ),
                )
            })?;
            x.push(v);
        }
    }
    let n = x.len() / d;
    if n == 0 {
        return Err(DataError::dataset(
            path,
            "the table has a header but no rows",
        ));
    }
    let (y, class_names) = match label_col {
        None => (None, None),
        Some(_) => {
            let numeric: Option<Vec<f64>> =
                raw_labels.iter().map(|l| l.parse::<f64>().ok()).collect();
            let raw = match numeric {
                Some(v) if v.iter().all(|l| l.is_finite() && l.fract() == 0.0) => {
                    RawLabels::Ints(v.iter().map(|&l| l as i64).collect())
                }
                Some(v) => {
                    let i = v
                        .iter()
                        .position(|l| l.fract() != 0.0 || !l.is_finite())
                        .unwrap_or(0);
                    return Err(DataError::format(
                        path,
                        format!(
                            "label '{}' of data row {} is not an integer class label (regression targets are not supported)",
                            raw_labels[i],
                            i + 1
                        ),
                    ));
                }
                None => RawLabels::Strings(raw_labels),
            };
            let (y, names) = labels_to_classes(raw);
            (Some(y), names)
        }
    };
    Ok(ArrayDataset {
        x,
        n,
        sample_shape: vec![d],
        y,
        class_names,
        source: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, label: TableLabel<'_>) -> Result<ArrayDataset> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        read_csv_table_with(&p, label)
    }

    #[test]
    fn label_column_choice() {
        let a = read("a,Label,b\n1,2,3\n4,0,6\n", TableLabel::Auto).unwrap();
        assert_eq!(
            (a.x.clone(), a.y.clone()),
            (vec![1.0, 3.0, 4.0, 6.0], Some(vec![2, 0]))
        );
        let a = read("a,b,c\n1,2,cat\n4,5,dog\n", TableLabel::Auto).unwrap();
        assert_eq!(a.x, vec![1.0, 2.0, 4.0, 5.0]);
        assert_eq!(
            (a.y, a.class_names),
            (Some(vec![0, 1]), Some(vec!["cat".into(), "dog".into()]))
        );
        let a = read("a,b,c\n1,2,3\n", TableLabel::Column("a")).unwrap();
        assert_eq!((a.x, a.y), (vec![2.0, 3.0], Some(vec![1])));
        let a = read("a,b\n1,2\n", TableLabel::None).unwrap();
        assert_eq!((a.dim(), a.y), (2, None));
        let a = read("f,y\n1e-3,-1\nnan,1\n", TableLabel::Auto).unwrap();
        assert!(a.x[1].is_nan());
        assert_eq!(a.y, Some(vec![0, 1]));
    }

    #[test]
    fn bad_cells_name_line_and_column() {
        let e = read("a,b,label\n1,2,0\n3,x,1\n", TableLabel::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:3") && e.contains("column 'b'") && e.contains("'x' is not a number"),
            "{e}"
        );
        let e = read("a,b,label\n1,,0\n", TableLabel::Auto)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:2") && e.contains("empty cell"), "{e}");
        let e = read("a,b,label\n1,2\n", TableLabel::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:2") && e.contains("expected 3 columns"),
            "{e}"
        );
        let e = read("a,b\n1,2\n", TableLabel::Column("z"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column named 'z'") && e.contains("a, b"),
            "{e}"
        );
        let e = read("a,label\n1,0.5\n", TableLabel::Auto)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'0.5'") && e.contains("not an integer"), "{e}");
        let e = read("label\n1\n", TableLabel::Auto)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no feature columns"), "{e}");
        let e = read("a,label\n", TableLabel::Auto).unwrap_err().to_string();
        assert!(e.contains("no rows"), "{e}");
    }
}
