//! The KMM quadratic program, solved by clarabel on a working set of source rows that grows
//! until every row left out (weight 0) meets the optimality conditions of the whole problem
//! (the decomposition of Osuna et al. 1997 for SVM duals). KMM solutions are sparse (on
//! MNIST -> USPS 50 of 2000 weights are non-zero), so the interior-point method, whose cost
//! is cubic in the number of variables, mostly runs on a small problem. The result is the
//! solution of the whole QP: the check is exact, only the order of work changes.

use crate::error::{LinalgError, Result};
use crate::kernel::Kernel;
use crate::matrix::Matrix;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSolver, IPSolver, SolverError, SolverStatus,
    SupportedConeT::NonnegativeConeT,
};

/// One batch's problem: `min 1/2 b'Kb - kappa'b`, `0 <= b <= bound`, `|sum b - n| <= n eps`.
pub(super) struct Problem<'a> {
    pub kernel: Kernel,
    /// The batch's source rows.
    pub x: &'a Matrix,
    pub kappa: &'a [f64],
    pub bound: f64,
    pub eps: f64,
    pub settings: DefaultSettings<f64>,
    /// Rows in the first working set (those with the largest `kappa`).
    pub initial: usize,
}

/// Weights of the batch's rows and remarks (solver status short of optimal, working-set size).
pub(super) struct Solution {
    pub weights: Vec<f64>,
    pub notes: Vec<String>,
}

/// The restricted problem's solution: weights of the working set and the multiplier of the
/// sum constraint, which enters the optimality check of the rows left out.
struct Restricted {
    x: Vec<f64>,
    nu: f64,
    status: SolverStatus,
}

impl Problem<'_> {
    pub fn solve(&self) -> Result<Solution> {
        let n = self.x.rows();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| self.kappa[b].total_cmp(&self.kappa[a]).then(a.cmp(&b)));
        // The sum constraint needs at least n(1 - eps) / bound rows to be satisfiable.
        let needed = ((n as f64) * (1.0 - self.eps) / self.bound).ceil() as usize + 1;
        let mut size = self.initial.max(needed).min(n);
        if 2 * size > n {
            size = n;
        }
        let mut work: Vec<usize> = order[..size].to_vec();
        let mut in_work = vec![false; n];
        work.iter().for_each(|&i| in_work[i] = true);
        // Column j holds k(x_i, x_work[j]) for every row i of the batch.
        let mut columns = self.columns(&work)?;
        let top = self.kappa.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = 10.0 * self.settings.tol_feas * (1.0 + top);
        let mut rounds = 0;
        let restricted = loop {
            rounds += 1;
            let r = self.restricted(&work, &columns)?;
            if work.len() == n {
                break r;
            }
            if r.status == SolverStatus::PrimalInfeasible {
                let more: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|&i| !in_work[i])
                    .take(work.len())
                    .collect();
                self.grow(&mut work, &mut in_work, &mut columns, &more, n)?;
                continue;
            }
            check_status(r.status, work.len())?;
            // Row i outside the set is optimal at 0 when (K b)_i - kappa_i + nu >= 0.
            let mut kb = vec![0.0; n];
            for (c, &xj) in columns.iter().zip(&r.x) {
                if xj != 0.0 {
                    kb.iter_mut().zip(c).for_each(|(s, &k)| *s += xj * k);
                }
            }
            let mut violators: Vec<(f64, usize)> = (0..n)
                .filter(|&i| !in_work[i])
                .map(|i| (kb[i] - self.kappa[i] + r.nu, i))
                .filter(|&(g, _)| g < -tol)
                .collect();
            if violators.is_empty() {
                break r;
            }
            violators.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let add = (work.len() / 2).max(self.initial / 4).max(1);
            let more: Vec<usize> = violators.iter().take(add).map(|v| v.1).collect();
            self.grow(&mut work, &mut in_work, &mut columns, &more, n)?;
        };
        check_status(restricted.status, work.len())?;
        let mut notes: Vec<String> = status_note(restricted.status, work.len())
            .into_iter()
            .collect();
        if work.len() < n {
            notes.push(format!(
                "QP solved on a working set of {} of {n} rows ({rounds} rounds); the others \
                 are optimal at weight 0",
                work.len()
            ));
        }
        let mut weights = vec![0.0; n];
        for (&i, &v) in work.iter().zip(&restricted.x) {
            weights[i] = v.clamp(0.0, self.bound);
        }
        Ok(Solution { weights, notes })
    }

    /// Adds rows `more` to the working set; past half of the batch, takes all of it (the
    /// last restricted problems would cost about as much as the whole one).
    fn grow(
        &self,
        work: &mut Vec<usize>,
        in_work: &mut [bool],
        columns: &mut Vec<Vec<f64>>,
        more: &[usize],
        n: usize,
    ) -> Result<()> {
        let more: Vec<usize> = if 2 * (work.len() + more.len()) > n {
            (0..n).filter(|&i| !in_work[i]).collect()
        } else {
            more.to_vec()
        };
        columns.extend(self.columns(&more)?);
        for &i in &more {
            in_work[i] = true;
            work.push(i);
        }
        Ok(())
    }

    /// `k(x_i, x_j)` for every row `i` and each `j` in `idx`, one vector per `j`.
    fn columns(&self, idx: &[usize]) -> Result<Vec<Vec<f64>>> {
        let k = self.kernel.gram(&self.x.select_rows(idx), self.x)?;
        Ok((0..k.rows()).map(|j| k.row(j).to_vec()).collect())
    }

    /// The QP over the rows `work`, every other weight held at 0.
    fn restricted(&self, work: &[usize], columns: &[Vec<f64>]) -> Result<Restricted> {
        let m = work.len();
        let n = self.x.rows() as f64;
        let p = upper_triangle(work, columns);
        let q: Vec<f64> = work.iter().map(|&i| -self.kappa[i]).collect();
        let (a, rhs) = constraints(m, n, self.bound, self.eps);
        let cones = [NonnegativeConeT(2 * m + 2)];
        // faer's supernodal LDL factors the dense KKT system with blocked kernels; clarabel
        // accepts it only when built with its `faer-sparse` feature, else QDLDL is used.
        let faer = DefaultSettings {
            direct_solve_method: "faer".into(),
            ..self.settings.clone()
        };
        let refused = |e: SolverError| LinalgError::Numerical {
            method: "kmm",
            reason: format!("the QP solver refused the problem: {e}"),
        };
        let mut solver = match DefaultSolver::new(&p, &q, &a, &rhs, &cones, faer) {
            Ok(s) => s,
            Err(SolverError::SettingsError(_)) => {
                DefaultSolver::new(&p, &q, &a, &rhs, &cones, self.settings.clone())
                    .map_err(refused)?
            }
            Err(e) => return Err(refused(e)),
        };
        solver.solve();
        let s = &solver.solution;
        Ok(Restricted {
            x: s.x.clone(),
            // Rows 0 and 1 are `sum b <= n(1+eps)` and `-sum b <= n(eps-1)`.
            nu: s.z[0] - s.z[1],
            status: s.status,
        })
    }
}

