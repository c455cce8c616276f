//! Recipe TOML, as `graft finetune --resume`, `graft eval` and `graft adapt --recipe` read it:
//! the binary's own recipe modules, compiled in by path (the `graft` crate has no library), read
//! from a file, then completed and turned into the engine's configuration as `graft adapt` does.
#![no_main]
mod common;

#[path = "../../crates/graft/src/cmd/adapt/recipe.rs"]
mod adapt_recipe;
#[path = "../../crates/graft/src/recipe.rs"]
mod recipe;

use graft_data::preprocess::Normalization;
use graft_nn::train::InputSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::file("recipe.toml", data);
    let _ = recipe::Recipe::read(p.parent().expect("scratch folder"));
    if let Ok(r) = adapt_recipe::AdaptRecipe::read(&p) {
        let input = InputSpec {
            channels: 1,
            height: 28,
            width: 28,
            normalization: Normalization::UnitRange,
        };
        let _ = r.complete().configs(input);
    }
});
