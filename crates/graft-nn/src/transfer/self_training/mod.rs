//! Self-training: the model's own confident predictions on the target as pseudo-labels.

pub mod pseudo_label;
