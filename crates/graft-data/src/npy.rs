//! NumPy's `.npy` and `.npz` formats, read and written without Python: the lingua franca for
//! arrays moving between graft and scikit-learn or PyTorch scripts. Only plain dtypes (bool,
//! integers, floats, fixed-width strings) are supported; pickled object arrays are refused,
//! because unpickling is both unsafe and Python-specific.

use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The values of an array, widened to one type per kind.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// f2, f4, f8 (f4 and f2 widen exactly).
    Float(Vec<f64>),
    /// i1..i8 and u1..u8 (u8 values above `i64::MAX` are refused).
    Int(Vec<i64>),
    Bool(Vec<bool>),
    /// Fixed-width unicode (`U`) or byte (`S`) strings, trailing NULs removed.
    Str(Vec<String>),
}

/// A decoded array in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    /// The dtype as the file spelled it, e.g. `<f4`.
    pub descr: String,
    pub data: NpyData,
}

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as `f64`; strings are refused (`what` names the array in the message).
    pub fn to_f64(&self, path: &Path, what: &str) -> Result<Vec<f64>> {
        match &self.data {
            NpyData::Float(v) => Ok(v.clone()),
            NpyData::Int(v) => Ok(v.iter().map(|&x| x as f64).collect()),
            NpyData::Bool(v) => Ok(v.iter().map(|&x| x as u8 as f64).collect()),
            NpyData::Str(_) => Err(DataError::format(
                path,
                format!("{what} holds strings ({}); expected numbers", self.descr),
            )),
        }
    }

    /// Strings of a `U`/`S` array.
    pub fn strings(&self, path: &Path, what: &str) -> Result<Vec<String>> {
        match &self.data {
            NpyData::Str(v) => Ok(v.clone()),
            _ => Err(DataError::format(
                path,
                format!("{what} has dtype {}; expected a string array", self.descr),
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    Unicode,
    Bytes,
}

struct Dtype {
    kind: Kind,
    /// Bytes per element.
    size: usize,
    big_endian: bool,
}

fn parse_descr(descr: &str) -> std::result::Result<Dtype, String> {
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let big_endian = order == '>' || (order == '=' && cfg!(target_endian = "big"));
    // The type code is one character, which in a corrupt header need not be one byte.
    let (code, n) = rest.split_at(rest.chars().next().map_or(0, char::len_utf8));
    let n: usize = if n.is_empty() {
        1
    } else {
        n.parse()
            .map_err(|_| format!("unsupported dtype '{descr}'"))?
    };
    let (kind, size) = match code {
        "b" if n == 1 => (Kind::Bool, 1),
        "?" => (Kind::Bool, 1),
        "i" if [1, 2, 4, 8].contains(&n) => (Kind::Int, n),
        "u" if [1, 2, 4, 8].contains(&n) => (Kind::Uint, n),
        "f" if [2, 4, 8].contains(&n) => (Kind::Float, n),
        "U" => (
            Kind::Unicode,
            n.checked_mul(4)
                .ok_or_else(|| format!("unsupported dtype '{descr}': elements too wide"))?,
        ),
        "S" | "a" => (Kind::Bytes, n),
        "O" => return Err("object arrays (pickled Python objects) cannot be read; save plain numeric or string arrays".into()),
        _ => return Err(format!("unsupported dtype '{descr}' (supported: bool, int8..int64, uint8..uint64, float16/32/64, fixed-width strings)")),
    };
    if size == 0 {
        // numpy never writes zero-width strings (it widens them to 1), and any count of them
        // would fit in no data at all.
        return Err(format!("unsupported dtype '{descr}': zero-width elements"));
    }
    Ok(Dtype {
        kind,
        size,
        big_endian,
    })
}

/// A minimal reader for the Python dict literal of a .npy header.
struct HeaderParser<'a> {
    s: &'a [u8],
    i: usize,
}

#[derive(Debug)]
enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    Other,
}

impl HeaderParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> Option<String> {
        self.ws();
        let q = *self.s.get(self.i)?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let start = self.i + 1;
        let end = start + self.s[start..].iter().position(|&c| c == q)?;
        self.i = end + 1;
        Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
    }

    fn value(&mut self) -> Option<PyValue> {
        self.ws();
        match *self.s.get(self.i)? {
            b'\'' | b'"' => self.string().map(PyValue::Str),
            b'(' => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    if self.eat(b')') {
                        return Some(PyValue::Tuple(dims));
                    }
                    self.ws();
                    let start = self.i;
                    while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                        self.i += 1;
                    }
                    let digits = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                    dims.push(digits.parse().ok()?);
                    // Python 2 era files may write long integers as 3L.
                    self.eat(b'L');
                    if !self.eat(b',') && !matches!(self.s.get(self.i), Some(b')')) {
                        self.ws();
                        if self.s.get(self.i) != Some(&b')') {
                            return None;
                        }
                    }
                }
            }
            b'T' if self.s[self.i..].starts_with(b"True") => {
                self.i += 4;
                Some(PyValue::Bool(true))
            }
            b'F' if self.s[self.i..].starts_with(b"False") => {
                self.i += 5;
                Some(PyValue::Bool(false))
            }
            _ => {
                // Anything else (lists of a structured dtype, ...): skip to the next top-level comma.
                let mut depth = 0i32;
                while let Some(&c) = self.s.get(self.i) {
                    match c {
                        b'[' | b'(' | b'{' => depth += 1,
                        b']' | b')' => depth -= 1,
                        b'}' if depth == 0 => break,
                        b'}' => depth -= 1,
                        b',' if depth == 0 => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                Some(PyValue::Other)
            }
        }
    }
}

