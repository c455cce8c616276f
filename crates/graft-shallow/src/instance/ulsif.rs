//! Least-squares density-ratio fitting in closed form: uLSIF and its relative variant RuLSIF.

use super::centres;
use super::input;
use super::ratio::{Fitted, KernelRatio};
use super::weights::InstanceWeights;
use super::Reweighter;
use crate::error::{LinalgError, Result};
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Par, Side};
use rayon::prelude::*;

/// Kanamori et al. 2009 (JMLR 10), "A least-squares approach to direct importance estimation",
/// the uLSIF solution `theta = max(0, (H + lambda I)^-1 h)`, `r(x) = sum_l theta_l k(x, c_l)`,
/// with the kernel width and `lambda` chosen by their closed-form leave-one-out score when
/// more than one candidate is given (as in the authors' code: ADAPT downdates with the target
/// instead of the source, so its choice can differ). Defaults are ADAPT's `ULSIF`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ulsif {
    /// RBF widths (`exp(-gamma |x - c|^2)`); `None`: `1 / n_features`.
    pub gammas: Option<Vec<f64>>,
    /// Ridge candidates, `>= 0`.
    pub lambdas: Vec<f64>,
    /// Kernel centres: at most this many target rows.
    pub max_centers: usize,
    /// Seeds the choice of centres and of the leave-one-out pairs.
    pub seed: u64,
}

/// Yamada et al. 2011 (NIPS 24), "Relative density-ratio estimation for robust distribution
/// comparison": the relative ratio `p_t / (alpha p_t + (1 - alpha) p_s)`, bounded by `1 / alpha`,
/// fitted like uLSIF with `H = alpha H_t + (1 - alpha) H_s`. Defaults are ADAPT's `RULSIF`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rulsif {
    /// In `[0, 1)`; 0 is uLSIF.
    pub alpha: f64,
    /// As in [`Ulsif`].
    pub gammas: Option<Vec<f64>>,
    pub lambdas: Vec<f64>,
    pub max_centers: usize,
    pub seed: u64,
}

impl Default for Ulsif {
    fn default() -> Self {
        Ulsif {
            gammas: None,
            lambdas: vec![1.0],
            max_centers: 100,
            seed: 0,
        }
    }
}

impl Default for Rulsif {
    fn default() -> Self {
        Rulsif {
            alpha: 0.1,
            gammas: None,
            lambdas: vec![1.0],
            max_centers: 100,
            seed: 0,
        }
    }
}

impl Ulsif {
    /// The ratio function and the source weights.
    pub fn fit(&self, source: &Matrix, target: &Matrix) -> Result<Fitted<KernelRatio>> {
        Lsif {
            method: "ulsif",
            alpha: 0.0,
            gammas: self.gammas.as_deref(),
            lambdas: &self.lambdas,
            max_centers: self.max_centers,
            seed: self.seed,
        }
        .fit(source, target)
    }
}

impl Rulsif {
    /// The relative-ratio function and the source weights.
    pub fn fit(&self, source: &Matrix, target: &Matrix) -> Result<Fitted<KernelRatio>> {
        if !(0.0..1.0).contains(&self.alpha) {
            return Err(LinalgError::param(
                "alpha",
                self.alpha,
                "a number in [0, 1)",
            ));
        }
        Lsif {
            method: "rulsif",
            alpha: self.alpha,
            gammas: self.gammas.as_deref(),
            lambdas: &self.lambdas,
            max_centers: self.max_centers,
            seed: self.seed,
        }
        .fit(source, target)
    }
}

impl Reweighter for Ulsif {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights> {
        Ok(self.fit(source, target)?.weights)
    }
}

impl Reweighter for Rulsif {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights> {
        Ok(self.fit(source, target)?.weights)
    }
}

/// What uLSIF and RuLSIF share.
struct Lsif<'a> {
    method: &'static str,
    alpha: f64,
    gammas: Option<&'a [f64]>,
    lambdas: &'a [f64],
    max_centers: usize,
    seed: u64,
}

/// Kernel features of one width: `m x n` matrices `phi(c_l, x_i)` and the moments.
struct Features {
    phi_s: Matrix,
    phi_t: Matrix,
    h_mat: Mat<f64>,
    h: Vec<f64>,
}

