//! Where the real datasets and weights live for tests and benchmarks: `GRAFT_DATA`, or
//! `../shared/data` beside the repository. Tests that need them call [`data_dir_or_skip`] and
//! return early, with a printed reason, when the folder is absent.

use std::path::{Path, PathBuf};

/// Root of the repository this crate was built from.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The data folder: `GRAFT_DATA` (relative paths are taken from the repository root), else
/// `<repo>/../shared/data`. Not checked for existence.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("GRAFT_DATA") {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        }
        None => repo_root().join("../shared/data"),
    }
}

/// `data_dir()/rel` when it exists; otherwise prints why the calling test is skipped and
/// returns `None`.
pub fn data_dir_or_skip(rel: &str) -> Option<PathBuf> {
    let p = data_dir().join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} not found (set GRAFT_DATA to the shared data folder to run this test)",
            p.display()
        );
        None
    }
}
