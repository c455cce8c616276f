//! safetensors weight files as graft loads them into libtorch tensors
//! (`graft_nn::weights::safetensors::from_bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = graft_nn::weights::safetensors::from_bytes(data, Path::new("fuzz.safetensors"))
    {
        let _ = sd.len();
    }
});
