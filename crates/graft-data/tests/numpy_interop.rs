//! graft's .npz reader on archives NumPy itself wrote (`numpy.savez` stores members,
//! `numpy.savez_compressed` deflates them), made by `scripts/reference/npz_reference.py`.

use graft_data::arrays::read_npz;
use graft_data::npy::{NpyData, NpzFile};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn every_dtype_and_layout_numpy_writes() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("numpy_arrays.json")).unwrap())
            .unwrap();
    let expected = expected.as_object().unwrap();
    for file in ["numpy_stored.npz", "numpy_deflated.npz"] {
        let mut z = NpzFile::open(&fixture(file)).unwrap();
        assert_eq!(z.keys().len(), expected.len(), "{file}");
        for (key, want) in expected {
            let a = z.array(key).unwrap_or_else(|e| panic!("{file} {key}: {e}"));
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(a.shape, shape, "{file} {key}");
            assert_eq!(a.descr, want["descr"].as_str().unwrap(), "{file} {key}");
            let values = want["values"].as_array().unwrap();
            assert_eq!(a.len(), values.len(), "{file} {key}");
            match &a.data {
                NpyData::Float(v) => {
                    for (x, w) in v.iter().zip(values) {
                        assert_eq!(*x, w.as_f64().unwrap(), "{file} {key}");
                    }
                }
                NpyData::Int(v) => {
                    for (x, w) in v.iter().zip(values) {
                        assert_eq!(*x, w.as_i64().unwrap(), "{file} {key}");
                    }
                }
                NpyData::Bool(v) => {
                    for (x, w) in v.iter().zip(values) {
                        assert_eq!(*x, w.as_bool().unwrap(), "{file} {key}");
                    }
                }
                NpyData::Str(v) => {
                    for (x, w) in v.iter().zip(values) {
                        assert_eq!(x, w.as_str().unwrap(), "{file} {key}");
                    }
                }
            }
        }
    }
}

#[test]
fn labels_of_every_kind_become_classes() {
    let p = fixture("numpy_deflated.npz");
    for key in [
        "y", "y_i4", "y_u1", "y_u2big", "y_float", "y_str", "y_bytes",
    ] {
        let a = read_npz(&p, "Xfortran", Some(key)).unwrap();
        assert_eq!((a.n, a.dim()), (3, 4));
        assert_eq!(
            a.row(1),
            &[40.0, 50.0, 60.0, 70.0],
            "Fortran order read as C order"
        );
        let y = a.y.unwrap();
        match key {
            "y_str" => {
                assert_eq!(y, vec![1, 0, 2]);
                assert_eq!(a.class_names.unwrap(), vec!["cat", "dog", "émeu"]);
            }
            "y_bytes" => assert_eq!(y, vec![1, 0, 2]),
            _ => assert_eq!(y, vec![2, 0, 1], "{key}"),
        }
    }
    let a = read_npz(&p, "X", Some("y_i1")).unwrap();
    assert_eq!(a.y.unwrap(), vec![0, 1, 2]);
    assert_eq!(a.class_names.unwrap(), vec!["-2", "0", "1"]);
    let e = read_npz(&p, "scalar", None).unwrap_err().to_string();
    assert!(e.contains("scalar"), "{e}");
    let a = read_npz(&p, "empty", None).unwrap();
    assert_eq!((a.n, a.dim()), (0, 5));
}

#[test]
fn truncated_archive_is_an_error_not_a_panic() {
    let bytes = std::fs::read(fixture("numpy_deflated.npz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for cut in [10, bytes.len() / 2, bytes.len() - 30] {
        let p = dir.path().join("cut.npz");
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let e = read_npz(&p, "X", Some("y")).unwrap_err().to_string();
        assert!(e.contains("cut.npz"), "{e}");
    }
}
