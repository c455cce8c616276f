//! Instance transfer: weights for source samples so that the weighted source resembles the target.
//!
//! Every estimator is a struct of hyper-parameters (defaults as in its paper and in ADAPT) that
//! implements [`Reweighter`]: `reweight(&source, &target)` returns one weight per source row.
//! The methods that estimate a density ratio `p_target(x) / p_source(x)` as a function (KLIEP,
//! uLSIF, RuLSIF, the domain classifier) also have a `fit` that returns a [`Fitted`] value, whose
//! ratio evaluates on new rows through [`DensityRatio`].
//!
//! ```
//! use graft_shallow::instance::{Reweighter, Ulsif};
//! use graft_shallow::Matrix;
//!
//! let source = Matrix::from_rows(&[[0.0], [0.5], [1.0], [1.5], [2.0], [2.5]])?;
//! let target = Matrix::from_rows(&[[1.8], [2.0], [2.2], [2.4]])?;
//! let w = Ulsif::default().reweight(&source, &target)?;
//! assert!(w.weights[5] > w.weights[0]);
//! assert!(w.effective_sample_size() <= 6.0);
//! # Ok::<(), graft_shallow::LinalgError>(())
//! ```

mod centres;
mod discriminative;
mod input;
mod kliep;
mod kmm;
mod kmm_qp;
mod nnw;
mod ratio;
mod ulsif;
mod weights;

pub use discriminative::{ClassifierRatio, DiscriminativeRatio};
pub use kliep::{Kliep, KliepSolver};
pub use kmm::Kmm;
pub use nnw::NearestNeighborsWeighting;
pub use ratio::{DensityRatio, Fitted, KernelRatio};
pub use ulsif::{Rulsif, Ulsif};
pub use weights::{effective_sample_size, histogram, InstanceWeights};

use crate::error::Result;
use crate::matrix::Matrix;

/// An instance-weighting method: one non-negative weight per source row.
pub trait Reweighter {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights>;
}
