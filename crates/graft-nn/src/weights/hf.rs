//! `hf:ORG/NAME[@REVISION]`: weights the Hugging Face tools have already downloaded, found in
//! their cache. graft runs offline and never downloads; it only reads the layout that
//! `huggingface_hub` writes:
//!
//! ```text
//! <cache>/models--ORG--NAME/refs/<branch or tag>      (file holding a commit hash)
//!                          /snapshots/<commit>/<file>  (links into blobs/)
//! ```

use crate::{NnError, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Files that sit beside the weights in training folders but are not weights (Trainer state,
/// pickled arguments): never picked as "the single .bin/.pt".
const NOT_WEIGHTS: &[&str] = &[
    "training_args.bin",
    "optimizer.pt",
    "optimizer.bin",
    "scheduler.pt",
    "scaler.pt",
];

/// Resolves `hf:ORG/NAME[@REVISION]` to a weights file in the local Hugging Face cache (see
/// [`cache_root`] for where that is).
pub fn resolve(spec: &str) -> Result<PathBuf> {
    let root = cache_root().ok_or_else(|| {
        NnError::Invalid(format!(
            "{spec}: cannot locate the Hugging Face cache (no HF_HUB_CACHE, HF_HOME or HOME); \
             set HF_HUB_CACHE or pass the weights file"
        ))
    })?;
    resolve_in(&root, spec)
}

/// The cache folder `huggingface_hub` uses: `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else
/// `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub fn cache_root() -> Option<PathBuf> {
    cache_root_from(|name| std::env::var_os(name))
}

/// [`cache_root`] with the environment passed in, so tests need not set process-wide variables.
fn cache_root_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let home = var("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let get = |name: &str| -> Option<PathBuf> {
        let v = var(name).filter(|v| !v.is_empty())?;
        let p = PathBuf::from(v);
        // huggingface_hub expands `~` in these variables.
        match (p.strip_prefix("~"), &home) {
            (Ok(rest), Some(h)) => Some(h.join(rest)),
            _ => Some(p),
        }
    };
    get("HF_HUB_CACHE")
        .or_else(|| get("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| get("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| get("XDG_CACHE_HOME").map(|c| c.join("huggingface").join("hub")))
        .or_else(|| home.map(|h| h.join(".cache").join("huggingface").join("hub")))
}

/// [`resolve`] against an explicit cache folder. The revision is a snapshot folder name (a
/// commit hash) or a ref (`main`, a tag); without one, `refs/main`, else the only snapshot.
pub fn resolve_in(cache_root: &Path, spec: &str) -> Result<PathBuf> {
    let (repo, revision) = parse_spec(spec)?;
    let folder = format!("models--{}", repo.replace('/', "--"));
    let repo_dir = cache_root.join(&folder);
    if !repo_dir.is_dir() {
        return Err(NnError::BadWeights {
            path: cache_root.to_path_buf(),
            what: format!(
                "{spec} not found in the Hugging Face cache (looked for {folder}); graft works \
                 offline and does not download: fetch it with `huggingface-cli download {repo}` \
                 or pass the weights file"
            ),
        });
    }
    let snapshots = repo_dir.join("snapshots");
    let commit = match revision {
        Some(rev) if snapshots.join(rev).is_dir() => rev.to_string(),
        Some(rev) => match read_ref(&repo_dir, rev)? {
            Some(commit) => commit,
            None => {
                return Err(NnError::BadWeights {
                    path: repo_dir.clone(),
                    what: format!(
                        "{spec}: revision `{rev}` is not in the cache (no snapshots/{rev}, no \
                         refs/{rev}); cached snapshots: {}",
                        list_dirs(&snapshots)
                    ),
                })
            }
        },
        None => match read_ref(&repo_dir, "main")? {
            Some(commit) => commit,
            None => only_snapshot(&snapshots, spec)?,
        },
    };
    let snap = snapshots.join(&commit);
    if !snap.is_dir() {
        return Err(NnError::BadWeights {
            path: snap,
            what: format!(
                "{spec}: the cache names commit {commit} but has no snapshot folder for it \
                 (incomplete download?)"
            ),
        });
    }
    weights_file_in(&snap)
}

/// Splits `hf:ORG/NAME[@REVISION]`, refusing anything that could step outside the cache.
fn parse_spec(spec: &str) -> Result<(&str, Option<&str>)> {
    let invalid = |why: &str| {
        NnError::Invalid(format!(
            "`{spec}`: {why}; expected hf:ORG/NAME or hf:ORG/NAME@REVISION"
        ))
    };
    let rest = spec
        .strip_prefix("hf:")
        .ok_or_else(|| invalid("does not start with hf:"))?;
    let (repo, revision) = match rest.split_once('@') {
        Some((repo, rev)) => (repo, Some(rev)),
        None => (rest, None),
    };
    let name_ok = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 2 || !parts.iter().all(|p| name_ok(p)) {
        return Err(invalid("the repository name is not ORG/NAME"));
    }
    if let Some(rev) = revision {
        if !rev.split('/').all(name_ok) {
            return Err(invalid(
                "the revision is not a commit hash, branch or tag name",
            ));
        }
    }
    Ok((repo, revision))
}

/// The commit a ref file names, if the ref exists.
fn read_ref(repo_dir: &Path, name: &str) -> Result<Option<String>> {
    let path = repo_dir.join("refs").join(name);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| NnError::Io {
        path: path.clone(),
        source,
    })?;
    let commit = text.trim();
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(NnError::BadWeights {
            path,
            what: format!("expected a commit hash, found {commit:?}"),
        });
    }
    Ok(Some(commit.to_string()))
}

