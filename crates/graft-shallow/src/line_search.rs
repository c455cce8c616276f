//! Moré–Thuente line search (Moré & Thuente 1994, "Line search algorithms with guaranteed
//! sufficient decrease", ACM TOMS 20(3); the `dcsrch`/`dcstep` routines of MINPACK-2 that
//! L-BFGS-B calls), so that L-BFGS takes the same steps as scipy's L-BFGS-B.

/// Sufficient-decrease, curvature and interval-width constants; L-BFGS-B uses 1e-3, 0.9, 0.1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    pub ftol: f64,
    pub gtol: f64,
    pub xtol: f64,
    pub stpmin: f64,
    pub stpmax: f64,
    pub maxls: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            ftol: 1e-3,
            gtol: 0.9,
            xtol: 0.1,
            stpmin: 0.0,
            stpmax: 1e10,
            maxls: 50,
        }
    }
}

/// How the search ended. Warnings (rounding, interval too small, step at a bound) still
/// accept the last point, as L-BFGS-B does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    Converged,
    Warning,
    /// Too many evaluations, or the direction is not a descent direction.
    Failed,
}

/// Result: accepted step and its value (the last evaluation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub stp: f64,
    pub f: f64,
    pub outcome: Outcome,
    pub evals: usize,
}

const XTRAPL: f64 = 1.1;
const XTRAPU: f64 = 4.0;

/// Searches along a direction from `stp`; `phi(stp)` returns f and the directional derivative.
pub(crate) fn search<F: FnMut(f64) -> (f64, f64)>(
    mut phi: F,
    finit: f64,
    ginit: f64,
    mut stp: f64,
    p: Params,
) -> Found {
    let fail = |stp, f, evals| Found {
        stp,
        f,
        outcome: Outcome::Failed,
        evals,
    };
    if ginit.is_nan() || ginit >= 0.0 || stp < p.stpmin || stp > p.stpmax {
        return fail(0.0, finit, 0);
    }
    let mut brackt = false;
    let mut stage = 1;
    let gtest = p.ftol * ginit;
    let mut width = p.stpmax - p.stpmin;
    let mut width1 = width / 0.5;
    let (mut stx, mut fx, mut gx) = (0.0, finit, ginit);
    let (mut sty, mut fy, mut gy) = (0.0, finit, ginit);
    let mut stmin = 0.0;
    let mut stmax = stp + XTRAPU * stp;
    let mut evals = 0;
    loop {
        let (f, g) = phi(stp);
        evals += 1;
        let ftest = finit + stp * gtest;
        if stage == 1 && f <= ftest && g >= 0.0 {
            stage = 2;
        }
        let done = |outcome| Found {
            stp,
            f,
            outcome,
            evals,
        };
        if f <= ftest && g.abs() <= p.gtol * (-ginit) {
            return done(Outcome::Converged);
        }
        if (brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= p.xtol * stmax))
            || (stp == p.stpmax && f <= ftest && g <= gtest)
            || (stp == p.stpmin && (f > ftest || g >= gtest))
        {
            return done(Outcome::Warning);
        }
        if evals >= p.maxls {
            return fail(stp, f, evals);
        }
        if !(f.is_finite() && g.is_finite()) {
            // Overflow past the last good point: back off towards it instead of interpolating.
            stp = stx + 0.5 * (stp - stx);
            continue;
        }
        let mut st = Step {
            stx,
            fx,
            dx: gx,
            sty,
            fy,
            dy: gy,
            brackt,
        };
        if stage == 1 && f <= fx && f > ftest {
            // Modified function: guarantees a step with sufficient decrease (MT94 section 2).
            st.fx = fx - stx * gtest;
            st.fy = fy - sty * gtest;
            st.dx = gx - gtest;
            st.dy = gy - gtest;
            stp = st.step(stp, f - stp * gtest, g - gtest, stmin, stmax);
            fx = st.fx + st.stx * gtest;
            fy = st.fy + st.sty * gtest;
            gx = st.dx + gtest;
            gy = st.dy + gtest;
        } else {
            stp = st.step(stp, f, g, stmin, stmax);
            fx = st.fx;
            fy = st.fy;
            gx = st.dx;
            gy = st.dy;
        }
        stx = st.stx;
        sty = st.sty;
        brackt = st.brackt;
        if brackt {
            if (sty - stx).abs() >= 0.66 * width1 {
                stp = stx + 0.5 * (sty - stx);
            }
            width1 = width;
            width = (sty - stx).abs();
            stmin = stx.min(sty);
            stmax = stx.max(sty);
        } else {
            stmin = stp + XTRAPL * (stp - stx);
            stmax = stp + XTRAPU * (stp - stx);
        }
        stp = stp.max(p.stpmin).min(p.stpmax);
        if brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= p.xtol * stmax) {
            stp = stx;
        }
    }
}

