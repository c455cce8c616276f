//! Limited-memory BFGS for smooth unconstrained problems, following L-BFGS-B's driver
//! (Byrd, Lu, Nocedal & Zhu 1995; Zhu et al. 1997, the code scipy wraps) where it matters for
//! matching scikit-learn: first step 1/||g||, Moré–Thuente line search, stop when
//! max|g_i| <= pgtol or the relative decrease of f is below `ftol`, skip pairs with
//! s'y <= eps * (-g'd * stp), restart from steepest descent when a line search fails.

use crate::line_search::{self, Outcome};

/// Stopping rules and memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub memory: usize,
    pub max_iter: usize,
    /// Stop when the largest gradient entry is at most this (scipy's `gtol`, sklearn's `tol`).
    pub pgtol: f64,
    /// Stop when (f_old - f) / max(|f_old|, |f|, 1) <= ftol (sklearn passes 64 * eps).
    pub ftol: f64,
    pub maxls: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            memory: 10,
            max_iter: 100,
            pgtol: 1e-5,
            ftol: 64.0 * f64::EPSILON,
            maxls: 50,
        }
    }
}

/// Why the iterations stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Largest gradient entry at most the tolerance.
    Gradient,
    /// The objective stopped decreasing (relative change below machine precision).
    Objective,
    /// `max_iter` iterations done.
    MaxIter,
    /// No step along steepest descent decreased the objective.
    LineSearch,
}

#[derive(Debug, Clone)]
pub(crate) struct Solution {
    pub x: Vec<f64>,
    pub f: f64,
    pub grad_max: f64,
    pub n_iter: usize,
    pub n_eval: usize,
    pub stop: Stop,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    rho: f64,
}

/// Two-loop recursion (Nocedal & Wright 2006, Algorithm 7.4) with H0 = s'y / y'y of the newest
/// pair: the same direction as L-BFGS-B's compact form when no bound is active.
fn direction(g: &[f64], pairs: &std::collections::VecDeque<Pair>, d: &mut [f64]) {
    d.iter_mut().zip(g).for_each(|(d, g)| *d = -g);
    let mut alpha = vec![0.0; pairs.len()];
    for (j, p) in pairs.iter().enumerate().rev() {
        alpha[j] = p.rho * dot(&p.s, d);
        d.iter_mut().zip(&p.y).for_each(|(d, y)| *d -= alpha[j] * y);
    }
    if let Some(last) = pairs.back() {
        let gamma = 1.0 / (last.rho * dot(&last.y, &last.y));
        d.iter_mut().for_each(|d| *d *= gamma);
    }
    for (j, p) in pairs.iter().enumerate() {
        let beta = p.rho * dot(&p.y, d);
        d.iter_mut()
            .zip(&p.s)
            .for_each(|(d, s)| *d += (alpha[j] - beta) * s);
    }
}

/// Minimises `fg(x, grad) -> f` from `x0`.
pub(crate) fn minimize<F: FnMut(&[f64], &mut [f64]) -> f64>(
    mut fg: F,
    x0: Vec<f64>,
    opt: Options,
) -> Solution {
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut f = fg(&x, &mut g);
    let mut n_eval = 1;
    let mut pairs: std::collections::VecDeque<Pair> = Default::default();
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut n_iter = 0;
    let ls = line_search::Params {
        maxls: opt.maxls,
        ..Default::default()
    };
    let done = |x, f, g: &[f64], n_iter, n_eval, stop| Solution {
        x,
        f,
        grad_max: inf_norm(g),
        n_iter,
        n_eval,
        stop,
    };
    if inf_norm(&g) <= opt.pgtol {
        return done(x, f, &g, 0, n_eval, Stop::Gradient);
    }
    loop {
        direction(&g, &pairs, &mut d);
        let gd = dot(&g, &d);
        let stp0 = if n_iter == 0 {
            (1.0 / dot(&d, &d).sqrt()).min(ls.stpmax)
        } else {
            1.0
        };
        let found = line_search::search(
            |stp| {
                x_new
                    .iter_mut()
                    .zip(&x)
                    .zip(&d)
                    .for_each(|((xn, x), d)| *xn = x + stp * d);
                let fv = fg(&x_new, &mut g_new);
                (fv, dot(&g_new, &d))
            },
            f,
            gd,
            stp0,
            ls,
        );
        n_eval += found.evals;
        if found.outcome == Outcome::Failed {
            if pairs.is_empty() {
                return done(x, f, &g, n_iter, n_eval, Stop::LineSearch);
            }
            // L-BFGS-B: forget the curvature pairs and retry from steepest descent.
            pairs.clear();
            continue;
        }
        let f_old = f;
        f = found.f;
        // s = x_new - x = stp * d, y = g_new - g.
        let mut s = d.clone();
        s.iter_mut().for_each(|v| *v *= found.stp);
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        n_iter += 1;
        if n_iter >= opt.max_iter {
            return done(x, f, &g, n_iter, n_eval, Stop::MaxIter);
        }
        if inf_norm(&g) <= opt.pgtol {
            return done(x, f, &g, n_iter, n_eval, Stop::Gradient);
        }
        if f_old - f <= opt.ftol * f_old.abs().max(f.abs()).max(1.0) {
            return done(x, f, &g, n_iter, n_eval, Stop::Objective);
        }
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * (-gd * found.stp) {
            if pairs.len() == opt.memory {
                pairs.pop_front();
            }
            pairs.push_back(Pair {
                s,
                y,
                rho: 1.0 / sy,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let fg = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let opt = Options {
            max_iter: 200,
            pgtol: 1e-8,
            ..Default::default()
        };
        let sol = minimize(fg, vec![-1.2, 1.0], opt);
        assert_eq!(sol.stop, Stop::Gradient, "{sol:?}");
        assert!((sol.x[0] - 1.0).abs() < 1e-6 && (sol.x[1] - 1.0).abs() < 1e-6);
        assert!(sol.n_iter < 60, "{} iterations", sol.n_iter);
    }

    #[test]
    fn stops_at_max_iter() {
        let fg = |x: &[f64], g: &mut [f64]| {
            g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            g[1] = 200.0 * (x[1] - x[0] * x[0]);
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        };
        let opt = Options {
            max_iter: 3,
            ..Default::default()
        };
        let sol = minimize(fg, vec![-1.2, 1.0], opt);
        assert_eq!((sol.stop, sol.n_iter), (Stop::MaxIter, 3));
    }
}