struct Header {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
}

fn parse_header(text: &[u8]) -> std::result::Result<Header, String> {
    let bad = || {
        format!(
            "malformed header '{}'",
            String::from_utf8_lossy(text).trim()
        )
    };
    let mut p = HeaderParser { s: text, i: 0 };
    if !p.eat(b'{') {
        return Err(bad());
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if p.eat(b'}') {
            break;
        }
        let key = p.string().ok_or_else(bad)?;
        if !p.eat(b':') {
            return Err(bad());
        }
        let v = p.value().ok_or_else(bad)?;
        match (key.as_str(), v) {
            ("descr", PyValue::Str(s)) => descr = Some(s),
            ("descr", _) => {
                return Err(
                    "structured (record) dtypes are not supported; save plain arrays".into(),
                )
            }
            ("fortran_order", PyValue::Bool(b)) => fortran = Some(b),
            ("shape", PyValue::Tuple(t)) => shape = Some(t),
            _ => {}
        }
        if !p.eat(b',') {
            if p.eat(b'}') {
                break;
            }
            return Err(bad());
        }
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran), Some(shape)) => Ok(Header {
            descr,
            fortran,
            shape,
        }),
        _ => Err(format!("{}: needs descr, fortran_order and shape", bad())),
    }
}

/// Reorders Fortran-order elements of `shape` into C order.
fn fortran_to_c<T: Clone>(v: Vec<T>, shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 || v.is_empty() {
        return v;
    }
    let mut fstride = vec![1usize; shape.len()];
    for j in 1..shape.len() {
        fstride[j] = fstride[j - 1] * shape[j - 1];
    }
    let mut idx = vec![0usize; shape.len()];
    let mut out = Vec::with_capacity(v.len());
    for _ in 0..v.len() {
        let off: usize = idx.iter().zip(&fstride).map(|(i, s)| i * s).sum();
        out.push(v[off].clone());
        for j in (0..shape.len()).rev() {
            idx[j] += 1;
            if idx[j] < shape[j] {
                break;
            }
            idx[j] = 0;
        }
    }
    out
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

fn decode(raw: &[u8], dt: &Dtype, n: usize) -> std::result::Result<NpyData, String> {
    let word = |c: &[u8]| -> u64 {
        let mut b = [0u8; 8];
        if dt.big_endian {
            b[8 - c.len()..].copy_from_slice(c);
            u64::from_be_bytes(b)
        } else {
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        }
    };
    let chunks = raw.chunks_exact(dt.size).take(n);
    Ok(match dt.kind {
        Kind::Bool => NpyData::Bool(raw.iter().take(n).map(|&b| b != 0).collect()),
        Kind::Int => NpyData::Int(
            chunks
                .map(|c| {
                    let bits = 64 - 8 * c.len() as u32;
                    ((word(c) << bits) as i64) >> bits
                })
                .collect(),
        ),
        Kind::Uint => NpyData::Int(
            chunks
                .map(|c| {
                    i64::try_from(word(c))
                        .map_err(|_| format!("uint64 value {} does not fit in int64", word(c)))
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        Kind::Float => NpyData::Float(match dt.size {
            2 => chunks.map(|c| f16_to_f64(word(c) as u16)).collect(),
            4 => chunks
                .map(|c| f32::from_bits(word(c) as u32) as f64)
                .collect(),
            _ => chunks.map(|c| f64::from_bits(word(c))).collect(),
        }),
        Kind::Unicode => NpyData::Str(
            chunks
                .map(|c| {
                    let s: String = c
                        .chunks_exact(4)
                        .map(|u| word(u) as u32)
                        .take_while(|&u| u != 0)
                        .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                        .collect();
                    s
                })
                .collect(),
        ),
        Kind::Bytes => NpyData::Str(
            chunks
                .map(|c| {
                    let end = c.iter().rposition(|&b| b != 0).map_or(0, |e| e + 1);
                    String::from_utf8_lossy(&c[..end]).into_owned()
                })
                .collect(),
        ),
    })
}

/// Reads one .npy array from `r`. `path` and `member` (the array's name inside an .npz) only
/// label errors; `available` (bytes left in the source, when known) stops a corrupt shape from
/// allocating more than the file could hold.
pub fn read_npy_array(
    r: &mut dyn Read,
    path: &Path,
    member: Option<&str>,
    available: Option<u64>,
) -> Result<NpyArray> {
    let ctx = |reason: String| {
        DataError::format(
            path,
            match member {
                Some(m) => format!("array '{m}': {reason}"),
                None => reason,
            },
        )
    };
    let mut pre = [0u8; 10];
    r.read_exact(&mut pre)
        .map_err(|_| ctx("truncated: shorter than a .npy header".into()))?;
    if &pre[..6] != MAGIC {
        return Err(ctx(
            "not a .npy array (bad magic; expected \\x93NUMPY)".into()
        ));
    }
    let (major, hlen_bytes) = (pre[6], [pre[8], pre[9]]);
    let (hlen, used) = match major {
        1 => (u16::from_le_bytes(hlen_bytes) as usize, 10),
        2 | 3 => {
            let mut more = [0u8; 2];
            r.read_exact(&mut more)
                .map_err(|_| ctx("truncated header".into()))?;
            (
                u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as usize,
                12,
            )
        }
        v => return Err(ctx(format!("unsupported .npy format version {v}"))),
    };
    if available.is_some_and(|a| (used + hlen) as u64 > a) || hlen > 1 << 24 {
        return Err(ctx(format!(
            "truncated: header of {hlen} bytes does not fit in the file"
        )));
    }
    let mut htext = vec![0u8; hlen];
    r.read_exact(&mut htext)
        .map_err(|_| ctx("truncated header".into()))?;
    let h = parse_header(&htext).map_err(ctx)?;
    let dt = parse_descr(&h.descr).map_err(ctx)?;
    let n = h
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| ctx(format!("shape {:?} overflows", h.shape)))?;
    let want = n
        .checked_mul(dt.size)
        .ok_or_else(|| ctx(format!("shape {:?} overflows", h.shape)))?;
    if let Some(a) = available {
        let left = a.saturating_sub((used + hlen) as u64);
        if (want as u64) > left {
            return Err(ctx(format!(
                "truncated: shape {:?} of {} needs {want} bytes of data, the file has {left}",
                h.shape, h.descr
            )));
        }
    }
    // From a stream of unknown size, a corrupt shape must not reserve more than arrives.
    let mut raw = Vec::with_capacity(if available.is_some() {
        want
    } else {
        want.min(1 << 26)
    });
    r.take(want as u64)
        .read_to_end(&mut raw)
        .map_err(|e| ctx(format!("cannot read the data: {e}")))?;
    if raw.len() < want {
        return Err(ctx(format!(
            "truncated: shape {:?} of {} needs {want} bytes of data, found {}",
            h.shape,
            h.descr,
            raw.len()
        )));
    }
    let mut data = decode(&raw, &dt, n).map_err(ctx)?;
    if h.fortran {
        data = match data {
            NpyData::Float(v) => NpyData::Float(fortran_to_c(v, &h.shape)),
            NpyData::Int(v) => NpyData::Int(fortran_to_c(v, &h.shape)),
            NpyData::Bool(v) => NpyData::Bool(fortran_to_c(v, &h.shape)),
            NpyData::Str(v) => NpyData::Str(fortran_to_c(v, &h.shape)),
        };
    }
    Ok(NpyArray {
        shape: h.shape,
        descr: h.descr,
        data,
    })
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let f = File::open(path).map_err(|e| DataError::io(path, "open", e))?;
    let len = f.metadata().map(|m| m.len()).ok();
    read_npy_array(&mut BufReader::new(f), path, None, len)
}

/// An open `.npz` archive, reading members on demand.
pub struct NpzFile {
    path: PathBuf,
    zip: zip::ZipArchive<BufReader<File>>,
}

impl NpzFile {
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| DataError::io(path, "open", e))?;
        let zip = zip::ZipArchive::new(BufReader::new(f))
            .map_err(|e| DataError::format(path, format!("not a valid .npz (zip) archive: {e}")))?;
        Ok(NpzFile {
            path: path.to_path_buf(),
            zip,
        })
    }

    /// Array names (member names without `.npy`), in archive order.
    pub fn keys(&self) -> Vec<String> {
        self.zip
            .file_names()
            .map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string())
            .collect()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.zip.index_for_name(&format!("{key}.npy")).is_some()
            || self.zip.index_for_name(key).is_some()
    }

    /// The array `key`; a missing key is an error listing the keys present.
    pub fn array(&mut self, key: &str) -> Result<NpyArray> {
        let name = [format!("{key}.npy"), key.to_string()]
            .into_iter()
            .find(|n| self.zip.index_for_name(n).is_some());
        let Some(name) = name else {
            return Err(DataError::MissingKey {
                path: self.path.clone(),
                key: key.to_string(),
                present: self.keys(),
            });
        };
        let mut member = self
            .zip
            .by_name(&name)
            .map_err(|e| DataError::format(&self.path, format!("array '{key}': {e}")))?;
        let size = member.size();
        read_npy_array(&mut member, &self.path, Some(key), Some(size))
    }
}

