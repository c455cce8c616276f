//! graft's own pickle reader (the part of .pth loading that interprets `data.pkl` and legacy
//! pickle streams) on raw bytes.
#![no_main]

use graft_nn::weights::pickle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((p, used)) = pickle::parse(data) {
        assert!(used <= data.len());
        let _ = p.value(p.root());
        for s in p.storages().values() {
            let _ = s.nbytes();
        }
    }
});