/// Statuses that still carry a usable iterate pass (with a note); the others are errors.
fn check_status(status: SolverStatus, m: usize) -> Result<()> {
    match status {
        SolverStatus::Solved
        | SolverStatus::AlmostSolved
        | SolverStatus::MaxIterations
        | SolverStatus::InsufficientProgress => Ok(()),
        other => Err(LinalgError::Numerical {
            method: "kmm",
            reason: format!("QP on {m} source rows ended with status {other:?}"),
        }),
    }
}

fn status_note(status: SolverStatus, m: usize) -> Option<String> {
    (status != SolverStatus::Solved).then(|| {
        format!("QP on {m} rows stopped with status {status:?}; weights are the last iterate")
    })
}

/// `K[work, work]`'s upper triangle in compressed-column form (what the solver reads).
fn upper_triangle(work: &[usize], columns: &[Vec<f64>]) -> CscMatrix<f64> {
    let m = work.len();
    let mut colptr = Vec::with_capacity(m + 1);
    let mut rowval = Vec::with_capacity(m * (m + 1) / 2);
    let mut nzval = Vec::with_capacity(m * (m + 1) / 2);
    colptr.push(0);
    for (j, col) in columns.iter().enumerate() {
        for (r, &i) in work[..=j].iter().enumerate() {
            rowval.push(r);
            nzval.push(col[i]);
        }
        colptr.push(rowval.len());
    }
    CscMatrix::new(m, m, colptr, rowval, nzval)
}

/// `A b <= rhs` for `sum b <= n(1+eps)`, `-sum b <= n(eps-1)`, `b <= bound`, `-b <= 0` over `m`
/// variables, `n` being the whole batch's size.
fn constraints(m: usize, n: f64, bound: f64, eps: f64) -> (CscMatrix<f64>, Vec<f64>) {
    let rows = 2 * m + 2;
    let mut colptr = Vec::with_capacity(m + 1);
    let mut rowval = Vec::with_capacity(4 * m);
    let mut nzval = Vec::with_capacity(4 * m);
    colptr.push(0);
    for j in 0..m {
        rowval.extend([0, 1, 2 + j, 2 + m + j]);
        nzval.extend([1.0, -1.0, 1.0, -1.0]);
        colptr.push(rowval.len());
    }
    let mut rhs = vec![0.0; rows];
    rhs[0] = n * (1.0 + eps);
    rhs[1] = n * (eps - 1.0);
    rhs[2..2 + m].fill(bound);
    (CscMatrix::new(rows, m, colptr, rowval, nzval), rhs)
}
