//! Opcode-level tests on hand-written pickles.

use super::*;

fn parse_ok(data: &[u8]) -> Pickle {
    match parse(data) {
        Ok((p, used)) => {
            assert_eq!(used, data.len(), "whole input consumed");
            p
        }
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn parse_err(data: &[u8]) -> String {
    match parse(data) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn scalars_and_containers() {
    // {'a': [1, -2, 3.5, None, True], 'b': (b'xy', 'é'), 'big': 2**70}
    let mut d = b"\x80\x02}q\x00(X\x01\x00\x00\x00a]q\x01(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\
                  \x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bC\x02xy\x8c\x02\xc3\xa9\x86"
        .to_vec();
    d.extend_from_slice(b"X\x03\x00\x00\x00big\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40u.");
    let p = parse_ok(&d);
    let Value::Dict(pairs) = p.value(p.root()) else {
        panic!("root is not a dict")
    };
    assert_eq!(pairs.len(), 3);
    assert_eq!(p.as_str(pairs[0].0), Some("a"));
    let Value::List(items) = p.value(pairs[0].1) else {
        panic!("not a list")
    };
    let got: Vec<String> = items.iter().map(|&i| format!("{:?}", p.value(i))).collect();
    assert_eq!(
        got,
        ["Int(1)", "Int(-2)", "Float(3.5)", "None", "Bool(true)"]
    );
    let Value::Tuple(t) = p.value(pairs[1].1) else {
        panic!("not a tuple")
    };
    assert!(matches!(p.value(t[0]), Value::Bytes(b) if b == b"xy"));
    assert_eq!(p.as_str(t[1]), Some("é"));
    assert!(matches!(p.value(pairs[2].1), Value::BigInt(b) if b.len() == 9 && b[8] == 0x40));
}

#[test]
fn memo_shares_mutable_containers() {
    // l = []; {'x': l, 'y': l} with l filled after both references exist.
    let d = b"\x80\x02}q\x01(X\x01\x00\x00\x00x]q\x00X\x01\x00\x00\x00yh\x00uh\x00K\x07a0h\x01.";
    let p = parse_ok(d);
    let Value::Dict(pairs) = p.value(p.root()) else {
        panic!("root is not a dict")
    };
    assert_eq!(pairs[0].1, pairs[1].1);
    assert!(matches!(p.value(pairs[1].1), Value::List(v) if v.len() == 1));
}

#[test]
fn refuses_unlisted_globals_by_name() {
    let e = parse_err(b"cos\nsystem\n(S'echo hi'\ntR.");
    assert!(e.contains("refuses to call os.system"), "{e}");
    let e =
        parse_err(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93.");
    assert!(e.contains("refuses to call builtins.eval"), "{e}");
    let e = parse_err(b"\x80\x02ctorch\nFloatStorage\n)R.");
    assert!(e.contains("refuses to call torch.FloatStorage"), "{e}");
    let e = parse_err(b"\x80\x02ctorch.nn.modules.linear\nLinear\n).");
    assert!(e.contains("state_dict"), "{e}");
}

#[test]
fn inert_objects_are_placeholders() {
    // argparse.Namespace() with BUILD state {'lr': 0.1}
    let d =
        b"\x80\x02cargparse\nNamespace\n)\x81}X\x02\x00\x00\x00lrG?\xb9\x99\x99\x99\x99\x99\x9asb.";
    let p = parse_ok(d);
    assert!(matches!(
        p.value(p.root()),
        Value::Inert("argparse.Namespace")
    ));
}

fn storage_pid(class: &str, key: &str, numel: u8) -> Vec<u8> {
    let mut v = b"((X\x07\x00\x00\x00storagectorch\n".to_vec();
    v.extend_from_slice(class.as_bytes());
    v.extend_from_slice(b"\nX");
    v.extend_from_slice(&(key.len() as u32).to_le_bytes());
    v.extend_from_slice(key.as_bytes());
    v.extend_from_slice(b"X\x03\x00\x00\x00cpuK");
    v.push(numel);
    v.extend_from_slice(b"tQ");
    v
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
fn tensor_pickle(numel: u8, offset: u8, size: &[u8], stride: &[u8]) -> Vec<u8> {
    let mut v = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n".to_vec();
    v.extend(storage_pid("FloatStorage", "0", numel));
    v.push(b'K');
    v.push(offset);
    for dims in [size, stride] {
        v.push(b'(');
        for &d in dims {
            v.push(b'K');
            v.push(d);
        }
        v.push(b't');
    }
    v.extend_from_slice(b"\x89ccollections\nOrderedDict\n)RtR.");
    v
}

#[test]
fn tensor_views_are_bounds_checked() {
    let p = parse_ok(&tensor_pickle(6, 1, &[2, 2], &[1, 3]));
    let Value::Tensor(t) = p.value(p.root()) else {
        panic!("not a tensor")
    };
    assert_eq!(
        (t.offset, t.size.clone(), t.stride.clone()),
        (1, vec![2, 2], vec![1, 3])
    );
    assert_eq!(t.storage.key, "0");
    assert_eq!(
        p.storages()["0"],
        StorageInfo {
            dtype: Dtype::F32,
            numel: 6
        }
    );

    // Last element 2 + 1*1 + 1*3 = 6: one past the end.
    let e = parse_err(&tensor_pickle(6, 2, &[2, 2], &[1, 3]));
    assert!(e.contains("does not fit in storage 0"), "{e}");
    // Expanded (stride 0): more elements than stored.
    let e = parse_err(&tensor_pickle(2, 0, &[4, 2], &[0, 1]));
    assert!(e.contains("overlapping"), "{e}");
    // Empty tensors need no elements.
    parse_ok(&tensor_pickle(0, 0, &[0, 3], &[3, 1]));
    let e = parse_err(&tensor_pickle(6, 0, &[2], &[1, 1]));
    assert!(e.contains("different lengths"), "{e}");
}

#[test]
fn nesting_is_limited() {
    let n = MAX_DEPTH + 5;
    let mut d = b"\x80\x02".to_vec();
    d.extend(std::iter::repeat_n(b']', n));
    d.extend(std::iter::repeat_n(b'a', n - 1));
    d.push(b'.');
    let e = parse_err(&d);
    assert!(e.contains("nested deeper than 1000"), "{e}");

    let mut d = b"\x80\x02".to_vec();
    d.extend(std::iter::repeat_n(b'(', n));
    let e = parse_err(&d);
    assert!(e.contains("nested deeper than 1000"), "{e}");

    let mut d = b"\x80\x02".to_vec();
    d.extend(std::iter::repeat_n(b']', 50));
    d.extend(std::iter::repeat_n(b'a', 49));
    d.push(b'.');
    parse_ok(&d);
}

#[test]
fn lengths_are_checked_before_allocation() {
    let e = parse_err(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.");
    assert!(e.contains("truncated"), "{e}");
    let e = parse_err(b"\x80\x02X\xff\xff\xff\xffab.");
    assert!(e.contains("truncated"), "{e}");
    let e = parse_err(b"\x80\x02h\x05.");
    assert!(e.contains("memo entry 5"), "{e}");
    let e = parse_err(b"\x80\x02r\xff\xff\xff\xff.");
    assert!(e.contains("underflow"), "{e}");
    let e = parse_err(b"\x80\x02s.");
    assert!(e.contains("underflow"), "{e}");
    let e = parse_err(b"\x80\x09N.");
    assert!(e.contains("protocol 9"), "{e}");
}

#[test]
fn storage_declarations_must_agree() {
    let mut d = b"\x80\x02(".to_vec();
    d.extend(storage_pid("FloatStorage", "k", 4));
    d.extend(storage_pid("LongStorage", "k", 4));
    d.extend_from_slice(b"t.");
    let e = parse_err(&d);
    assert!(e.contains("declared twice"), "{e}");
}

#[test]
fn protocol_0_text_opcodes() {
    let p = parse_ok(b"(dp0\nVk\\u00e9\np1\nI42\nsVt\np2\nL7L\nsF0.25\n0g0\n.");
    let Value::Dict(pairs) = p.value(p.root()) else {
        panic!("root is not a dict")
    };
    assert_eq!(p.as_str(pairs[0].0), Some("ké"));
    assert!(matches!(p.value(pairs[0].1), Value::Int(42)));
    assert!(matches!(p.value(pairs[1].1), Value::Int(7)));
}