/// Writes a version 1.0 .npy header, padded so the data starts on a 64-byte boundary.
pub fn write_npy_header(w: &mut dyn Write, descr: &str, shape: &[usize]) -> std::io::Result<()> {
    let dims = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let total = 10 + h.len() + 1;
    h.push_str(&" ".repeat((64 - total % 64) % 64));
    h.push('\n');
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&(h.len() as u16).to_le_bytes())?;
    w.write_all(h.as_bytes())
}

/// Values an .npz member can be written from.
pub enum NpyOut<'a> {
    /// Pixels, a quarter of their size as f32.
    U8(&'a [u8]),
    F32(&'a [f32]),
    I64(&'a [i64]),
    /// Written as numpy unicode (`<U{longest}`, UTF-32LE).
    Str(&'a [String]),
}

impl NpyOut<'_> {
    fn descr_and_len(&self) -> (String, usize) {
        match self {
            NpyOut::U8(v) => ("|u1".into(), v.len()),
            NpyOut::F32(v) => ("<f4".into(), v.len() * 4),
            NpyOut::I64(v) => ("<i8".into(), v.len() * 8),
            NpyOut::Str(v) => {
                let width = v
                    .iter()
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(1);
                (format!("<U{width}"), v.len() * width * 4)
            }
        }
    }

    fn write_data(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        let flush = |buf: &mut Vec<u8>, w: &mut dyn Write, force: bool| -> std::io::Result<()> {
            if force || buf.len() >= 1 << 16 {
                w.write_all(buf)?;
                buf.clear();
            }
            Ok(())
        };
        match self {
            NpyOut::U8(v) => w.write_all(v)?,
            NpyOut::F32(v) => {
                for x in *v {
                    buf.extend_from_slice(&x.to_le_bytes());
                    flush(&mut buf, w, false)?;
                }
            }
            NpyOut::I64(v) => {
                for x in *v {
                    buf.extend_from_slice(&x.to_le_bytes());
                    flush(&mut buf, w, false)?;
                }
            }
            NpyOut::Str(v) => {
                let width = v
                    .iter()
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(1);
                for s in *v {
                    let mut k = 0;
                    for c in s.chars() {
                        buf.extend_from_slice(&(c as u32).to_le_bytes());
                        k += 1;
                    }
                    buf.resize(buf.len() + (width - k) * 4, 0);
                    flush(&mut buf, w, false)?;
                }
            }
        }
        flush(&mut buf, w, true)
    }
}

/// Writes an .npz archive (members stored uncompressed, as `numpy.savez`) into `w`:
/// each entry is (name, shape, values).
pub fn write_npz<W: Write + Seek>(
    w: W,
    arrays: &[(&str, &[usize], NpyOut<'_>)],
) -> std::io::Result<()> {
    let mut zip = zip::ZipWriter::new(w);
    for (name, shape, data) in arrays {
        let (descr, bytes) = data.descr_and_len();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes as u64 + 4096 >= u32::MAX as u64);
        zip.start_file(format!("{name}.npy"), opts)
            .map_err(std::io::Error::other)?;
        write_npy_header(&mut zip, &descr, shape)?;
        data.write_data(&mut zip)?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn parse(bytes: &[u8]) -> Result<NpyArray> {
        read_npy_array(
            &mut &bytes[..],
            Path::new("t.npy"),
            None,
            Some(bytes.len() as u64),
        )
    }

    #[test]
    fn zero_width_strings_are_refused() {
        // Found by the npy fuzz target: 33e9 '<U0' strings fit in no data and were allocated.
        let b = npy_bytes("<U0", false, "(33333333333,)", &[]);
        let e = parse(&b).unwrap_err().to_string();
        assert!(e.contains("zero-width elements"), "{e}");
        let b = npy_bytes("<U4611686018427387904", false, "(1,)", &[]);
        let e = parse(&b).unwrap_err().to_string();
        assert!(e.contains("too wide"), "{e}");
    }

    #[test]
    fn non_ascii_type_code_is_an_error() {
        // Found by the npy fuzz target: slicing the type code at byte 1 split a character.
        let mut b = npy_bytes("<\u{fffd}i8", false, "(1,)", &[0; 8]);
        let e = parse(&b).unwrap_err().to_string();
        assert!(e.contains("unsupported dtype"), "{e}");
        let at = b
            .windows(3)
            .position(|w| w == "\u{fffd}".as_bytes())
            .unwrap();
        b[at..at + 3].copy_from_slice(&[0xff; 3]);
        let e = parse(&b).unwrap_err().to_string();
        assert!(
            e.contains("unsupported dtype") || e.contains("header"),
            "{e}"
        );
    }

    #[test]
    fn huge_shape_from_a_stream_is_truncated_not_allocated() {
        // Found by the npy fuzz target: with no size known, the shape alone sized the buffer.
        let b = npy_bytes("|S2", false, "(2450533354792725162,)", &[0; 4]);
        let e = read_npy_array(&mut &b[..], Path::new("t.npy"), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn dtypes_and_endianness() {
        let a = parse(&npy_bytes(
            "<i2",
            false,
            "(3,)",
            &[1, 0, 0xff, 0xff, 0, 0x80],
        ))
        .unwrap();
        assert_eq!(a.data, NpyData::Int(vec![1, -1, -32768]));
        let a = parse(&npy_bytes(">u2", false, "(2,)", &[1, 0, 0, 2])).unwrap();
        assert_eq!(a.data, NpyData::Int(vec![256, 2]));
        let a = parse(&npy_bytes("|b1", false, "(2,)", &[0, 1])).unwrap();
        assert_eq!(a.data, NpyData::Bool(vec![false, true]));
        let a = parse(&npy_bytes(
            "<f2",
            false,
            "(3,)",
            &[0, 0x3c, 0, 0xc0, 0x00, 0x7c],
        ))
        .unwrap();
        assert_eq!(a.data, NpyData::Float(vec![1.0, -2.0, f64::INFINITY]));
        let mut d = Vec::new();
        for v in [1.5f64, -0.25] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        let a = parse(&npy_bytes(">f8", false, "(1, 2)", &d)).unwrap();
        assert_eq!(
            (a.shape.clone(), a.data),
            (vec![1, 2], NpyData::Float(vec![1.5, -0.25]))
        );
        let a = parse(&npy_bytes("|S3", false, "(2,)", b"ab\0xyz")).unwrap();
        assert_eq!(a.data, NpyData::Str(vec!["ab".into(), "xyz".into()]));
        let a = parse(&npy_bytes("<f4", false, "()", &2.5f32.to_le_bytes())).unwrap();
        assert_eq!((a.shape.len(), a.len()), (0, 1));
    }

    #[test]
    fn fortran_order_is_transposed_to_c() {
        // 2x3 matrix [[0,1,2],[3,4,5]] stored column-major: 0 3 1 4 2 5
        let data: Vec<u8> = [0u8, 3, 1, 4, 2, 5].to_vec();
        let a = parse(&npy_bytes("|u1", true, "(2, 3)", &data)).unwrap();
        assert_eq!(a.data, NpyData::Int(vec![0, 1, 2, 3, 4, 5]));
        // 2x2x2: C value at (i,j,k) = 4i+2j+k, stored with i fastest.
        let mut f = Vec::new();
        for k in 0..2u8 {
            for j in 0..2u8 {
                for i in 0..2u8 {
                    f.push(4 * i + 2 * j + k);
                }
            }
        }
        let a = parse(&npy_bytes("|u1", true, "(2, 2, 2)", &f)).unwrap();
        assert_eq!(a.data, NpyData::Int((0..8).collect()));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = parse(b"PK\x03\x04 not npy at all").unwrap_err().to_string();
        assert!(e.contains("t.npy") && e.contains("bad magic"), "{e}");
        let e = parse(&npy_bytes("<f8", false, "(4,)", &[0; 16]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated") && e.contains("32 bytes"), "{e}");
        let e = parse(&npy_bytes("|O", false, "(1,)", &[0; 8]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("object arrays"), "{e}");
        let e = parse(&npy_bytes("<c16", false, "(1,)", &[0; 16]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported dtype '<c16'"), "{e}");
        let e = parse(&npy_bytes("<f8", false, "(4", &[0; 32]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("malformed header"), "{e}");
        let e = parse(&npy_bytes(
            "<f8",
            false,
            "(4294967296, 4294967296, 4294967296)",
            &[0; 32],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("overflows"), "{e}");
    }

    #[test]
    fn npz_round_trip_and_missing_key() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.npz");
        let names = vec!["ü".to_string(), "cat".to_string(), String::new()];
        crate::atomic::write_atomic(&p, |w| {
            write_npz(
                w,
                &[
                    ("X", &[2, 2], NpyOut::F32(&[1.0, 2.0, 3.0, -4.5])),
                    ("y", &[2], NpyOut::I64(&[7, -1])),
                    ("names", &[3], NpyOut::Str(&names)),
                    ("meta", &[], NpyOut::Str(&["{}".to_string()])),
                    ("px", &[3], NpyOut::U8(&[0, 128, 255])),
                ],
            )
        })
        .unwrap();
        let mut z = NpzFile::open(&p).unwrap();
        assert_eq!(z.keys(), vec!["X", "y", "names", "meta", "px"]);
        let px = z.array("px").unwrap();
        assert_eq!(px.descr, "|u1");
        assert_eq!(px.data, NpyData::Int(vec![0, 128, 255]));
        let x = z.array("X").unwrap();
        assert_eq!((x.shape.clone(), x.descr.as_str()), (vec![2, 2], "<f4"));
        assert_eq!(x.data, NpyData::Float(vec![1.0, 2.0, 3.0, -4.5]));
        assert_eq!(z.array("y").unwrap().data, NpyData::Int(vec![7, -1]));
        assert_eq!(z.array("names").unwrap().descr, "<U3");
        assert_eq!(z.array("names").unwrap().data, NpyData::Str(names));
        assert_eq!(z.array("meta").unwrap().shape, Vec::<usize>::new());
        let e = z.array("labels").unwrap_err().to_string();
        assert!(
            e.contains("a.npz") && e.contains("'labels'") && e.contains("X, y, names, meta, px"),
            "{e}"
        );
        std::fs::write(&p, b"not a zip").unwrap();
        let e = NpzFile::open(&p).err().unwrap().to_string();
        assert!(e.contains("not a valid .npz"), "{e}");
    }
}
