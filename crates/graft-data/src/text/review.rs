//! The multi-domain sentiment review files of Blitzer, Dredze & Pereira, "Biographies,
//! Bollywood, Boom-boxes and Blenders" (ACL 2007): `positive.review`, `negative.review`,
//! `unlabeled.review` per product domain. They are pseudo-XML (`<review>` blocks of tagged
//! fields) but not well-formed (bare `&` and `<` inside the text), so blocks and fields are
//! found by their literal tags and nothing is decoded: `&quot;` stays as written.

use super::dataset::{keep_text, TextDataset, TextOptions};
use super::source::{read_utf8, LineCounter};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

const OPEN: &str = "<review>";
const CLOSE: &str = "</review>";

/// File stems that mean "no label".
const UNLABELLED_STEMS: &[&str] = &["unlabeled", "unlabelled"];

/// Trimmed contents of `<tag>...</tag>` inside `block`, if the tag is there.
fn field<'a>(block: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = block.find(&open)? + open.len();
    let end = block[start..].find(&close)? + start;
    Some(block[start..end].trim())
}

/// (line of `<review>`, text) per review: the title and the review text joined by ". ", since
/// a title ("Broke after two days") often carries the sentiment more plainly than the body.
pub(crate) fn parse_reviews(path: &Path, content: &str) -> Result<Vec<(usize, String)>> {
    let mut out = Vec::new();
    let mut lines = LineCounter::new(content);
    let mut pos = 0;
    while let Some(found) = content[pos..].find(OPEN) {
        let start = pos + found;
        let line = lines.line_at(start);
        let body_start = start + OPEN.len();
        let end = content[body_start..].find(CLOSE).map(|e| e + body_start);
        let next_open = content[body_start..].find(OPEN).map(|e| e + body_start);
        let end = match (end, next_open) {
            (Some(end), Some(next)) if next < end => None,
            (end, _) => end,
        };
        let Some(end) = end else {
            return Err(DataError::parse(
                path,
                line,
                format!("<review> is not closed; expected {CLOSE} before the next <review>"),
            ));
        };
        let block = &content[body_start..end];
        let Some(body) = field(block, "review_text") else {
            return Err(DataError::parse(
                path,
                line,
                "review without <review_text>...</review_text>; expected one in every <review>",
            ));
        };
        let text = match field(block, "title") {
            Some(title) if !title.is_empty() && !body.is_empty() => format!("{title}. {body}"),
            Some(title) if !title.is_empty() => title.to_string(),
            _ => body.to_string(),
        };
        out.push((line, text));
        pos = end + CLOSE.len();
    }
    Ok(out)
}

/// Class of a review file: its stem, or `None` for unlabelled files.
fn class_of(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    (!UNLABELLED_STEMS
        .iter()
        .any(|u| stem.eq_ignore_ascii_case(u)))
    .then(|| stem.to_string())
}

/// Reads review files in the given order; classes are the sorted stems of the labelled ones.
fn read_review_files(source: &Path, files: &[PathBuf], opts: &TextOptions) -> Result<TextDataset> {
    let labelled = opts.label_column.is_some();
    let mut class_names: Vec<String> = if labelled {
        files.iter().filter_map(|f| class_of(f)).collect()
    } else {
        Vec::new()
    };
    class_names.sort();
    class_names.dedup();
    let (mut texts, mut labels, mut skipped) = (Vec::new(), Vec::new(), 0);
    for file in files {
        let label = class_of(file)
            .and_then(|c| class_names.binary_search(&c).ok())
            .map_or(-1, |i| i as i64);
        let content = read_utf8(file)?;
        for (line, text) in parse_reviews(file, &content)? {
            if keep_text(&text, file, line, "review", opts, &mut skipped)? {
                texts.push(text);
                labels.push(label);
            }
        }
    }
    TextDataset::build(source, texts, labels, class_names, skipped)
}

/// One `.review` file: labelled by its stem unless that is `unlabeled`.
pub(crate) fn open_review_file(path: &Path, opts: &TextOptions) -> Result<TextDataset> {
    read_review_files(path, &[path.to_path_buf()], opts)
}

/// A domain folder of `*.review` files, read in sorted file-name order.
pub(crate) fn open_review_dir(
    dir: &Path,
    files: &[PathBuf],
    opts: &TextOptions,
) -> Result<TextDataset> {
    let mut files = files.to_vec();
    files.sort();
    read_review_files(dir, &files, opts)
}

/// Whether `path` has the `.review` extension (any case).
pub(crate) fn is_review_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("review"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_by_tags_in_malformed_xml() {
        let content = "<reviews>\n<review>\n<title>\n Great & cheap <3 \n</title>\n\
                       <review_text>\nWorks. a<b &quot;ok&quot;\n\n</review_text>\n</review>\n\
                       <review><review_text>only body</review_text></review>\n";
        let r = parse_reviews(Path::new("x.review"), content).unwrap();
        assert_eq!(
            r,
            [
                (2, "Great & cheap <3. Works. a<b &quot;ok&quot;".to_string()),
                (11, "only body".to_string())
            ]
        );
    }

    #[test]
    fn unclosed_or_bodyless_reviews_are_errors_with_lines() {
        let content = "<review><review_text>a</review_text>\n\n<review>\n</review>";
        let msg = parse_reviews(Path::new("d.review"), content)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("d.review:1:"), "{msg}");
        assert!(msg.contains("not closed"), "{msg}");
        let content =
            "<review><review_text>a</review_text></review>\n\n<review>\n<title>t</title></review>";
        let msg = parse_reviews(Path::new("d.review"), content)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("d.review:3:"), "{msg}");
        assert!(msg.contains("<review_text>"), "{msg}");
    }
}
