//! svmlight / libsvm text files (`label [qid:q] index:value ...`), read with scikit-learn's
//! `load_svmlight_file` rules: `#` starts a comment, `qid` is ignored, indices must increase
//! within a line, and indices are one-based unless some index is 0 (`zero_based="auto"`).
//! graft keeps dense matrices, so the data is densified.

use crate::arrays::{labels_to_classes, ArrayDataset, RawLabels};
use crate::error::{DataError, Result};
use std::path::Path;

/// Largest dense matrix accepted (values), 16 GiB of f64: beyond it the data is too sparse for
/// graft's dense methods anyway.
const MAX_DENSE: usize = 1 << 31;

/// Reads `path`. `n_features` fixes the width (an error if the file uses more); otherwise it is
/// the largest index + 1.
pub fn read_svmlight(path: &Path, n_features: Option<usize>) -> Result<ArrayDataset> {
    let text = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    let text = String::from_utf8_lossy(&text);
    let mut labels = Vec::new();
    let mut rows: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut lines_of_rows = Vec::new();
    let mut min_index = usize::MAX;
    for (ln, line) in text.lines().enumerate() {
        let line_no = ln + 1;
        let content = line.split('#').next().unwrap_or("");
        let mut tokens = content.split_whitespace();
        let Some(label) = tokens.next() else {
            continue;
        };
        let err = |m: String| DataError::parse(path, line_no, m);
        let y: f64 = label
            .parse()
            .map_err(|_| err(format!("label '{label}' is not a number")))?;
        if !(y.is_finite() && y.fract() == 0.0) {
            return Err(err(format!("label {label} is not an integer class label")));
        }
        let mut feats = Vec::new();
        let mut prev: Option<usize> = None;
        for tok in tokens {
            let Some((k, v)) = tok.split_once(':') else {
                return Err(err(format!("'{tok}' is not index:value")));
            };
            if k == "qid" {
                continue;
            }
            let idx: usize = k
                .parse()
                .map_err(|_| err(format!("feature index '{k}' is not a non-negative integer")))?;
            let val: f64 = v
                .parse()
                .map_err(|_| err(format!("value '{v}' of feature {k} is not a number")))?;
            if prev.is_some_and(|p| idx <= p) {
                return Err(err(format!(
                    "feature indices must be sorted and unique; {idx} follows {}",
                    prev.unwrap_or(0)
                )));
            }
            prev = Some(idx);
            min_index = min_index.min(idx);
            feats.push((idx, val));
        }
        labels.push(y as i64);
        rows.push(feats);
        lines_of_rows.push(line_no);
    }
    if rows.is_empty() {
        return Err(DataError::format(
            path,
            "no samples (empty file or only comments)",
        ));
    }
    // scikit-learn's zero_based="auto": one-based unless some index is 0.
    let shift = usize::from(min_index != usize::MAX && min_index > 0);
    let used = rows
        .iter()
        .flat_map(|r| r.last())
        .map(|&(i, _)| i - shift + 1)
        .max()
        .unwrap_or(0);
    let d = match n_features {
        Some(nf) if nf < used => {
            return Err(DataError::format(
                path,
                format!("n_features was set to {nf}, but the file uses {used} features"),
            ));
        }
        Some(nf) => nf,
        None => used,
    };
    let n = rows.len();
    if n.saturating_mul(d) > MAX_DENSE {
        return Err(DataError::format(
            path,
            format!("{n} samples x {d} features is too large for a dense matrix"),
        ));
    }
    let mut x = vec![0f64; n * d];
    for (i, r) in rows.iter().enumerate() {
        for &(j, v) in r {
            x[i * d + j - shift] = v;
        }
    }
    let (y, class_names) = labels_to_classes(RawLabels::Ints(labels));
    Ok(ArrayDataset {
        x,
        n,
        sample_shape: vec![d],
        y: Some(y),
        class_names,
        source: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, nf: Option<usize>) -> Result<ArrayDataset> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.svm");
        std::fs::write(&p, text).unwrap();
        read_svmlight(&p, nf)
    }

    #[test]
    fn one_based_by_default_with_comments_and_qid() {
        let a = read(
            "# header comment\n1 qid:3 1:0.5 3:2 # trailing\n\n0 2:-1\n",
            None,
        )
        .unwrap();
        assert_eq!((a.n, a.dim()), (2, 3));
        assert_eq!(a.x, vec![0.5, 0.0, 2.0, 0.0, -1.0, 0.0]);
        assert_eq!(a.y, Some(vec![1, 0]));
        assert!(a.class_names.is_none());
    }

    #[test]
    fn zero_based_when_an_index_is_zero_and_renumbered_signs() {
        let a = read("-1 0:1 2:3\n+1 1:2\n", Some(5)).unwrap();
        assert_eq!(a.dim(), 5);
        assert_eq!(a.row(0), &[1.0, 0.0, 3.0, 0.0, 0.0]);
        assert_eq!(a.y, Some(vec![0, 1]));
        assert_eq!(a.class_names, Some(vec!["-1".to_string(), "1".to_string()]));
    }

    #[test]
    fn errors_have_line_numbers() {
        let e = read("1 1:2\nabc 1:2\n", None).unwrap_err().to_string();
        assert!(e.contains("d.svm:2") && e.contains("label 'abc'"), "{e}");
        let e = read("1 1:2\n0.5 1:2\n", None).unwrap_err().to_string();
        assert!(e.contains(":2") && e.contains("not an integer"), "{e}");
        let e = read("1 3:2 2:1\n", None).unwrap_err().to_string();
        assert!(e.contains(":1") && e.contains("sorted and unique"), "{e}");
        let e = read("1 3:x\n", None).unwrap_err().to_string();
        assert!(e.contains("value 'x' of feature 3"), "{e}");
        let e = read("1 3\n", None).unwrap_err().to_string();
        assert!(e.contains("'3' is not index:value"), "{e}");
        let e = read("1 -3:1\n", None).unwrap_err().to_string();
        assert!(e.contains("feature index '-3'"), "{e}");
        let e = read("1 7:1\n", Some(4)).unwrap_err().to_string();
        assert!(
            e.contains("n_features was set to 4") && e.contains("uses 7"),
            "{e}"
        );
        let e = read("# nothing\n", None).unwrap_err().to_string();
        assert!(e.contains("no samples"), "{e}");
    }
}
