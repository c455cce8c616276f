//! Image datasets: torchvision's `ImageFolder` layout (one subfolder per class) or a CSV manifest
//! of `path,label` rows. Class indices follow torchvision's rule (sorted class names), so a head
//! trained in graft and one trained with torchvision agree on what label 3 means.

use crate::error::{DataError, Result};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// Label of a sample that has none (a flat folder, a manifest row with an empty label).
/// `UNLABELLED as i64 == -1`, the "no label" value of feature files.
pub const UNLABELLED: usize = usize::MAX;

/// File extensions read as images, compared case-insensitively.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "bmp"];

/// A list of image files with class labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDataset {
    /// The folder or manifest the dataset was read from.
    pub root: PathBuf,
    /// Class names; label `i` means `classes[i]`.
    pub classes: Vec<String>,
    /// (file, label) in a deterministic order: sorted for folders, file order for manifests.
    /// The label is [`UNLABELLED`] for samples without one.
    pub samples: Vec<(PathBuf, usize)>,
}

/// How strict [`ImageDataset::open_with`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Fewest classes accepted. Training needs 2 (the default); feature extraction can use 1,
    /// which also accepts a flat folder of images or manifest rows without labels, read as
    /// unlabelled samples.
    pub min_classes: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { min_classes: 2 }
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Whether `path` has one of [`IMAGE_EXTENSIONS`].
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Visible entries of `dir`, split into (subfolders, files), symlinks followed.
fn list_dir(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "list the folder", e))?;
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    for entry in rd {
        let entry = entry.map_err(|e| DataError::io(dir, "list the folder", e))?;
        if is_hidden(&entry.file_name()) {
            continue;
        }
        let p = entry.path();
        if p.is_dir() {
            dirs.push(p);
        } else {
            files.push(p);
        }
    }
    Ok((dirs, files))
}

/// Image files under `dir`, recursively, in torchvision's order: folders sorted by path, files
/// sorted by name within each. Symlinked folders are followed once (loops are cut).
fn images_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = HashSet::new();
    while let Some(d) = stack.pop() {
        let key = std::fs::canonicalize(&d).unwrap_or_else(|_| d.clone());
        if !seen.insert(key) {
            continue;
        }
        let (subdirs, mut files) = list_dir(&d)?;
        files.retain(|f| is_image_file(f));
        files.sort();
        folders.push((d, files));
        stack.extend(subdirs);
    }
    folders.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    Ok(folders.into_iter().flat_map(|(_, f)| f).collect())
}

fn check_classes(path: &Path, classes: &[String], min: usize) -> Result<()> {
    if classes.len() < min {
        let names = classes
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(DataError::dataset(
            path,
            format!(
                "found {} class{}{}; at least {min} needed",
                classes.len(),
                if classes.len() == 1 { "" } else { "es" },
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({names})")
                }
            ),
        ));
    }
    Ok(())
}

impl ImageDataset {
    /// A folder (ImageFolder layout) or a `.csv` manifest, with at least 2 classes.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`Self::open`] with explicit options.
    pub fn open_with(path: &Path, opts: OpenOptions) -> Result<Self> {
        if path.is_dir() {
            return Self::from_folder_with(path, opts);
        }
        let is_csv = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if !path.exists() {
            return Err(DataError::dataset(
                path,
                "not found; expected an image folder (one subfolder per class) or a .csv manifest with columns path,label",
            ));
        }
        if is_csv {
            return Self::from_manifest_with(path, opts);
        }
        Err(DataError::dataset(
            path,
            "not a folder or a .csv file; expected an image folder (one subfolder per class) or a .csv manifest with columns path,label",
        ))
    }

    /// torchvision `ImageFolder` layout: `dir/<class>/**/<image>`, at least 2 classes.
    pub fn from_folder(dir: &Path) -> Result<Self> {
        Self::from_folder_with(dir, OpenOptions::default())
    }