fn only_snapshot(snapshots: &Path, spec: &str) -> Result<String> {
    let dirs = sorted_entries(snapshots)
        .into_iter()
        .filter(|(_, p)| p.is_dir())
        .map(|(n, _)| n)
        .collect::<Vec<_>>();
    match dirs.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(NnError::BadWeights {
            path: snapshots.to_path_buf(),
            what: format!("{spec}: no snapshot in the cache (incomplete download?)"),
        }),
        many => Err(NnError::BadWeights {
            path: snapshots.to_path_buf(),
            what: format!(
                "{spec}: no refs/main and several snapshots ({}); name one with @REVISION",
                many.join(", ")
            ),
        }),
    }
}

fn list_dirs(dir: &Path) -> String {
    let names: Vec<String> = sorted_entries(dir)
        .into_iter()
        .filter(|(_, p)| p.is_dir())
        .map(|(n, _)| n)
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Entries of a folder with UTF-8 names, sorted; unreadable folders give none.
fn sorted_entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect();
    v.sort();
    v
}

/// The weights file in a model folder (a snapshot, or any folder given as the weights argument):
/// `model.safetensors`, else `pytorch_model.bin`, else the only `*.safetensors`, else the only
/// `*.pth` / `*.pt` / `*.bin`. Sharded checkpoints (`*.index.json`) are not supported yet.
pub fn weights_file_in(dir: &Path) -> Result<PathBuf> {
    let bad = |what: String| NnError::BadWeights {
        path: dir.to_path_buf(),
        what,
    };
    if !dir.is_dir() {
        return Err(bad("not a folder".into()));
    }
    for name in ["model.safetensors", "pytorch_model.bin"] {
        let p = dir.join(name);
        if p.symlink_metadata().is_ok() {
            return existing_file(p);
        }
    }
    let entries = sorted_entries(dir);
    if let Some((index, _)) = entries.iter().find(|(n, _)| n.ends_with(".index.json")) {
        return Err(bad(format!(
            "a sharded checkpoint ({index}); graft does not read sharded weights yet: merge the \
             shards into one file"
        )));
    }
    let with_ext = |exts: &[&str]| -> Vec<&(String, PathBuf)> {
        entries
            .iter()
            .filter(|(n, _)| {
                !NOT_WEIGHTS.contains(&n.as_str())
                    && !n.starts_with("rng_state")
                    && exts.iter().any(|e| n.ends_with(e))
            })
            .collect()
    };
    for group in [&[".safetensors"][..], &[".pth", ".pt", ".bin"][..]] {
        match with_ext(group).as_slice() {
            [] => {}
            [(_, p)] => return existing_file(p.clone()),
            many => {
                let names: Vec<&str> = many.iter().map(|(n, _)| n.as_str()).collect();
                return Err(bad(format!(
                    "several candidate weights files ({}); pass one of them",
                    names.join(", ")
                )));
            }
        }
    }
    Err(bad(
        "no weights file: expected model.safetensors, pytorch_model.bin, or a single \
         *.safetensors / *.pth / *.pt / *.bin"
            .into(),
    ))
}

