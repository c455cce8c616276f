//! Class indices from the labels written in a file. Names are sorted, as scikit-learn's
//! `LabelEncoder` does, so index 1 means the same class in graft and in a Python pipeline;
//! integers are already class indices and keep their value.

use crate::arrays::{labels_to_classes, RawLabels};
use crate::error::{DataError, Result};
use std::path::Path;

/// Largest accepted integer label: class names are materialised for `0..=max`, so a stray
/// huge value must not allocate millions of them.
pub(crate) const MAX_CLASS_INDEX: i64 = (1 << 20) - 1;

/// One label as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawLabel {
    Index(i64),
    Name(String),
}

impl RawLabel {
    fn kind(&self) -> &'static str {
        match self {
            RawLabel::Index(_) => "an integer",
            RawLabel::Name(_) => "a string",
        }
    }
}

/// Labels of a file in row order, checked for one kind (all integers or all names) as they
/// arrive, so a mix is reported at the first row that breaks it.
#[derive(Default)]
pub(crate) struct LabelColumn {
    labels: Vec<RawLabel>,
    /// Kind of the first label and its line.
    first: Option<(&'static str, usize)>,
}

impl LabelColumn {
    pub(crate) fn push(&mut self, path: &Path, line: usize, label: RawLabel) -> Result<()> {
        if let RawLabel::Index(i) = label {
            if !(0..=MAX_CLASS_INDEX).contains(&i) {
                return Err(DataError::parse(
                    path,
                    line,
                    format!(
                        "label {i} is not a class index; expected an integer in \
                         0..={MAX_CLASS_INDEX} or a class name"
                    ),
                ));
            }
        }
        match self.first {
            None => self.first = Some((label.kind(), line)),
            Some((kind, first_line)) if kind != label.kind() => {
                return Err(DataError::parse(
                    path,
                    line,
                    format!(
                        "label is {} but the label on line {first_line} is {kind}; expected \
                         all labels to be class names or all to be class indices",
                        label.kind()
                    ),
                ));
            }
            Some(_) => {}
        }
        self.labels.push(label);
        Ok(())
    }

    /// (class index per row, class names). Names become indices as every other reader of
    /// graft maps them ([`labels_to_classes`]); integers keep their value.
    pub(crate) fn into_classes(self) -> (Vec<i64>, Vec<String>) {
        let mut indices = Vec::new();
        let mut names = Vec::new();
        for l in self.labels {
            match l {
                RawLabel::Index(i) => indices.push(i),
                RawLabel::Name(n) => names.push(n),
            }
        }
        // `push` allows one kind per file, so at most one of the two lists is filled.
        if names.is_empty() {
            let classes = indices
                .iter()
                .max()
                .map_or(Vec::new(), |&m| (0..=m).map(|i| i.to_string()).collect());
            (indices, classes)
        } else {
            let (y, classes) = labels_to_classes(RawLabels::Strings(names));
            (y, classes.unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(labels: &[RawLabel]) -> Result<(Vec<i64>, Vec<String>)> {
        let mut c = LabelColumn::default();
        for (i, l) in labels.iter().enumerate() {
            c.push(Path::new("f.jsonl"), i + 1, l.clone())?;
        }
        Ok(c.into_classes())
    }

    #[test]
    fn names_are_sorted_like_label_encoder() {
        let n = |s: &str| RawLabel::Name(s.to_string());
        let (y, names) = column(&[n("pos"), n("neg"), n("neutral"), n("neg")]).unwrap();
        assert_eq!(names, ["neg", "neutral", "pos"]);
        assert_eq!(y, [2, 0, 1, 0]);
    }

    #[test]
    fn integers_keep_their_value() {
        let (y, names) = column(&[RawLabel::Index(2), RawLabel::Index(0)]).unwrap();
        assert_eq!(y, [2, 0]);
        assert_eq!(names, ["0", "1", "2"]);
    }

    #[test]
    fn mixed_or_negative_labels_are_refused() {
        let err = column(&[RawLabel::Index(1), RawLabel::Name("a".into())]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("f.jsonl:2:"), "{msg}");
        assert!(msg.contains("line 1 is an integer"), "{msg}");
        let msg = column(&[RawLabel::Index(-1)]).unwrap_err().to_string();
        assert!(msg.contains("label -1 is not a class index"), "{msg}");
    }
}
