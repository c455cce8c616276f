//! Transfer component analysis: the embedding that matches source and target means while
//! keeping their joint variance.

use super::aligned::Aligned;
use super::domains::Domains;
use super::mmd::MmdProblem;
use crate::error::Result;
use crate::kernel::Kernel;
use crate::validate;
use faer::Mat;

/// Pan et al. 2011, "Domain adaptation via transfer component analysis" (IEEE TNN): `W` =
/// leading eigenvectors of `(I + mu' K L K)^(-1) K H K` = those of `(K L K + mu I)^(-1) K H K`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tca {
    /// Transfer components kept (`m` in the paper); the JDA benchmark uses 100.
    pub dim: usize,
    /// Weight of `tr(W^T W)` against the MMD term, with `L` scaled to unit Frobenius norm as
    /// in Long et al.'s code (their `lambda`). Pan et al. write `(I + mu' K L K)^(-1) K H K`
    /// with an unscaled `L`, and so does ADAPT's `TCA(mu=...)`: the same eigenvectors for
    /// `mu' = 1 / (mu ||L||_F)`, `||L||_F = 1/ns + 1/nt`.
    pub mu: f64,
    /// `None`: the primal (linear) form `z = x A` of the JDA benchmark, a `d x d` problem;
    /// `Some(kernel)`: the paper's kernel form over source + target, rows embedded as
    /// `k(x, X) W`: an `n x n` problem (the linear kernel is solved exactly in `d` dimensions
    /// when `dim <= d < n`).
    pub kernel: Option<Kernel>,
}

impl Default for Tca {
    fn default() -> Self {
        Tca {
            dim: 100,
            mu: 0.1,
            kernel: None,
        }
    }
}

impl Tca {
    /// Fitted on source and target rows together (labels unused). The benchmark L2-normalises
    /// the input rows and the embedded rows (`l2_normalise_rows`) before 1-NN.
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        let features = d.check()?;
        validate::positive("tca.mu", self.mu)?;
        let (ns, nt) = (d.source.rows(), d.target.rows());
        let problem = MmdProblem::new(d.stacked()?, self.kernel, self.mu, self.dim, "tca.dim")?;
        let e = Mat::from_fn(ns + nt, 1, |i, _| {
            if i < ns {
                1.0 / ns as f64
            } else {
                -1.0 / nt as f64
            }
        });
        let sol = problem.solve(&e, &[1.0], "tca")?;
        let mut notes = vec![format!(
            "tca: {} components, {} form; largest variance / MMD ratios {:.4} .. {:.4}",
            self.dim,
            if self.kernel.is_some() {
                "kernel"
            } else {
                "primal"
            },
            sol.values[0],
            sol.values[self.dim - 1]
        )];
        notes.extend(sol.singular_note("tca", self.dim));
        let (source, target) = split(&sol.embedded, ns);
        let map = problem.into_map(sol.directions);
        Ok(Aligned {
            source,
            target,
            target_labelled: d.target_labelled.map(|(x, _)| map.apply(x)).transpose()?,
            notes,
            map,
            input_dim: features,
            pseudo_labels: None,
        })
    }
}

/// The first `ns` rows and the rest.
pub(crate) fn split(z: &crate::Matrix, ns: usize) -> (crate::Matrix, crate::Matrix) {
    let src: Vec<usize> = (0..ns).collect();
    let tgt: Vec<usize> = (ns..z.rows()).collect();
    (z.select_rows(&src), z.select_rows(&tgt))
}
