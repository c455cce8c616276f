//! A named set of tensors as read from a checkpoint, before it is matched against a model.

use std::collections::BTreeMap;
use tch::Tensor;

/// Tensors by PyTorch key name (`layer1.0.conv1.weight`), on the CPU, in the file's dtype.
#[derive(Debug, Default)]
pub struct StateDict {
    pub tensors: BTreeMap<String, Tensor>,
}

impl StateDict {
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.tensors.get(key)
    }

    pub fn insert(&mut self, key: impl Into<String>, t: Tensor) {
        self.tensors.insert(key.into(), t);
    }
}
