//! Kernel mean matching: source weights whose weighted kernel mean is closest to the target's.

use super::input;
use super::kmm_qp::Problem;
use super::weights::InstanceWeights;
use super::Reweighter;
use crate::error::{LinalgError, Result};
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use crate::validate;
use clarabel::solver::DefaultSettings;
use rayon::prelude::*;

/// Huang et al. 2007 (NIPS 19), "Correcting sample selection bias by unlabeled data", the
/// kernel-mean-matching QP: `min_b 1/2 b'Kb - kappa'b` s.t. `0 <= b_i <= B`,
/// `|sum b - ns| <= ns eps`, `kappa_i = ns/nt sum_j k(xs_i, xt_j)`, solved by clarabel's
/// interior-point method on a working set of rows that grows until every row left out is
/// optimal at weight 0 (the solution is that of the whole QP). Defaults are ADAPT's `KMM`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kmm {
    /// `None`: RBF with scikit-learn's default `gamma = 1 / n_features`.
    pub kernel: Option<Kernel>,
    /// Upper bound `B` on every weight.
    pub b: f64,
    /// Slack on the mean weight; `None`: `(sqrt(ns) - 1) / sqrt(ns)`, ADAPT's default (the
    /// paper asks for `O(B / sqrt(ns))`).
    pub eps: Option<f64>,
    /// Larger sources are split (seeded) into `2^p` near-equal batches of at most this many
    /// rows, each matched to the whole target on its own, as ADAPT does: the QP's cost grows
    /// with the cube of its size.
    pub max_size: usize,
    /// Absolute gap and feasibility tolerance of the interior-point solver (relative gap
    /// tolerance 10x larger); `None`: 1e-7, ADAPT's setting of cvxopt.
    pub tol: Option<f64>,
    pub max_iter: u32,
    /// Rows in the first working set (those with the largest `kappa`); a batch at most twice
    /// this size is solved whole. Only the time depends on it, not the solution (up to the
    /// solver's tolerance).
    pub working_set: usize,
    /// Seeds the batch split.
    pub seed: u64,
}

impl Default for Kmm {
    fn default() -> Self {
        Kmm {
            kernel: None,
            b: 1000.0,
            eps: None,
            max_size: 1000,
            tol: None,
            max_iter: 100,
            working_set: 256,
            seed: 0,
        }
    }
}

impl Reweighter for Kmm {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights> {
        input::domains(source, target)?;
        validate::positive("b", self.b)?;
        if let Some(eps) = self.eps {
            if !(eps.is_finite() && eps >= 0.0) {
                return Err(LinalgError::param("eps", eps, "a finite number >= 0"));
            }
        }
        if self.max_size == 0 {
            return Err(LinalgError::param("max_size", 0, "at least 1"));
        }
        if let Some(tol) = self.tol {
            validate::positive("tol", tol)?;
        }
        if self.max_iter == 0 {
            return Err(LinalgError::param("max_iter", 0, "at least 1"));
        }
        if self.working_set == 0 {
            return Err(LinalgError::param("working_set", 0, "at least 1"));
        }
        let kernel = self.kernel.unwrap_or(Kernel::Rbf {
            gamma: 1.0 / source.cols() as f64,
        });
        input::kernel(kernel)?;
        let to_target = kernel_row_sums(kernel, source, target)?;
        let batches = batches(source.rows(), self.max_size, self.seed);
        let solved = batches
            .par_iter()
            .map(|idx| self.solve(kernel, source, idx, &to_target, target.rows()))
            .collect::<Result<Vec<_>>>()?;
        let mut weights = vec![0.0; source.rows()];
        let mut notes = Vec::new();
        for (idx, (w, note)) in batches.iter().zip(solved) {
            for (&i, v) in idx.iter().zip(w) {
                weights[i] = v;
            }
            notes.extend(note);
        }
        if batches.len() > 1 {
            notes.push(format!(
                "source split into {} batches of at most {} rows (max_size)",
                batches.len(),
                self.max_size
            ));
        }
        let mut out = InstanceWeights::new("kmm", weights);
        if let Kernel::Rbf { gamma } = kernel {
            out = out.chose("gamma", gamma);
        }
        out.notes = notes;
        Ok(out)
    }
}

impl Kmm {
    /// The QP on the source rows `idx`: their weights and remarks.
    fn solve(
        &self,
        kernel: Kernel,
        source: &Matrix,
        idx: &[usize],
        to_target: &[f64],
        nt: usize,
    ) -> Result<(Vec<f64>, Vec<String>)> {
        let n = idx.len() as f64;
        let kappa: Vec<f64> = idx
            .iter()
            .map(|&i| (n / nt as f64) * to_target[i])
            .collect();
        let tol = self.tol.unwrap_or(1e-7);
        let solution = Problem {
            kernel,
            x: &source.select_rows(idx),
            kappa: &kappa,
            bound: self.b,
            eps: self.eps.unwrap_or((n.sqrt() - 1.0) / n.sqrt()),
            settings: DefaultSettings {
                verbose: false,
                max_iter: self.max_iter,
                tol_gap_abs: tol,
                tol_gap_rel: 10.0 * tol,
                tol_feas: tol,
                ..DefaultSettings::default()
            },
            initial: self.working_set,
        }
        .solve()?;
        Ok((solution.weights, solution.notes))
    }
}

