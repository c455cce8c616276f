//! The IDX format of MNIST and Fashion-MNIST (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`),
//! plain or gzipped (recognised by content, not name). Values are kept as stored (0..255 for
//! images), so the normalisation stays an explicit choice of the caller.

use crate::arrays::ArrayDataset;
use crate::error::{DataError, Result};
use std::io::Read;
use std::path::Path;

/// Whole file contents, gunzipped when it starts with the gzip magic.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Whether `path` starts like an IDX file (after gunzipping its first bytes).
pub(crate) fn looks_like_idx(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 4];
    let mut r = std::io::BufReader::new(f);
    let mut raw = [0u8; 2];
    if r.read_exact(&mut raw).is_err() {
        return false;
    }
    let ok = if raw == [0x1f, 0x8b] {
        let Ok(f) = std::fs::File::open(path) else {
            return false;
        };
        flate2::read::GzDecoder::new(f)
            .read_exact(&mut head)
            .is_ok()
    } else {
        head[..2].copy_from_slice(&raw);
        r.read_exact(&mut head[2..]).is_ok()
    };
    ok && head[0] == 0
        && head[1] == 0
        && dtype_size(head[2]).is_some()
        && (1..=8).contains(&head[3])
}

fn dtype_size(code: u8) -> Option<usize> {
    match code {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// (dims, values) of one IDX file.
fn parse(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let b = read_maybe_gz(path)?;
    if b.len() < 4 || b[0] != 0 || b[1] != 0 {
        return Err(DataError::format(
            path,
            "not an IDX file (bad magic; expected two zero bytes, a type code and a dimension count)",
        ));
    }
    let code = b[2];
    let size = dtype_size(code).ok_or_else(|| {
        DataError::format(
            path,
            format!("unknown IDX type code 0x{code:02X} (expected 08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64)"),
        )
    })?;
    let nd = b[3] as usize;
    if nd == 0 {
        return Err(DataError::format(path, "IDX file with 0 dimensions"));
    }
    let head = 4 + 4 * nd;
    if b.len() < head {
        return Err(DataError::format(
            path,
            format!(
                "truncated: header needs {head} bytes, the file has {}",
                b.len()
            ),
        ));
    }
    let dims: Vec<usize> = b[4..head]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // A zero first dimension makes the total 0 however large the rest: the size of one sample
    // must fit on its own, or every later use of the shape overflows.
    if dims
        .iter()
        .skip(1)
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .is_none_or(|d| d.checked_mul(size).is_none())
    {
        return Err(DataError::format(
            path,
            format!("dimensions {dims:?} describe samples too large to address"),
        ));
    }
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    let want = n.saturating_mul(size);
    let have = b.len() - head;
    if have != want {
        return Err(DataError::format(
            path,
            format!(
                "{}: dimensions {dims:?} need {want} bytes of data, the file has {have}",
                if have < want {
                    "truncated"
                } else {
                    "size mismatch"
                }
            ),
        ));
    }
    let data = &b[head..];
    let x: Vec<f64> = match code {
        0x08 => data.iter().map(|&v| v as f64).collect(),
        0x09 => data.iter().map(|&v| v as i8 as f64).collect(),
        0x0B => data
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]) as f64)
            .collect(),
        0x0C => data
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        0x0D => data
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|c| f64::from_be_bytes(c.try_into().unwrap()))
            .collect(),
    };
    Ok((dims, x))
}