impl Lsif<'_> {
    fn fit(&self, source: &Matrix, target: &Matrix) -> Result<Fitted<KernelRatio>> {
        input::domains(source, target)?;
        let gammas = input::gammas(self.gammas, source.cols())?;
        input::non_negative_list("lambdas", self.lambdas)?;
        if self.max_centers == 0 {
            return Err(LinalgError::param("max_centers", 0, "at least 1"));
        }
        let centres =
            target.select_rows(&centres::pick(target.rows(), self.max_centers, self.seed));
        let mut notes = Vec::new();
        let (gamma, lambda) = if gammas.len() * self.lambdas.len() > 1 {
            let (g, l, score) = self.choose(source, target, &centres, &gammas)?;
            notes.push(format!("leave-one-out score {score:.6} at the chosen pair"));
            (g, l)
        } else {
            (gammas[0], self.lambdas[0])
        };
        let kernel = Kernel::Rbf { gamma };
        let f = self.features(kernel, source, target, &centres)?;
        let (theta, ridge) = solve_ridge(&f.h_mat, lambda, &f.h)?;
        if let Some(r) = ridge {
            notes.push(format!(
                "H + lambda I was singular; lambda raised to {r:.3e} (the paper's ridge term)"
            ));
        }
        let coef: Vec<f64> = theta.into_iter().map(|v| v.max(0.0)).collect();
        // r(x_s) = phi_s^T theta: phi_s already holds k(c_l, x_s).
        let weights = super::ratio::mat_t_vec(&f.phi_s, &coef);
        let mut w = InstanceWeights::new(self.method, weights)
            .chose("gamma", gamma)
            .chose("lambda", lambda);
        if self.method == "rulsif" {
            w = w.chose("alpha", self.alpha);
        }
        if coef.iter().all(|&c| c == 0.0) {
            notes.push("every coefficient was clipped to 0: all weights are 0".into());
        }
        w.notes = notes;
        Ok(Fitted {
            ratio: KernelRatio {
                kernel,
                centres,
                coef,
            },
            weights: w,
        })
    }

    fn features(
        &self,
        kernel: Kernel,
        source: &Matrix,
        target: &Matrix,
        centres: &Matrix,
    ) -> Result<Features> {
        let phi_s = kernel.gram(centres, source)?;
        let phi_t = kernel.gram(centres, target)?;
        let m = centres.rows();
        // Only the lower triangle of the symmetric H: the Cholesky factorisations read no more.
        let mut h_mat = Mat::<f64>::zeros(m, m);
        let (ns, nt) = (source.rows() as f64, target.rows() as f64);
        lower_gram(&mut h_mat, &phi_s, (1.0 - self.alpha) / ns, Accum::Replace);
        if self.alpha > 0.0 {
            lower_gram(&mut h_mat, &phi_t, self.alpha / nt, Accum::Add);
        }
        let h = (0..m)
            .map(|l| phi_t.row(l).iter().sum::<f64>() / nt)
            .collect();
        Ok(Features {
            phi_s,
            phi_t,
            h_mat,
            h,
        })
    }

    /// The (gamma, lambda) pair with the smallest leave-one-out score, and that score.
    fn choose(
        &self,
        source: &Matrix,
        target: &Matrix,
        centres: &Matrix,
        gammas: &[f64],
    ) -> Result<(f64, f64, f64)> {
        let (ns, nt) = (source.rows(), target.rows());
        if ns < 2 || nt < 2 {
            return Err(LinalgError::param(
                "lambdas",
                format!("{} x {} candidates", gammas.len(), self.lambdas.len()),
                "a single candidate when a domain has fewer than 2 rows (no leave-one-out)",
            ));
        }
        // Pairs (source i, target i) are left out together; the larger domain is subsampled.
        let n_min = ns.min(nt);
        let pair_s = centres::pick(ns, n_min, self.seed.wrapping_add(1));
        let pair_t = centres::pick(nt, n_min, self.seed.wrapping_add(1));
        let scores = gammas
            .par_iter()
            .map(|&g| {
                let kernel = Kernel::Rbf { gamma: g };
                let f = self.features(kernel, source, target, centres)?;
                let ks2 = select_cols(&f.phi_s, &pair_s);
                let kt2 = select_cols(&f.phi_t, &pair_t);
                self.lambdas
                    .iter()
                    .map(|&l| self.loo_score(&f, ks2.as_ref(), kt2.as_ref(), l, ns, nt))
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<Vec<Vec<f64>>>>()?;
        let mut best = (gammas[0], self.lambdas[0], f64::INFINITY);
        for (&g, row) in gammas.iter().zip(&scores) {
            for (&l, &s) in self.lambdas.iter().zip(row) {
                if s < best.2 {
                    best = (g, l, s);
                }
            }
        }
        if !best.2.is_finite() {
            return Err(LinalgError::Numerical {
                method: self.method,
                reason: "no (gamma, lambda) candidate gave a finite leave-one-out score".into(),
            });
        }
        Ok(best)
    }

    /// Kanamori et al. 2009, leave-one-out in closed form: the fit without each (source i,
    /// target i) pair through one Sherman-Morrison downdate of `H + lambda (ns-1)/ns I`;
    /// score = the PE objective `(1-alpha)/2 mean r_s^2 + alpha/2 mean r_t^2 - mean r_t` on
    /// the held-out pairs. For RuLSIF the target part of `H` is not downdated (as in ADAPT), so
    /// the score is exact only for uLSIF.
    fn loo_score(
        &self,
        f: &Features,
        ks2: MatRef<'_, f64>,
        kt2: MatRef<'_, f64>,
        lambda: f64,
        ns: usize,
        nt: usize,
    ) -> Result<f64> {
        let m = f.h.len();
        let n = ks2.ncols();
        let (nsf, ntf) = (ns as f64, nt as f64);
        let mut b = f.h_mat.clone();
        for l in 0..m {
            b[(l, l)] += lambda * (nsf - 1.0) / nsf;
        }
        let Ok(llt) = b.llt(Side::Lower) else {
            return Ok(f64::INFINITY);
        };
        let beta = llt.solve(MatRef::from_column_major_slice(&f.h, m, 1));
        let binv_ks = llt.solve(ks2);
        let binv_kt = llt.solve(kt2);
        let scale = (nsf - 1.0) / (nsf * (ntf - 1.0));
        let (mut sum_s2, mut sum_t2, mut sum_t) = (0.0, 0.0, 0.0);
        let mut a = vec![0.0; m];
        for i in 0..n {
            let (mut phi_binv_phi, mut beta_phi, mut t_binv_phi) = (0.0, 0.0, 0.0);
            for l in 0..m {
                phi_binv_phi += ks2[(l, i)] * binv_ks[(l, i)];
                beta_phi += beta[(l, 0)] * ks2[(l, i)];
                t_binv_phi += kt2[(l, i)] * binv_ks[(l, i)];
            }
            let tmp = nsf - phi_binv_phi;
            let (mut rs, mut rt) = (0.0, 0.0);
            for (l, al) in a.iter_mut().enumerate() {
                let b0 = beta[(l, 0)] + binv_ks[(l, i)] * beta_phi / tmp;
                let b1 = binv_kt[(l, i)] + binv_ks[(l, i)] * t_binv_phi / tmp;
                *al = (scale * (ntf * b0 - b1)).max(0.0);
                rs += ks2[(l, i)] * *al;
                rt += kt2[(l, i)] * *al;
            }
            sum_s2 += rs * rs;
            sum_t2 += rt * rt;
            sum_t += rt;
        }
        let nf = n as f64;
        let score = (1.0 - self.alpha) * sum_s2 / (2.0 * nf) + self.alpha * sum_t2 / (2.0 * nf)
            - sum_t / nf;
        Ok(if score.is_finite() {
            score
        } else {
            f64::INFINITY
        })
    }
}

/// The lower triangle of `scale * phi phi^T`, written or added into `h`.
fn lower_gram(h: &mut Mat<f64>, phi: &Matrix, scale: f64, accum: Accum) {
    use faer::linalg::matmul::triangular::{self, BlockStructure};
    triangular::matmul(
        h.as_mut(),
        BlockStructure::TriangularLower,
        accum,
        phi.as_faer(),
        BlockStructure::Rectangular,
        phi.as_faer().transpose(),
        BlockStructure::Rectangular,
        scale,
        Par::rayon(0),
    );
}

/// Columns `idx` of `m` as a column-major faer matrix.
fn select_cols(m: &Matrix, idx: &[usize]) -> Mat<f64> {
    Mat::from_fn(m.rows(), idx.len(), |l, i| m.row(l)[idx[i]])
}

/// `(H + lambda I)^-1 h` by Cholesky; when that fails (lambda = 0 with a singular `H`), the
/// ridge is raised tenfold from `1e-10 * mean(diag H)` until it succeeds, and returned.
fn solve_ridge(h_mat: &Mat<f64>, lambda: f64, h: &[f64]) -> Result<(Vec<f64>, Option<f64>)> {
    let m = h.len();
    let mean_diag = (0..m).map(|l| h_mat[(l, l)]).sum::<f64>() / m as f64;
    let mut ridge = lambda;
    let mut raised = None;
    for attempt in 0..12 {
        let mut b = h_mat.clone();
        for l in 0..m {
            b[(l, l)] += ridge;
        }
        if let Ok(llt) = b.llt(Side::Lower) {
            let x = llt.solve(MatRef::from_column_major_slice(h, m, 1));
            return Ok(((0..m).map(|l| x[(l, 0)]).collect(), raised));
        }
        ridge = lambda.max(mean_diag.max(f64::MIN_POSITIVE) * 1e-10 * 10f64.powi(attempt));
        raised = Some(ridge);
    }
    Err(LinalgError::Numerical {
        method: "lsif",
        reason: format!("H + lambda I not positive definite even with lambda = {ridge:.3e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, shift: f64, seed: u64) -> Matrix {
        let v = (0..2 * n)
            .map(|i| ((i as u64 * 2654435761 + seed * 97) % 1000) as f64 / 400.0 + shift)
            .collect();
        Matrix::new(n, 2, v).unwrap()
    }

    /// The closed form equals refitting without each (source i, target i) pair.
    #[test]
    fn leave_one_out_closed_form_equals_refitting() {
        let (xs, xt) = (data(14, 0.0, 1), data(14, 0.4, 2));
        let lsif = Lsif {
            method: "ulsif",
            alpha: 0.0,
            gammas: None,
            lambdas: &[0.05],
            max_centers: 6,
            seed: 0,
        };
        let centres = xt.select_rows(&[0, 3, 5, 8, 10, 13]);
        let kernel = Kernel::Rbf { gamma: 0.7 };
        let f = lsif.features(kernel, &xs, &xt, &centres).unwrap();
        let all: Vec<usize> = (0..14).collect();
        let (ks2, kt2) = (select_cols(&f.phi_s, &all), select_cols(&f.phi_t, &all));
        let lambda = 0.05;
        let closed = lsif
            .loo_score(&f, ks2.as_ref(), kt2.as_ref(), lambda, 14, 14)
            .unwrap();
        let m = 6;
        let (mut s2, mut st) = (0.0, 0.0);
        for i in 0..14 {
            let mut h_mat = Mat::<f64>::zeros(m, m);
            let mut h = vec![0.0; m];
            for j in (0..14).filter(|&j| j != i) {
                for a in 0..m {
                    h[a] += f.phi_t.row(a)[j] / 13.0;
                    for b in 0..m {
                        h_mat[(a, b)] += f.phi_s.row(a)[j] * f.phi_s.row(b)[j] / 13.0;
                    }
                }
            }
            let (theta, _) = solve_ridge(&h_mat, lambda, &h).unwrap();
            let theta: Vec<f64> = theta.into_iter().map(|v| v.max(0.0)).collect();
            let rs: f64 = (0..m).map(|a| f.phi_s.row(a)[i] * theta[a]).sum();
            let rt: f64 = (0..m).map(|a| f.phi_t.row(a)[i] * theta[a]).sum();
            s2 += rs * rs;
            st += rt;
        }
        let brute = s2 / 28.0 - st / 14.0;
        assert!((closed - brute).abs() < 1e-10, "{closed} vs {brute}");
    }
}
