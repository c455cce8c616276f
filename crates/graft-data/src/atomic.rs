//! Crash-safe file output: readers see either the old file or the complete new one, never a
//! half-written feature matrix after a kill or a full disk.

use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Distinguishes temporaries of concurrent writes from one process to the same target.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Hidden temporary beside `path` (same folder, so the final rename never crosses file systems).
fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        DataError::io(
            path,
            "write",
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(".{}.tmp-{}-{n}", name.to_string_lossy(), std::process::id());
    Ok(match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    })
}

/// Writes `path` through `write`, atomically: the bytes go to a temporary in the same folder,
/// are flushed and fsynced, and the temporary is renamed over `path`. On any error the
/// temporary is removed and an existing `path` is left untouched.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path)?;
    let file = File::create(&tmp).map_err(|e| DataError::io(&tmp, "create", e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let written = write(&mut w)
        .and_then(|()| w.flush())
        .and_then(|()| w.get_ref().sync_all());
    drop(w);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(DataError::io(path, "write", e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(DataError::io(path, "rename the finished temporary onto", e));
    }
    // Make the rename itself durable; not all platforms allow opening a folder, so best effort.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// [`write_atomic`] for bytes already in memory.
pub fn write_atomic_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Removes the temporaries a killed writer left in `dir` (`.NAME.tmp-PID-N` of another process)
/// and returns how many. For a run directory on `--resume`: it has one writer at a time, so a
/// temporary of another process is dead weight (a checkpoint's can be hundreds of MB).
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let own = format!("-{}-", std::process::id());
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "list", e))?;
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = name.starts_with('.')
            && name
                .rsplit_once(".tmp-")
                .is_some_and(|(_, tail)| !format!("-{tail}").starts_with(&own));
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let p = entry.path();
            std::fs::remove_file(&p).map_err(|e| DataError::io(&p, "remove", e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn replaces_the_target_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        std::fs::write(&p, b"old").unwrap();
        write_atomic_bytes(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn stale_temporaries_of_other_processes_are_removed() {
        let t = tempfile::tempdir().unwrap();
        let stale = t.path().join(".checkpoint.safetensors.tmp-999999999-0");
        let own = t
            .path()
            .join(format!(".m.safetensors.tmp-{}-3", std::process::id()));
        let keep = t.path().join("checkpoint.safetensors");
        for p in [&stale, &own, &keep] {
            std::fs::write(p, b"x").unwrap();
        }
        assert_eq!(remove_stale_temporaries(t.path()).unwrap(), 1);
        assert!(!stale.exists() && own.exists() && keep.exists());
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        std::fs::write(&p, b"old").unwrap();
        let err = write_atomic(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk on fire"))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("out.bin") && msg.contains("disk on fire"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/out.bin");
        let err = write_atomic_bytes(&p, b"x").unwrap_err();
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }
}
