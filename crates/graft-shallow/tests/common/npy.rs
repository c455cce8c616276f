//! Minimal reader for the NumPy `.npy` / `.npz` files the reference scripts write: little-endian
//! `f8`, `f4`, `i8`, `i4`, `u1`, `b1`, C order. Test and example support only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// An array widened to f64, with its shape.
#[derive(Debug, Clone)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Array {
    pub fn labels(&self) -> Vec<usize> {
        self.data.iter().map(|&v| v as usize).collect()
    }
}

fn field<'a>(header: &'a str, key: &str) -> Result<&'a str, String> {
    let at = header
        .find(&format!("'{key}'"))
        .ok_or_else(|| format!("npy header lacks {key}: {header}"))?;
    Ok(header[at + key.len() + 2..].trim_start_matches([':', ' ']))
}

pub fn parse(bytes: &[u8]) -> Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an npy file".into());
    }
    let (hlen, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).map_err(|e| e.to_string())?;
    let descr = field(header, "descr")?;
    let descr = &descr[1..descr[1..].find('\'').ok_or("bad descr")? + 1];
    if field(header, "fortran_order")?.starts_with("True") {
        return Err("fortran order not supported".into());
    }
    let shape_s = field(header, "shape")?;
    let shape_s = &shape_s[1..shape_s.find(')').ok_or("bad shape")?];
    let shape: Vec<usize> = shape_s
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let n: usize = shape.iter().product();
    let body = &bytes[start + hlen..];
    let data: Vec<f64> = match descr {
        "<f8" => body
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        "<f4" => body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        "<i8" => body
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        "<i4" => body
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        "|u1" | "|b1" => body.iter().map(|&b| b as f64).collect(),
        other => return Err(format!("dtype {other} not supported")),
    };
    if data.len() != n {
        return Err(format!(
            "npy body has {} values, shape {:?} needs {n}",
            data.len(),
            shape
        ));
    }
    Ok(Array { shape, data })
}

pub fn read_npy(path: &Path) -> Result<Array, String> {
    parse(&std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
}

pub fn read_npz(path: &Path) -> Result<HashMap<String, Array>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        out.insert(name, parse(&bytes)?);
    }
    Ok(out)
}
