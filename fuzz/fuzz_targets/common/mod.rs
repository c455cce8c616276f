//! The array readers take paths, so each input is written to a file of the right name in a
//! scratch folder of this process (under `TMPDIR`), overwritten on every run.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

/// This process's scratch folder, created once.
pub fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("graft-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch folder");
        d
    })
}

/// Writes `bytes` to `name` in the scratch folder and returns its path.
pub fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).expect("scratch file");
    p
}

/// Removes `name` from the scratch folder, if present.
pub fn remove(name: &str) {
    let _ = std::fs::remove_file(scratch().join(name));
}
