//! Feature-representation transfer: maps that bring source and target features together.
//!
//! | method | paper | uses |
//! |---|---|---|
//! | [`Pca`] | Long et al. 2013 (PCA baseline) | source + target rows |
//! | [`Coral`] | Sun, Feng & Saenko 2016 | source and target covariances |
//! | [`SubspaceAlignment`] | Fernando et al. 2013 | source and target principal axes |
//! | [`Tca`] | Pan et al. 2011 | source + target rows (primal or kernel form) |
//! | [`Jda`] | Long et al. 2013 | as TCA, plus source labels and target pseudo-labels |
//! | [`FeatureAugmentation`] | Daume III 2007 | labelled target rows |
//!
//! Every method takes [`Domains`] and returns [`Aligned`]: the mapped source, target and
//! labelled target rows, notes on what was regularised, and
//! [`Aligned::transform_target`] for new target rows (a held-out test set).
//!
//! Normalisation of the JDA benchmark (MNIST/USPS, COIL20; Long et al. 2013 and their code):
//! every input row is scaled to unit L2 norm ([`l2_normalise_rows`]); for TCA and JDA the
//! embedded rows are L2-normalised again before the 1-NN classifier; the PCA baseline
//! classifies its projections as they are. The methods themselves never normalise, so the
//! same rows can be aligned with or without it.
//!
//! ```
//! use graft_shallow::align::{l2_normalise_rows, AlignMethod, Domains, Jda};
//! use graft_shallow::{KNeighborsClassifier, Matrix};
//!
//! let xs = Matrix::from_rows(&[[1.0, 0.1], [0.9, 0.2], [0.1, 1.0], [0.2, 0.8]])?;
//! let xt = Matrix::from_rows(&[[1.0, 0.4], [0.3, 1.1], [0.9, 0.5]])?;
//! let ys = [0, 0, 1, 1];
//! let (xs, xt) = (l2_normalise_rows(&xs), l2_normalise_rows(&xt));
//! let jda = AlignMethod::Jda(Jda { dim: 2, iterations: 3, ..Default::default() });
//! let a = jda.fit(&Domains::new(&xs, &ys, &xt))?;
//! let knn = KNeighborsClassifier { k: Some(1), ..Default::default() }
//!     .fit(&l2_normalise_rows(&a.source), &ys, None)?;
//! assert_eq!(knn.predict(&l2_normalise_rows(&a.target))?, vec![0, 1, 0]);
//! # Ok::<(), graft_shallow::LinalgError>(())
//! ```

mod aligned;
mod coral;
mod covariance;
mod domains;
mod eigen;
mod fa;
mod jda;
mod mmd;
mod pca;
mod sa;
mod tca;
#[cfg(test)]
mod tests;

pub use aligned::Aligned;
pub use coral::{Coral, LambdaScale};
pub use domains::{l2_normalise_rows, Domains};
pub use fa::FeatureAugmentation;
pub use jda::Jda;
pub use pca::Pca;
pub use sa::SubspaceAlignment;
pub use tca::Tca;

use crate::error::Result;

/// One alignment method and its hyper-parameters: what the `align` command holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AlignMethod {
    /// Rows passed through unchanged (the no-transfer baseline).
    #[default]
    None,
    Pca(Pca),
    Coral(Coral),
    Sa(SubspaceAlignment),
    Tca(Tca),
    Jda(Jda),
    Fa(FeatureAugmentation),
}

impl AlignMethod {
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        match self {
            AlignMethod::None => {
                let features = d.check()?;
                Ok(Aligned {
                    source: d.source.clone(),
                    target: d.target.clone(),
                    target_labelled: d.target_labelled.map(|(x, _)| x.clone()),
                    notes: Vec::new(),
                    map: aligned::TargetMap::Identity,
                    input_dim: features,
                    pseudo_labels: None,
                })
            }
            AlignMethod::Pca(m) => m.fit(d),
            AlignMethod::Coral(m) => m.fit(d),
            AlignMethod::Sa(m) => m.fit(d),
            AlignMethod::Tca(m) => m.fit(d),
            AlignMethod::Jda(m) => m.fit(d),
            AlignMethod::Fa(m) => m.fit(d),
        }
    }

    /// Short lower-case name (`none`, `pca`, `coral`, `sa`, `tca`, `jda`, `fa`).
    pub fn name(&self) -> &'static str {
        match self {
            AlignMethod::None => "none",
            AlignMethod::Pca(_) => "pca",
            AlignMethod::Coral(_) => "coral",
            AlignMethod::Sa(_) => "sa",
            AlignMethod::Tca(_) => "tca",
            AlignMethod::Jda(_) => "jda",
            AlignMethod::Fa(_) => "fa",
        }
    }
}
