//! PyTorch checkpoints written by torch itself (zip and legacy formats, wrapped, prefixed, nested,
//! big-endian) must give exactly the tensors PyTorch saved; hostile or broken files must give an
//! error that names the problem. Fixtures: scripts/reference/make_pth_fixtures.py.

use graft_nn::weights::pth;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth")
}

fn dtype_name(k: Kind) -> &'static str {
    match k {
        Kind::Float => "float32",
        Kind::Double => "float64",
        Kind::Half => "float16",
        Kind::BFloat16 => "bfloat16",
        Kind::Int64 => "int64",
        Kind::Int => "int32",
        Kind::Int16 => "int16",
        Kind::Int8 => "int8",
        Kind::Uint8 => "uint8",
        Kind::Bool => "bool",
        _ => "other",
    }
}

fn expected_values() -> HashMap<String, Tensor> {
    Tensor::read_npz(fixtures().join("expected.npz"))
        .expect("expected.npz")
        .into_iter()
        .collect()
}

#[test]
fn checkpoints_give_exactly_the_saved_tensors() {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    let expected: BTreeMap<String, BTreeMap<String, serde_json::Value>> =
        serde_json::from_str(&text).expect("expected.json parses");
    let values = expected_values();
    assert!(
        expected.len() >= 11,
        "fixtures missing: {:?}",
        expected.keys()
    );
    for (file, keys) in &expected {
        let sd = pth::read(&fixtures().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got_keys: Vec<&String> = sd.tensors.keys().collect();
        let want_keys: Vec<&String> = keys.keys().collect();
        assert_eq!(got_keys, want_keys, "{file}: keys");
        for (key, spec) in keys {
            let t = &sd.tensors[key];
            let shape: Vec<i64> = spec["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_i64().unwrap())
                .collect();
            assert_eq!(t.size(), shape, "{file} {key}: shape");
            assert_eq!(dtype_name(t.kind()), spec["dtype"], "{file} {key}: dtype");
            assert!(t.is_contiguous(), "{file} {key}: contiguous");
            let want = &values[spec["values"].as_str().unwrap()];
            let got = if t.kind() == Kind::BFloat16 {
                t.to_kind(Kind::Float)
            } else {
                t.shallow_clone()
            };
            assert_eq!(got.kind(), want.kind(), "{file} {key}: value dtype");
            assert!(
                got.equal(want),
                "{file} {key}: values differ\n{got}\n{want}"
            );
        }
    }
}

#[test]
fn views_of_one_storage_are_materialised_separately() {
    let sd = pth::read(&fixtures().join("tiny_legacy.pth")).unwrap();
    let base = sd.get("base").unwrap();
    assert!(sd.get("base_t").unwrap().equal(&base.tr()));
    let slice = base.narrow(0, 1, 2).slice(1, 0, 4, 2);
    assert!(sd.get("slice").unwrap().equal(&slice));
    assert_eq!(sd.get("scalar").unwrap().size(), Vec::<i64>::new());
    assert_eq!(sd.get("empty").unwrap().size(), vec![0, 3]);
}

fn read_err(name: &str) -> String {
    let path = fixtures().join(name);
    match pth::read(&path) {
        Ok(sd) => panic!("{name}: expected an error, read {} tensors", sd.len()),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(name),
                "{name}: the error names the file: {msg}"
            );
            msg
        }
    }
}

#[test]
fn hostile_files_are_refused_with_the_reason() {
    let cases = [
        ("hostile_os_system.pth", "refuses to call os.system"),
        ("hostile_eval_legacy.pth", "refuses to call builtins.eval"),
        ("hostile_deep.pth", "nested deeper than 1000 levels"),
        (
            "hostile_huge_numel.pth",
            "holds 24 bytes, but the pickle declares 1099511627776",
        ),
        (
            "hostile_out_of_bounds.pth",
            "does not fit in storage 0 of 6 float32 elements",
        ),
        ("hostile_truncated_legacy.pth", "truncated"),
        ("hostile_truncated_zip.pth", "not a readable zip archive"),
        (
            "hostile_missing_record.pth",
            "storage record archive/data/1 is missing",
        ),
        (
            "hostile_whole_module.pth",
            "refuses to call torch.nn.modules.linear.Linear",
        ),
        ("hostile_script.pt", "TorchScript archive"),
    ];
    for (name, want) in cases {
        let msg = read_err(name);
        assert!(msg.contains(want), "{name}: expected `{want}` in: {msg}");
    }
}

#[test]
fn files_that_are_not_checkpoints() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("notes.txt");
    std::fs::write(&p, "hello").unwrap();
    let msg = pth::read(&p).unwrap_err().to_string();
    assert!(msg.contains("not a PyTorch checkpoint"), "{msg}");
    // A pickle stream without torch's magic number.
    std::fs::write(&p, b"\x80\x02}q\x00.").unwrap();
    let msg = pth::read(&p).unwrap_err().to_string();
    assert!(msg.contains("magic number"), "{msg}");
    let msg = pth::read(&t.path().join("absent.pth"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("absent.pth"), "{msg}");
}

/// Every prefix of a valid file is an error, never a panic or an over-allocation.
#[test]
fn every_truncation_is_an_error() {
    for name in ["tiny_legacy.pth", "wrapped_state_dict.pth"] {
        let data = std::fs::read(fixtures().join(name)).unwrap();
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(name);
        for cut in (1..data.len()).step_by(7) {
            std::fs::write(&p, &data[..cut]).unwrap();
            assert!(pth::read(&p).is_err(), "{name} cut at {cut} was accepted");
        }
    }
}
