//! Alignment: losses that pull source and target features (or predictions) together while the
//! task is learned. Adversarial ones carry their own discriminator behind a gradient reversal
//! (DANN, CDAN, MDD); the statistical ones are parameter-free (Deep CORAL, MMD).

pub mod cdan;
pub mod coral;
pub mod dann;
pub mod discriminator;
pub mod grl;
pub mod mdd;
pub mod mmd;
