//! What the model parity tests share: fixtures that hold several models' tensors under a
//! prefix each, largest differences, and a store's names and shapes to compare with a reference
//! library's. Each test file uses some of these.
#![allow(dead_code)]

use graft_nn::weights::StateDict;
use std::collections::BTreeMap;
use tch::nn::VarStore;
use tch::Tensor;

/// The largest absolute value of `t`.
pub fn max_abs(t: &Tensor) -> f64 {
    t.abs().max().double_value(&[])
}

/// The tensors of `sd` whose names start with `prefix`, under the rest of their names.
pub fn under(sd: &StateDict, prefix: &str) -> StateDict {
    let mut out = StateDict::default();
    for (k, t) in &sd.tensors {
        if let Some(name) = k.strip_prefix(prefix) {
            out.insert(name, t.shallow_clone());
        }
    }
    out
}

/// Every variable of `vs` by name, with its shape.
pub fn shapes(vs: &VarStore) -> BTreeMap<String, Vec<i64>> {
    vs.variables()
        .into_iter()
        .map(|(k, t)| (k, t.size()))
        .collect()
}
