//! Recipe TOML, as `graft finetune --resume`, `graft eval` and `graft adapt --recipe` read it:
//! the library's recipe types read from a file, then completed and turned into the engine's
//! configuration as `graft adapt` does.
#![no_main]
mod common;

use graft::adapt::recipe::AdaptRecipe;
use graft::recipe::Recipe;
use graft_data::preprocess::Normalization;
use graft_nn::train::InputSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::file("recipe.toml", data);
    let _ = Recipe::read(p.parent().expect("scratch folder"));
    if let Ok(r) = AdaptRecipe::read(&p) {
        let input = InputSpec {
            channels: 1,
            height: 28,
            width: 28,
            normalization: Normalization::UnitRange,
        };
        let _ = r.complete().configs(input);
    }
});
