//! Joint distribution adaptation: TCA's marginal MMD plus one class-conditional MMD per class,
//! with target classes from 1-NN pseudo-labels refined over a few rounds.

use super::aligned::Aligned;
use super::domains::{l2_normalise_rows, Domains};
use super::mmd::{MmdProblem, Solution};
use super::tca::split;
use crate::error::{LinalgError, Result};
use crate::kernel::Kernel;
use crate::knn::KNeighborsClassifier;
use crate::validate;
use faer::Mat;

/// Long et al. 2013, "Transfer feature learning with joint distribution adaptation" (ICCV),
/// Algorithm 1: `(X sum_c M_c X^T + lambda I) A = X H X^T A Phi`, `k` smallest `Phi`, T rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Jda {
    /// Subspace dimension `k`; 100 in the paper's digit and COIL experiments.
    pub dim: usize,
    /// Regulariser `lambda` on `||A||_F^2`; 0.1 in the paper's digit and COIL experiments.
    pub lambda: f64,
    /// `None`: the primal form `z = A^T x` (`d x d` problem) the benchmark figures use;
    /// `Some(kernel)`: the kernel form `z = W^T k(X, x)` (`n x n` problem).
    pub kernel: Option<Kernel>,
    /// Rounds `T` of pseudo-labelling; 10 in the paper. Round 1 uses the marginal term alone.
    pub iterations: usize,
}

impl Default for Jda {
    fn default() -> Self {
        Jda {
            dim: 100,
            lambda: 0.1,
            kernel: None,
            iterations: 10,
        }
    }
}

impl Jda {
    /// As the authors' code: `M_0 = C e e^T` with `e = [1/ns ..., -1/nt ...]`; from round 2
    /// one `e_c e_c^T` per source class `c` (`1/ns_c` on its source rows, `-1/nt_c` on the
    /// target rows pseudo-labelled `c`, zero when none is); `M` scaled to unit Frobenius
    /// norm. Pseudo-labels come from a 1-NN classifier fitted on the L2-normalised embedded
    /// source rows and applied to the L2-normalised embedded target rows; the benchmark also
    /// L2-normalises the input rows (`l2_normalise_rows`). Labelled target rows are mapped
    /// with the target, not used in fitting.
    pub fn fit(&self, d: &Domains) -> Result<Aligned> {
        let features = d.check()?;
        validate::positive("jda.lambda", self.lambda)?;
        if self.iterations == 0 {
            return Err(LinalgError::param("jda.iterations", 0, "at least 1 round"));
        }
        let (ns, nt) = (d.source.rows(), d.target.rows());
        let mut classes = d.source_labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if let [only] = classes[..] {
            return Err(LinalgError::SingleClass {
                input: "source_labels",
                class: only,
            });
        }
        let problem = MmdProblem::new(d.stacked()?, self.kernel, self.lambda, self.dim, "jda.dim")?;
        let knn = KNeighborsClassifier {
            k: Some(1),
            ..Default::default()
        };
        let label = |sol: &Solution| -> Result<Vec<usize>> {
            let (zs, zt) = split(&sol.embedded, ns);
            let model = knn.fit(&l2_normalise_rows(&zs), d.source_labels, None)?;
            model.predict(&l2_normalise_rows(&zt))
        };
        let (e, c) = mmd_terms(d.source_labels, &classes, None, ns, nt);
        let mut sol = problem.solve(&e, &c, "jda")?;
        let mut pseudo = label(&sol)?;
        let mut notes = Vec::new();
        for round in 2..=self.iterations {
            let (e, c) = mmd_terms(d.source_labels, &classes, Some(&pseudo), ns, nt);
            sol = problem.solve(&e, &c, "jda")?;
            let labels = label(&sol)?;
            let changed = pseudo.iter().zip(&labels).filter(|(a, b)| a != b).count();
            notes.push(format!(
                "jda: round {round}: {changed} of {nt} target pseudo-labels changed"
            ));
            pseudo = labels;
            if changed == 0 && round < self.iterations {
                // The next round would build the same M, hence the same solution and labels.
                notes.push(format!(
                    "jda: pseudo-labels stable; rounds {}..{} would repeat round {round}",
                    round + 1,
                    self.iterations
                ));
                break;
            }
        }
        notes.extend(sol.singular_note("jda", self.dim));
        let (source, target) = split(&sol.embedded, ns);
        let map = problem.into_map(sol.directions);
        Ok(Aligned {
            source,
            target,
            target_labelled: d.target_labelled.map(|(x, _)| map.apply(x)).transpose()?,
            notes,
            map,
            input_dim: features,
            pseudo_labels: Some(pseudo),
        })
    }
}

/// The columns `e_j` and weights `c_j` of `M = sum_j c_j e_j e_j^T`.
fn mmd_terms(
    ys: &[usize],
    classes: &[usize],
    pseudo: Option<&[usize]>,
    ns: usize,
    nt: usize,
) -> (Mat<f64>, Vec<f64>) {
    let n = ns + nt;
    let r = 1 + if pseudo.is_some() { classes.len() } else { 0 };
    let mut e = Mat::zeros(n, r);
    for i in 0..n {
        e[(i, 0)] = if i < ns {
            1.0 / ns as f64
        } else {
            -1.0 / nt as f64
        };
    }
    let mut c = vec![classes.len() as f64];
    if let Some(pl) = pseudo {
        for (j, &class) in classes.iter().enumerate() {
            let ns_c = ys.iter().filter(|&&y| y == class).count();
            let nt_c = pl.iter().filter(|&&y| y == class).count();
            for (i, &y) in ys.iter().enumerate() {
                if y == class {
                    e[(i, j + 1)] = 1.0 / ns_c as f64;
                }
            }
            for (i, &y) in pl.iter().enumerate() {
                if y == class {
                    e[(ns + i, j + 1)] = -1.0 / nt_c as f64;
                }
            }
            c.push(1.0);
        }
    }
    (e, c)
}
