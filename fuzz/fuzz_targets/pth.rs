//! PyTorch checkpoints, zip (torch >= 1.6) or legacy pickle stream, through
//! `graft_nn::weights::pth::read`; the container is chosen by the first bytes, as graft does.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::file("w.pth", data);
    if let Ok(sd) = graft_nn::weights::pth::read(&p) {
        let _ = sd.len();
    }
});
