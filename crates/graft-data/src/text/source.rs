//! Raw text files as UTF-8, with the line of the first bad byte in the error: a corrupt byte in
//! a 100 MB corpus is only fixable when the message says where it is.

use crate::error::{DataError, Result};
use std::path::Path;

/// The contents of `path` as UTF-8, without a leading byte-order mark. Invalid UTF-8 is a
/// [`DataError::Parse`] on the (1-based) line holding the first invalid byte.
pub(crate) fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..valid];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        DataError::parse(
            path,
            line,
            format!(
                "invalid UTF-8 at byte {} of the line; expected UTF-8 text",
                valid - line_start + 1
            ),
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// 1-based line numbers of byte offsets visited in increasing order, counted incrementally so
/// that a file with many records is scanned once.
pub(crate) struct LineCounter<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// Line of byte `offset`; offsets must not decrease between calls.
    pub(crate) fn line_at(&mut self, offset: usize) -> usize {
        let end = offset.min(self.text.len()).max(self.pos);
        self.line += self.text.as_bytes()[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = end;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_reports_its_line_and_byte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.txt");
        std::fs::write(&p, b"ok\nfine\nab\xffc\nlast\n").unwrap();
        let msg = read_utf8(&p).unwrap_err().to_string();
        assert!(msg.contains("bad.txt:3:"), "{msg}");
        assert!(msg.contains("byte 3 of the line"), "{msg}");
    }

    #[test]
    fn bom_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bom.txt");
        std::fs::write(&p, "\u{feff}hello").unwrap();
        assert_eq!(read_utf8(&p).unwrap(), "hello");
    }

    #[test]
    fn line_counter_counts_newlines_before_offsets() {
        let text = "a\nbb\n\nccc";
        let mut lc = LineCounter::new(text);
        assert_eq!(lc.line_at(0), 1);
        assert_eq!(lc.line_at(2), 2);
        assert_eq!(lc.line_at(5), 3);
        assert_eq!(lc.line_at(6), 4);
        assert_eq!(lc.line_at(100), 4);
    }
}
