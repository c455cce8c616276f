//! Regularisation towards what the pre-trained model knew: its weights (L2-SP), its feature
//! maps (DELTA), or against the spectral components that transfer badly (BSS).

pub mod bss;
pub mod delta;
pub mod l2sp;