/// Images (first dimension = samples) and optional labels (one dimension, same count).
pub fn read_idx(images: &Path, labels: Option<&Path>) -> Result<ArrayDataset> {
    let (dims, x) = parse(images)?;
    let n = dims[0];
    let y = match labels {
        None => None,
        Some(lp) => {
            let (ldims, lv) = parse(lp)?;
            if ldims.len() != 1 {
                return Err(DataError::format(
                    lp,
                    format!("labels have dimensions {ldims:?}; expected one dimension"),
                ));
            }
            if ldims[0] != n {
                return Err(DataError::format(
                    lp,
                    format!("{} labels for {n} images in {}", ldims[0], images.display()),
                ));
            }
            Some(crate::arrays::integral_labels(&lv, lp, |i| {
                format!("label {i}")
            })?)
        }
    };
    Ok(ArrayDataset {
        x,
        n,
        sample_shape: dims[1..].to_vec(),
        y,
        class_names: None,
        source: images.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn zero_samples_of_an_unaddressable_shape_are_refused() {
        // Found by the idx fuzz target: 0 samples made the total 0, and the shape's product
        // overflowed later.
        let d = tempfile::tempdir().unwrap();
        let img = d.path().join("t-images-idx3-ubyte");
        let dims = [0, u32::MAX, u32::MAX, u32::MAX];
        std::fs::write(&img, idx(8, &dims, &[])).unwrap();
        let e = read_idx(&img, None).unwrap_err().to_string();
        assert!(
            e.contains("too large") && e.contains("t-images-idx3-ubyte"),
            "{e}"
        );
    }

    #[test]
    fn reads_images_and_labels_plain_or_gzipped() {
        let d = tempfile::tempdir().unwrap();
        let img = d.path().join("t-images-idx3-ubyte.gz");
        let lab = d.path().join("t-labels-idx1-ubyte");
        std::fs::write(
            &img,
            gz(&idx(
                8,
                &[2, 2, 3],
                &[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255],
            )),
        )
        .unwrap();
        std::fs::write(&lab, idx(8, &[2], &[7, 3])).unwrap();
        let a = read_idx(&img, Some(&lab)).unwrap();
        assert_eq!((a.n, a.sample_shape.clone()), (2, vec![2, 3]));
        assert_eq!(a.x[11], 255.0);
        assert_eq!(a.y, Some(vec![7, 3]));
        assert!(looks_like_idx(&img) && looks_like_idx(&lab));
        // open_arrays finds the labels by name.
        let b = crate::arrays::open_arrays(&img).unwrap();
        assert!(
            b.y.is_none(),
            "labels file is not named like the images file"
        );
        let lab2 = d.path().join("t-labels-idx1-ubyte.gz");
        std::fs::write(&lab2, gz(&idx(8, &[2], &[7, 3]))).unwrap();
        assert_eq!(
            crate::arrays::open_arrays(&img).unwrap().y,
            Some(vec![7, 3])
        );
        let f = d.path().join("f.idx");
        std::fs::write(&f, idx(0x0D, &[1, 2], &[0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0])).unwrap();
        assert_eq!(read_idx(&f, None).unwrap().x, vec![1.0, -2.0]);
    }

    #[test]
    fn bad_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bad-idx");
        std::fs::write(&p, b"\x89PNG....").unwrap();
        let e = read_idx(&p, None).unwrap_err().to_string();
        assert!(e.contains("bad-idx") && e.contains("bad magic"), "{e}");
        std::fs::write(&p, idx(0x07, &[1], &[0])).unwrap();
        assert!(read_idx(&p, None)
            .unwrap_err()
            .to_string()
            .contains("type code 0x07"));
        std::fs::write(&p, idx(8, &[2, 3], &[0; 5])).unwrap();
        let e = read_idx(&p, None).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("need 6 bytes"), "{e}");
        std::fs::write(&p, &gz(&idx(8, &[2, 3], &[0; 6]))[..20]).unwrap();
        assert!(read_idx(&p, None).unwrap_err().to_string().contains("gzip"));
        std::fs::write(&p, idx(8, &[2, 1], &[0; 2])).unwrap();
        let l = d.path().join("labels");
        std::fs::write(&l, idx(8, &[3], &[0; 3])).unwrap();
        let e = read_idx(&p, Some(&l)).unwrap_err().to_string();
        assert!(e.contains("3 labels for 2 images"), "{e}");
    }

    #[test]
    fn real_mnist_test_set() {
        let Some(dir) = crate::testdata::data_dir_or_skip("mnist_test") else {
            return;
        };
        let a = read_idx(
            &dir.join("t10k-images-idx3-ubyte.gz"),
            Some(&dir.join("t10k-labels-idx1-ubyte.gz")),
        )
        .unwrap();
        assert_eq!((a.n, a.sample_shape.clone()), (10_000, vec![28, 28]));
        let mut hist = [0usize; 10];
        for &l in a.y.as_ref().unwrap() {
            hist[l as usize] += 1;
        }
        assert_eq!(
            hist,
            [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
        );
        assert!(a.x.iter().all(|&v| (0.0..=255.0).contains(&v)));
    }
}
