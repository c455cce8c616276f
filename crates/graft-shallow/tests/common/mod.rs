//! Shared helpers of the integration tests: fixtures and the shared data folder.
#![allow(dead_code)]

pub mod npy;

use graft_shallow::Matrix;
use std::collections::HashMap;
use std::path::PathBuf;

pub struct Fixture(pub HashMap<String, npy::Array>);

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        Fixture(npy::read_npz(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    pub fn get(&self, key: &str) -> &npy::Array {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("fixture lacks {key}"))
    }

    pub fn matrix(&self, key: &str) -> Matrix {
        let a = self.get(key);
        let (r, c) = match a.shape.as_slice() {
            [r, c] => (*r, *c),
            [r] => (1, *r),
            _ => panic!("{key}: shape {:?}", a.shape),
        };
        Matrix::new(r, c, a.data.clone()).unwrap()
    }

    pub fn vec(&self, key: &str) -> Vec<f64> {
        self.get(key).data.clone()
    }

    pub fn labels(&self, key: &str) -> Vec<usize> {
        self.get(key).labels()
    }

    pub fn scalar(&self, key: &str) -> f64 {
        self.get(key).data[0]
    }
}

/// Largest absolute difference, after checking the lengths agree.
pub fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length");
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// The shared data folder: `GRAFT_DATA` (relative paths from the repository root), else
/// `../shared/data` from the repository root. `None` (and a printed reason) when it is
/// missing, so the calling test can skip.
pub fn data_dir_or_skip(sub: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let base = match std::env::var_os("GRAFT_DATA") {
        Some(p) if PathBuf::from(&p).is_absolute() => PathBuf::from(p),
        Some(p) => root.join(p),
        None => root.join("../shared/data"),
    };
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} not found (set GRAFT_DATA to the shared data folder)",
            dir.display()
        );
        None
    }
}
