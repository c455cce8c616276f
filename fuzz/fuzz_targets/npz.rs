//! .npz archives: `open_arrays` (keys `X`/`y`, graft feature files) and `open_array_spec`
//! (`FILE.npz:NAME` for the arrays `NAME_X` and `NAME_y`).
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::file("d.npz", data);
    let check = |a: graft_data::ArrayDataset| {
        assert_eq!(a.x.len(), a.n * a.dim());
        if let Some(y) = &a.y {
            assert_eq!(y.len(), a.n);
        }
    };
    if let Ok(a) = graft_data::arrays::open_arrays(&p) {
        check(a);
    }
    let spec = format!("{}:train", p.display());
    if let Ok(a) = graft_data::arrays::open_array_spec(&spec) {
        check(a);
    }
});
