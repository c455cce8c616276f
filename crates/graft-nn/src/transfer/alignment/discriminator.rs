//! The domain discriminator of DANN and CDAN as TLlib builds it, under TLlib's key names
//! (`0.weight`, `1.running_mean`, `3.weight`, `4.weight`, `6.0.weight`), so its checkpoints load.

use crate::models::layers::{BatchNorm2d, Linear};
use crate::transfer::check;
use crate::{NnError, Result};
use tch::nn::Path;
use tch::Tensor;

/// Ganin & Lempitsky 2015, sec. 4, the x-1024-1024 domain classifier (TLlib `DomainDiscriminator`):
/// Linear-BN-ReLU twice, then one logit, high for the source domain. The final sigmoid is left to
/// the loss ([`crate::transfer::dann_loss`] uses binary cross-entropy on logits, which is stable
/// where sigmoid + log is not).
#[derive(Debug)]
pub struct DomainDiscriminator {
    fc1: Linear,
    bn1: BatchNorm2d,
    fc2: Linear,
    bn2: BatchNorm2d,
    out: Linear,
}

impl DomainDiscriminator {
    /// TLlib's hidden width.
    pub const DEFAULT_HIDDEN: i64 = 1024;

    /// A discriminator over `in_features`-wide inputs, built under `p` with PyTorch's default
    /// initialisation and BatchNorm settings (eps 1e-5, momentum 0.1).
    pub fn new(p: &Path, in_features: i64, hidden: i64) -> Result<Self> {
        if in_features < 1 || hidden < 1 {
            return Err(NnError::Invalid(format!(
                "domain discriminator: input width and hidden width must be at least 1; got \
                 {in_features} and {hidden}"
            )));
        }
        Ok(DomainDiscriminator {
            fc1: Linear::new(&p.sub("0"), in_features, hidden),
            bn1: BatchNorm2d::new(&p.sub("1"), hidden, 1e-5, 0.1),
            fc2: Linear::new(&p.sub("3"), hidden, hidden),
            bn2: BatchNorm2d::new(&p.sub("4"), hidden, 1e-5, 0.1),
            out: Linear::new(&p.sub("6").sub("0"), hidden, 1),
        })
    }

    pub fn in_features(&self) -> i64 {
        self.fc1.in_features()
    }

    /// Logits `(N, 1)` of `features` `(N, in_features)`. With `train`, BatchNorm uses (and
    /// updates) the batch's statistics: feed source and target as one batch, as TLlib does, so
    /// that both domains share the same normalisation.
    pub fn forward(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        let (_, d) = check::matrix("domain discriminator", "features", features, 1)?;
        check::same_width(
            "domain discriminator",
            ("features", d),
            ("its input layer", self.in_features()),
        )?;
        let h = self.fc1.forward(features)?;
        let h = self.bn1.forward(&h, train)?.f_relu()?;
        let h = self.fc2.forward(&h)?;
        let h = self.bn2.forward(&h, train)?.f_relu()?;
        self.out.forward(&h)
    }
}
