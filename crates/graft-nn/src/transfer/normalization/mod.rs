//! Normalisation statistics re-estimated on the target domain (AdaBN).

pub mod adabn;
