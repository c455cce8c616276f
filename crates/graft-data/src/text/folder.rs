//! Directory layouts: one subfolder per class holding `.txt` files, one text per file, as
//! scikit-learn's `load_files` reads them (classes and files in sorted order, so the same
//! folder always gives the same indices); or a folder of Blitzer `*.review` files.

use super::dataset::{keep_text, TextDataset, TextOptions};
use super::review::{is_review_file, open_review_dir};
use super::source::read_utf8;
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

fn is_txt(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// Visible entries of `dir`, split into (subfolders, files), each sorted by name.
fn list_dir(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "list the folder", e))?;
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    for entry in rd {
        let p = entry
            .map_err(|e| DataError::io(dir, "list the folder", e))?
            .path();
        if is_hidden(&p) {
            continue;
        }
        if p.is_dir() {
            dirs.push(p);
        } else {
            files.push(p);
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

pub(crate) fn open_dir(dir: &Path, opts: &TextOptions) -> Result<TextDataset> {
    let (class_dirs, files) = list_dir(dir)?;
    if !class_dirs.is_empty() {
        return open_class_folders(dir, &class_dirs, opts);
    }
    let reviews: Vec<PathBuf> = files.into_iter().filter(|f| is_review_file(f)).collect();
    if !reviews.is_empty() {
        return open_review_dir(dir, &reviews, opts);
    }
    Err(DataError::dataset(
        dir,
        "no class subfolders and no .review files; expected one subfolder per class holding \
         .txt files, or Blitzer *.review files",
    ))
}

fn open_class_folders(
    dir: &Path,
    class_dirs: &[PathBuf],
    opts: &TextOptions,
) -> Result<TextDataset> {
    let labelled = opts.label_column.is_some();
    let mut class_names = Vec::new();
    let (mut texts, mut labels, mut skipped) = (Vec::new(), Vec::new(), 0);
    for (class, class_dir) in class_dirs.iter().enumerate() {
        let name = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (_, files) = list_dir(class_dir)?;
        let files: Vec<PathBuf> = files.into_iter().filter(|f| is_txt(f)).collect();
        if files.is_empty() {
            return Err(DataError::dataset(
                class_dir,
                format!("class folder '{name}' holds no .txt files; expected one file per text"),
            ));
        }
        for file in &files {
            let content = read_utf8(file)?;
            let text = content.trim();
            if keep_text(text, file, 1, "the file", opts, &mut skipped)? {
                texts.push(text.to_string());
                labels.push(if labelled { class as i64 } else { -1 });
            }
        }
        class_names.push(name);
    }
    if !labelled {
        class_names.clear();
    }
    TextDataset::build(dir, texts, labels, class_names, skipped)
}
