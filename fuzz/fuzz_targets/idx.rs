//! IDX (MNIST) images and labels, plain or gzipped, through `open_arrays`. The first two bytes
//! (little-endian) say where the images end and the labels file begins; with fewer than two
//! bytes, or when the split leaves no labels, the images file stands alone.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;

const IMAGES: &str = "t-images-idx3-ubyte";
const LABELS: &str = "t-labels-idx1-ubyte";

fuzz_target!(|data: &[u8]| {
    let (images, labels) = match data {
        [a, b, rest @ ..] => {
            let at = (u16::from_le_bytes([*a, *b]) as usize).min(rest.len());
            rest.split_at(at)
        }
        _ => (data, &[][..]),
    };
    let p = common::file(IMAGES, images);
    if labels.is_empty() {
        common::remove(LABELS);
    } else {
        common::file(LABELS, labels);
    }
    if let Ok(a) = graft_data::arrays::open_arrays(&p) {
        assert_eq!(a.x.len(), a.n * a.dim());
        if let Some(y) = &a.y {
            assert_eq!(y.len(), a.n);
        }
    }
});
