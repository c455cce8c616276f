//! One .npy array from bytes: header dictionary, dtype, shape and data, with and without the
//! size of the source known in advance (files know it, streams do not).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npy");
    for available in [Some(data.len() as u64), None] {
        if let Ok(a) = graft_data::npy::read_npy_array(&mut &data[..], path, None, available) {
            let n: usize = a.shape.iter().product();
            assert_eq!(a.len(), n);
            let _ = a.to_f64(path, "x");
            let _ = a.strings(path, "x");
        }
    }
});
