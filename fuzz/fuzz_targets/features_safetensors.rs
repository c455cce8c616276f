//! safetensors headers and tensors as graft reads feature files (`graft extract` output),
//! through `open_arrays`.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::file("f.safetensors", data);
    if let Ok(a) = graft_data::arrays::open_arrays(&p) {
        assert_eq!(a.x.len(), a.n * a.dim());
        if let Some(y) = &a.y {
            assert_eq!(y.len(), a.n);
        }
    }
});