/// The path, if it is (or links to) a readable file; a cache link whose blob is gone is named as
/// such.
fn existing_file(p: PathBuf) -> Result<PathBuf> {
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Ok(p),
        Ok(_) => Err(NnError::BadWeights {
            path: p,
            what: "not a file".into(),
        }),
        Err(_) => Err(NnError::BadWeights {
            path: p,
            what: "a link to a file that does not exist (incomplete download? its blob is \
                   missing from the cache)"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const COMMIT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const COMMIT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// A cache with `models--org--net` holding two snapshots, `main` -> A and tag `v1` -> B;
    /// files are real links into blobs/, as huggingface_hub makes them.
    fn fake_cache() -> tempfile::TempDir {
        let t = tempfile::tempdir().expect("tempdir");
        let repo = t.path().join("models--org--net");
        fs::create_dir_all(repo.join("refs")).unwrap();
        fs::create_dir_all(repo.join("blobs")).unwrap();
        fs::write(repo.join("refs/main"), format!("{COMMIT_A}\n")).unwrap();
        fs::write(repo.join("refs/v1"), COMMIT_B).unwrap();
        for (commit, file) in [
            (COMMIT_A, "model.safetensors"),
            (COMMIT_B, "pytorch_model.bin"),
        ] {
            let snap = repo.join("snapshots").join(commit);
            fs::create_dir_all(&snap).unwrap();
            let blob = repo.join("blobs").join(format!("blob-{commit}"));
            fs::write(&blob, b"weights").unwrap();
            std::os::unix::fs::symlink(format!("../../blobs/blob-{commit}"), snap.join(file))
                .unwrap();
            fs::write(snap.join("config.json"), b"{}").unwrap();
        }
        t
    }

    fn err(r: Result<PathBuf>) -> String {
        match r {
            Ok(p) => panic!("expected an error, got {}", p.display()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn resolves_refs_and_commits() {
        let t = fake_cache();
        let snap = |c: &str| t.path().join("models--org--net/snapshots").join(c);
        let got = resolve_in(t.path(), "hf:org/net").unwrap();
        assert_eq!(got, snap(COMMIT_A).join("model.safetensors"));
        let got = resolve_in(t.path(), "hf:org/net@v1").unwrap();
        assert_eq!(got, snap(COMMIT_B).join("pytorch_model.bin"));
        let got = resolve_in(t.path(), &format!("hf:org/net@{COMMIT_B}")).unwrap();
        assert_eq!(got, snap(COMMIT_B).join("pytorch_model.bin"));
        assert_eq!(fs::read(&got).unwrap(), b"weights");
    }

    #[test]
    fn without_refs_main_takes_the_only_snapshot() {
        let t = fake_cache();
        let repo = t.path().join("models--org--net");
        fs::remove_file(repo.join("refs/main")).unwrap();
        let e = err(resolve_in(t.path(), "hf:org/net"));
        assert!(
            e.contains("several snapshots") && e.contains(COMMIT_A),
            "{e}"
        );
        fs::remove_dir_all(repo.join("snapshots").join(COMMIT_A)).unwrap();
        let got = resolve_in(t.path(), "hf:org/net").unwrap();
        assert!(got.ends_with(format!("{COMMIT_B}/pytorch_model.bin")));
    }

    #[test]
    fn missing_entries_say_where_they_looked() {
        let t = fake_cache();
        let e = err(resolve_in(t.path(), "hf:org/other"));
        assert!(e.contains("models--org--other"), "{e}");
        assert!(e.contains(&t.path().display().to_string()), "{e}");
        assert!(e.contains("does not download"), "{e}");
        assert!(e.contains("huggingface-cli download org/other"), "{e}");
        let e = err(resolve_in(t.path(), "hf:org/net@v9"));
        assert!(e.contains("revision `v9`") && e.contains(COMMIT_B), "{e}");
        // A ref to a commit whose snapshot is gone.
        fs::write(t.path().join("models--org--net/refs/main"), "c".repeat(40)).unwrap();
        let e = err(resolve_in(t.path(), "hf:org/net"));
        assert!(e.contains("no snapshot folder"), "{e}");
    }

    #[test]
    fn dangling_links_are_named() {
        let t = fake_cache();
        fs::remove_file(
            t.path()
                .join(format!("models--org--net/blobs/blob-{COMMIT_A}")),
        )
        .unwrap();
        let e = err(resolve_in(t.path(), "hf:org/net"));
        assert!(
            e.contains("model.safetensors") && e.contains("blob is missing"),
            "{e}"
        );
    }

    #[test]
    fn specs_cannot_escape_the_cache() {
        let t = fake_cache();
        for spec in [
            "hf:../x",
            "hf:org/..",
            "hf:a/b/c",
            "hf:org/net@../../x",
            "hf:",
            "org/net",
            "hf:org/net@",
        ] {
            let e = err(resolve_in(t.path(), spec));
            assert!(e.contains("expected hf:ORG/NAME"), "{spec}: {e}");
        }
        // A name without an org is a valid repository.
        let e = err(resolve_in(t.path(), "hf:gpt2"));
        assert!(e.contains("models--gpt2"), "{e}");
    }

    #[test]
    fn weights_file_preference() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let e = err(weights_file_in(d));
        assert!(e.contains("no weights file"), "{e}");
        fs::write(d.join("training_args.bin"), b"").unwrap();
        fs::write(d.join("rng_state.pth"), b"").unwrap();
        assert!(err(weights_file_in(d)).contains("no weights file"));
        fs::write(d.join("net.pth"), b"").unwrap();
        assert_eq!(weights_file_in(d).unwrap(), d.join("net.pth"));
        fs::write(d.join("other.pt"), b"").unwrap();
        let e = err(weights_file_in(d));
        assert!(e.contains("net.pth, other.pt"), "{e}");
        fs::write(d.join("x.safetensors"), b"").unwrap();
        assert_eq!(weights_file_in(d).unwrap(), d.join("x.safetensors"));
        fs::write(d.join("pytorch_model.bin"), b"").unwrap();
        assert_eq!(weights_file_in(d).unwrap(), d.join("pytorch_model.bin"));
        fs::write(d.join("model.safetensors"), b"").unwrap();
        assert_eq!(weights_file_in(d).unwrap(), d.join("model.safetensors"));

        let s = tempfile::tempdir().unwrap();
        fs::write(s.path().join("model.safetensors.index.json"), b"{}").unwrap();
        fs::write(s.path().join("model-00001-of-00002.safetensors"), b"").unwrap();
        let e = err(weights_file_in(s.path()));
        assert!(
            e.contains("sharded") && e.contains("model.safetensors.index.json"),
            "{e}"
        );
        assert!(err(weights_file_in(&d.join("net.pth"))).contains("not a folder"));
    }

    #[test]
    fn cache_root_follows_huggingface_hub() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let root = |pairs| cache_root_from(env(pairs));
        assert_eq!(
            root(&[("HOME", "/h")]),
            Some("/h/.cache/huggingface/hub".into())
        );
        assert_eq!(
            root(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]),
            Some("/x/huggingface/hub".into())
        );
        assert_eq!(
            root(&[
                ("HOME", "/h"),
                ("HF_HOME", "~/hf"),
                ("XDG_CACHE_HOME", "/x")
            ]),
            Some("/h/hf/hub".into())
        );
        assert_eq!(
            root(&[
                ("HF_HOME", "/hf"),
                ("HF_HUB_CACHE", "/c"),
                ("HUGGINGFACE_HUB_CACHE", "/o")
            ]),
            Some("/c".into())
        );
        assert_eq!(
            root(&[
                ("HF_HOME", "/hf"),
                ("HF_HUB_CACHE", ""),
                ("HUGGINGFACE_HUB_CACHE", "/o")
            ]),
            Some("/o".into())
        );
        assert_eq!(root(&[]), None);
    }
}