    /// [`Self::from_folder`] with explicit options. Hidden files and folders are ignored (unlike
    /// torchvision, which counts e.g. `.ipynb_checkpoints` as a class); images lying directly in
    /// `dir` are ignored when class subfolders exist, as torchvision does.
    pub fn from_folder_with(dir: &Path, opts: OpenOptions) -> Result<Self> {
        if !dir.exists() {
            return Err(DataError::dataset(dir, "folder not found"));
        }
        if !dir.is_dir() {
            return Err(DataError::dataset(
                dir,
                "not a folder; expected one subfolder per class",
            ));
        }
        let (mut class_dirs, files) = list_dir(dir)?;
        class_dirs.sort();
        let loose: Vec<PathBuf> = {
            let mut f: Vec<PathBuf> = files.into_iter().filter(|f| is_image_file(f)).collect();
            f.sort();
            f
        };
        if class_dirs.is_empty() {
            if loose.is_empty() {
                return Err(DataError::dataset(
                    dir,
                    format!(
                        "no class subfolders and no images; expected one subfolder per class holding images ({})",
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                ));
            }
            if opts.min_classes > 1 {
                return Err(DataError::dataset(
                    dir,
                    format!(
                        "no class subfolders (found {} images directly in the folder, which carry no label); \
                         expected one subfolder per class",
                        loose.len()
                    ),
                ));
            }
            return Ok(ImageDataset {
                root: dir.to_path_buf(),
                classes: Vec::new(),
                samples: loose.into_iter().map(|p| (p, UNLABELLED)).collect(),
            });
        }
        let mut classes = Vec::with_capacity(class_dirs.len());
        let mut samples = Vec::new();
        for (label, cdir) in class_dirs.iter().enumerate() {
            let name = cdir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let files = images_under(cdir)?;
            if files.is_empty() {
                return Err(DataError::dataset(
                    cdir,
                    format!(
                        "class '{name}' has no images (supported extensions: {})",
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                ));
            }
            samples.extend(files.into_iter().map(|f| (f, label)));
            classes.push(name);
        }
        check_classes(dir, &classes, opts.min_classes)?;
        Ok(ImageDataset {
            root: dir.to_path_buf(),
            classes,
            samples,
        })
    }

    /// CSV manifest with a header naming columns `path` and `label` (others are ignored).
    /// Relative paths are taken from the manifest's folder. Classes are the sorted distinct
    /// labels (numerically when all are integers, so label "10" comes after "9").
    pub fn from_manifest(csv_path: &Path) -> Result<Self> {
        Self::from_manifest_with(csv_path, OpenOptions::default())
    }

    /// [`Self::from_manifest`] with explicit options. With `min_classes <= 1` the `label`
    /// column may be absent and labels may be empty: such rows are unlabelled.
    pub fn from_manifest_with(csv_path: &Path, opts: OpenOptions) -> Result<Self> {
        let text = std::fs::read(csv_path).map_err(|e| DataError::io(csv_path, "read", e))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_slice());
        let headers = rdr
            .headers()
            .map_err(|e| DataError::parse(csv_path, 1, format!("cannot read the header: {e}")))?
            .clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let col = |n: &str| names.iter().position(|h| h == n);
        let Some(path_col) = col("path") else {
            return Err(DataError::parse(
                csv_path,
                1,
                format!(
                    "expected a header with columns path,label; found: {}",
                    names.join(",")
                ),
            ));
        };
        let label_col = col("label");
        if label_col.is_none() && opts.min_classes > 1 {
            return Err(DataError::parse(
                csv_path,
                1,
                format!(
                    "no 'label' column (header: {}); training needs labels",
                    names.join(",")
                ),
            ));
        }
        let needed = path_col.max(label_col.unwrap_or(0)) + 1;
        let base = csv_path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut rows: Vec<(PathBuf, Option<String>)> = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                DataError::parse(csv_path, line, format!("malformed CSV row: {e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.len() == 1 && rec[0].is_empty() {
                continue; // blank line
            }
            if rec.len() < needed {
                return Err(DataError::parse(
                    csv_path,
                    line,
                    format!(
                        "expected {} columns ({}), found {}",
                        names.len(),
                        names.join(","),
                        rec.len()
                    ),
                ));
            }
            let p = &rec[path_col];
            if p.is_empty() {
                return Err(DataError::parse(csv_path, line, "empty path"));
            }
            let label = label_col
                .map(|c| rec[c].to_string())
                .filter(|l| !l.is_empty());
            if label.is_none() && opts.min_classes > 1 {
                return Err(DataError::parse(
                    csv_path,
                    line,
                    "empty label; training needs a label on every row",
                ));
            }
            let p = PathBuf::from(p);
            rows.push((if p.is_absolute() { p } else { base.join(p) }, label));
        }
        if rows.is_empty() {
            return Err(DataError::dataset(
                csv_path,
                "the manifest has a header but no rows",
            ));
        }
        let distinct: BTreeSet<&str> = rows.iter().filter_map(|r| r.1.as_deref()).collect();
        let mut classes: Vec<String> = distinct.into_iter().map(String::from).collect();
        if classes.iter().all(|c| c.parse::<i64>().is_ok()) {
            classes.sort_by_key(|c| c.parse::<i64>().unwrap_or(0));
        }
        check_classes(csv_path, &classes, opts.min_classes)?;
        let samples = rows
            .into_iter()
            .map(|(p, l)| {
                let label = l.map_or(UNLABELLED, |l| {
                    classes.iter().position(|c| *c == l).unwrap_or(UNLABELLED)
                });
                (p, label)
            })
            .collect();
        Ok(ImageDataset {
            root: csv_path.to_path_buf(),
            classes,
            samples,
        })
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Number of samples of each class (unlabelled samples not counted).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for (_, l) in &self.samples {
            if let Some(c) = counts.get_mut(*l) {
                *c += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn folder_layout_sorted_like_torchvision() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for f in [
            "dog/b.png",
            "dog/A.JPG",
            "dog/sub/c.webp",
            "dog/notes.txt",
            "cat/z.bmp",
            "cat/.hidden.png",
            "cat/a.jpeg",
        ] {
            touch(&r.join(f));
        }
        touch(&r.join(".ipynb_checkpoints/x.png"));
        touch(&r.join("loose.png"));
        let ds = ImageDataset::open(r).unwrap();
        assert_eq!(ds.classes, vec!["cat", "dog"]);
        let rel: Vec<(String, usize)> = ds
            .samples
            .iter()
            .map(|(p, l)| {
                (
                    p.strip_prefix(r).unwrap().to_string_lossy().into_owned(),
                    *l,
                )
            })
            .collect();
        let want = [
            ("cat/a.jpeg", 0),
            ("cat/z.bmp", 0),
            ("dog/A.JPG", 1),
            ("dog/b.png", 1),
            ("dog/sub/c.webp", 1),
        ];
        assert_eq!(rel, want.map(|(p, l)| (p.to_string(), l)));
        assert_eq!(ds.class_counts(), vec![2, 3]);
    }

    #[test]
    fn folder_errors_name_the_problem() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let e = ImageDataset::open(&r.join("absent"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent") && e.contains("not found"), "{e}");
        let e = ImageDataset::open(r).unwrap_err().to_string();
        assert!(e.contains("no class subfolders and no images"), "{e}");
        touch(&r.join("flat.png"));
        let e = ImageDataset::open(r).unwrap_err().to_string();
        assert!(e.contains("no class subfolders (found 1 images"), "{e}");
        let flat = ImageDataset::open_with(r, OpenOptions { min_classes: 1 }).unwrap();
        assert_eq!(flat.samples, vec![(r.join("flat.png"), UNLABELLED)]);
        assert!(flat.classes.is_empty());
        touch(&r.join("only/a.png"));
        let e = ImageDataset::open(r).unwrap_err().to_string();
        assert!(
            e.contains("found 1 class ('only'); at least 2 needed"),
            "{e}"
        );
        assert_eq!(
            ImageDataset::open_with(r, OpenOptions { min_classes: 1 })
                .unwrap()
                .classes,
            vec!["only"]
        );
        touch(&r.join("empty/readme.txt"));
        let e = ImageDataset::open(r).unwrap_err().to_string();
        assert!(
            e.contains("empty") && e.contains("class 'empty' has no images"),
            "{e}"
        );
        let f = r.join("data.bin");
        std::fs::write(&f, b"").unwrap();
        let e = ImageDataset::open(&f).unwrap_err().to_string();
        assert!(
            e.contains("data.bin") && e.contains("not a folder or a .csv"),
            "{e}"
        );
    }

    #[test]
    fn manifest_resolves_paths_and_sorts_labels() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m.csv");
        std::fs::write(
            &m,
            "\u{feff}path,label,extra\nimgs/1.png,10,x\n/abs/2.png,9,y\n\nimgs/3.png,10,z\n",
        )
        .unwrap();
        let ds = ImageDataset::open(&m).unwrap();
        assert_eq!(ds.classes, vec!["9", "10"]);
        assert_eq!(
            ds.samples,
            vec![
                (d.path().join("imgs/1.png"), 1),
                (PathBuf::from("/abs/2.png"), 0),
                (d.path().join("imgs/3.png"), 1)
            ]
        );
        std::fs::write(&m, "label,path\nb,x.png\na,y.png\n").unwrap();
        let ds = ImageDataset::open(&m).unwrap();
        assert_eq!(ds.classes, vec!["a", "b"]);
        assert_eq!(ds.samples[0].1, 1);
    }

    #[test]
    fn manifest_errors_give_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m.csv");
        let e = ImageDataset::open(&m).unwrap_err().to_string();
        assert!(e.contains("m.csv") && e.contains("not found"), "{e}");
        std::fs::write(&m, "path,label\na.png,x\nb.png\n").unwrap();
        let e = ImageDataset::open(&m).unwrap_err().to_string();
        assert!(
            e.contains("m.csv:3") && e.contains("expected 2 columns"),
            "{e}"
        );
        std::fs::write(&m, "file,class\na.png,x\n").unwrap();
        let e = ImageDataset::open(&m).unwrap_err().to_string();
        assert!(e.contains("m.csv:1") && e.contains("path,label"), "{e}");
        std::fs::write(&m, "path,label\na.png,x\nb.png,\n").unwrap();
        let e = ImageDataset::open(&m).unwrap_err().to_string();
        assert!(e.contains("m.csv:3") && e.contains("empty label"), "{e}");
        let ds = ImageDataset::open_with(&m, OpenOptions { min_classes: 1 }).unwrap();
        assert_eq!(ds.samples[1].1, UNLABELLED);
        std::fs::write(&m, "path,label\na.png,x\nb.png,x\n").unwrap();
        let e = ImageDataset::open(&m).unwrap_err().to_string();
        assert!(e.contains("found 1 class ('x')"), "{e}");
        std::fs::write(&m, "path,label\n").unwrap();
        let e = ImageDataset::open(&m).unwrap_err().to_string();
        assert!(e.contains("no rows"), "{e}");
    }
}