/// `sum_j k(xs_i, xt_j)` for every source row, in blocks of source rows so that memory stays
/// at `block x nt`.
fn kernel_row_sums(kernel: Kernel, source: &Matrix, target: &Matrix) -> Result<Vec<f64>> {
    const BLOCK: usize = 1024;
    let mut sums = Vec::with_capacity(source.rows());
    for start in (0..source.rows()).step_by(BLOCK) {
        let idx: Vec<usize> = (start..(start + BLOCK).min(source.rows())).collect();
        let k = kernel.gram(&source.select_rows(&idx), target)?;
        sums.extend((0..k.rows()).map(|i| k.row(i).iter().sum::<f64>()));
    }
    Ok(sums)
}

/// ADAPT's split: halve until at most `max` rows remain per batch; rows shuffled with `seed`
/// and dealt into near-equal contiguous batches (none is left without a batch).
fn batches(n: usize, max: usize, seed: u64) -> Vec<Vec<usize>> {
    if n <= max {
        return vec![(0..n).collect()];
    }
    let mut parts = 1usize;
    while n.div_ceil(parts) > max {
        parts *= 2;
    }
    // max = 1 would otherwise ask for more batches than rows.
    let parts = parts.min(n);
    let order = super::centres::permutation(n, seed);
    let (base, extra) = (n / parts, n % parts);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 0..parts {
        let len = base + usize::from(p < extra);
        let mut idx = order[start..start + len].to_vec();
        idx.sort_unstable();
        out.push(idx);
        start += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_row_once() {
        let b = batches(2001, 1000, 0);
        assert_eq!(b.len(), 4);
        let mut all: Vec<usize> = b.concat();
        all.sort_unstable();
        assert_eq!(all, (0..2001).collect::<Vec<_>>());
        assert!(b.iter().all(|x| x.len() <= 1000 && x.len() >= 500));
        assert_eq!(batches(10, 10, 0).len(), 1);
        let ones = batches(5, 1, 0);
        assert_eq!(ones.len(), 5);
        assert!(ones.iter().all(|x| x.len() == 1));
    }

    /// A target in one corner of the source: few weights are non-zero, and the decomposition
    /// reaches the whole QP's optimum from a working set of 8 rows. (The weights themselves
    /// may differ along directions where the smooth kernel's Gram matrix is nearly singular
    /// and the objective flat, as between any two solvers.)
    #[test]
    fn working_set_reaches_the_whole_optimum() {
        let grid = |n: usize, scale: f64, shift: f64| {
            let v = (0..2 * n)
                .map(|i| ((i * 7919 % 1013) as f64 / 1013.0) * scale + shift)
                .collect();
            Matrix::new(n, 2, v).unwrap()
        };
        let (xs, xt) = (grid(150, 4.0, 0.0), grid(40, 0.8, 0.3));
        let kernel = Kernel::Rbf { gamma: 10.0 };
        let fit = |working_set| {
            Kmm {
                kernel: Some(kernel),
                working_set,
                ..Default::default()
            }
            .reweight(&xs, &xt)
            .unwrap()
        };
        let (whole, small) = (fit(150), fit(8));
        assert!(
            small.notes.iter().any(|n| n.contains("working set")),
            "{:?}",
            small.notes
        );
        let kappa = kernel_row_sums(kernel, &xs, &xt).unwrap();
        let k = kernel.gram(&xs, &xs).unwrap();
        let objective = |b: &[f64]| {
            let quad: f64 = (0..150)
                .map(|i| b[i] * k.row(i).iter().zip(b).map(|(x, y)| x * y).sum::<f64>())
                .sum();
            0.5 * quad - (150.0 / 40.0) * kappa.iter().zip(b).map(|(x, y)| x * y).sum::<f64>()
        };
        let (ow, os) = (objective(&whole.weights), objective(&small.weights));
        assert!((ow - os).abs() <= 1e-6 * ow.abs(), "{ow} vs {os}");
        let zeros = small.weights.iter().filter(|&&w| w == 0.0).count();
        assert!(zeros > 75, "{zeros} rows left at 0");
        let eps = (150f64.sqrt() - 1.0) / 150f64.sqrt();
        let sum: f64 = small.weights.iter().sum();
        assert!((sum - 150.0).abs() <= 150.0 * eps + 1e-6, "sum {sum}");
    }

    #[test]
    fn matched_source_gets_weight_near_one() {
        // Identical domains: b = 1 is optimal up to the kernel's conditioning.
        let x = Matrix::new(
            30,
            2,
            (0..60).map(|i| ((i * 37 % 17) as f64) / 7.0).collect(),
        )
        .unwrap();
        let w = Kmm::default().reweight(&x, &x).unwrap();
        let mean = w.weights.iter().sum::<f64>() / 30.0;
        assert!((mean - 1.0).abs() < 0.2, "mean weight {mean}");
    }
}