/// Safeguarded cubic/quadratic step of `dcstep` (MT94 section 4): `stx` is the best point so
/// far, `sty` the other end of the interval.
struct Step {
    stx: f64,
    fx: f64,
    dx: f64,
    sty: f64,
    fy: f64,
    dy: f64,
    brackt: bool,
}

impl Step {
    fn step(&mut self, stp: f64, fp: f64, dp: f64, stpmin: f64, stpmax: f64) -> f64 {
        let (stx, fx, dx, sty, fy, dy) = (self.stx, self.fx, self.dx, self.sty, self.fy, self.dy);
        let sgnd = dp * dx.signum();
        let stpf;
        if fp > fx {
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
            if stp < stx {
                gamma = -gamma;
            }
            let p = (gamma - dx) + theta;
            let q = ((gamma - dx) + gamma) + dp;
            let r = p / q;
            let stpc = stx + r * (stp - stx);
            let stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
            stpf = if (stpc - stx).abs() < (stpq - stx).abs() {
                stpc
            } else {
                stpc + (stpq - stpc) / 2.0
            };
            self.brackt = true;
        } else if sgnd < 0.0 {
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
            if stp > stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + dx;
            let r = p / q;
            let stpc = stp + r * (stx - stp);
            let stpq = stp + (dp / (dp - dx)) * (stx - stp);
            stpf = if (stpc - stp).abs() > (stpq - stp).abs() {
                stpc
            } else {
                stpq
            };
            self.brackt = true;
        } else if dp.abs() < dx.abs() {
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).max(0.0).sqrt();
            if stp > stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = (gamma + (dx - dp)) + gamma;
            let r = p / q;
            let stpc = if r < 0.0 && gamma != 0.0 {
                stp + r * (stx - stp)
            } else if stp > stx {
                stpmax
            } else {
                stpmin
            };
            let stpq = stp + (dp / (dp - dx)) * (stx - stp);
            if self.brackt {
                let mut f = if (stpc - stp).abs() < (stpq - stp).abs() {
                    stpc
                } else {
                    stpq
                };
                f = if stp > stx {
                    f.min(stp + 0.66 * (sty - stp))
                } else {
                    f.max(stp + 0.66 * (sty - stp))
                };
                stpf = f;
            } else {
                let f = if (stpc - stp).abs() > (stpq - stp).abs() {
                    stpc
                } else {
                    stpq
                };
                stpf = f.min(stpmax).max(stpmin);
            }
        } else if self.brackt {
            let theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
            let s = theta.abs().max(dy.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dy / s) * (dp / s)).sqrt();
            if stp > sty {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + dy;
            let r = p / q;
            stpf = stp + r * (sty - stp);
        } else if stp > stx {
            stpf = stpmax;
        } else {
            stpf = stpmin;
        }
        if fp > fx {
            self.sty = stp;
            self.fy = fp;
            self.dy = dp;
        } else {
            if sgnd < 0.0 {
                self.sty = stx;
                self.fy = fx;
                self.dy = dx;
            }
            self.stx = stp;
            self.fx = fp;
            self.dx = dp;
        }
        stpf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_strong_wolfe_point_on_a_quartic() {
        // phi(a) = (a - 2)^4 - 16 has phi'(0) = -32 < 0 and its minimum at a = 2.
        let phi = |a: f64| ((a - 2.0).powi(4) - 16.0, 4.0 * (a - 2.0).powi(3));
        let (f0, g0) = phi(0.0);
        let r = search(phi, f0, g0, 1.0, Params::default());
        assert_eq!(r.outcome, Outcome::Converged);
        assert!(r.f <= f0 + 1e-3 * r.stp * g0);
        assert!(phi(r.stp).1.abs() <= 0.9 * g0.abs());
    }

    #[test]
    fn extrapolates_when_the_first_step_is_too_short() {
        let phi = |a: f64| ((a - 100.0).powi(2), 2.0 * (a - 100.0));
        let (f0, g0) = phi(0.0);
        let r = search(phi, f0, g0, 1.0, Params::default());
        assert_eq!(r.outcome, Outcome::Converged);
        assert!(r.stp > 10.0, "step {}", r.stp);
    }

    #[test]
    fn refuses_an_ascent_direction() {
        let r = search(|a| (a, 1.0), 0.0, 1.0, 1.0, Params::default());
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.evals, 0);
    }
}
