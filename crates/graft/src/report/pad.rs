//! How far apart two feature distributions are, as a linear domain classifier sees them.

use anyhow::Context;
use graft_shallow::{CSpec, CrossValidation, LogisticRegression, Matrix};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The proxy A-distance and how it was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyADistance {
    /// `2 (1 - 2 err)`, in [0, 2]: 0 when the domains cannot be told apart, 2 when they always can.
    pub pad: f64,
    /// Held-out error of the domain classifier: the mean of the source and target error rates.
    pub error: f64,
    /// Rows the classifier was fitted on and rows it was scored on.
    pub train: usize,
    pub test: usize,
    /// Inverse regularisation chosen by cross-validation on the fitting half.
    pub c: f64,
}

/// Ben-David et al. 2007 (NIPS, "Analysis of representations for domain adaptation", sec. 4)
/// proxy A-distance `d_A = 2 (1 - 2 err)` as Ganin et al. 2016 (JMLR 17, sec. 5.1.5) measure
/// it: `err` is the held-out error of a linear classifier told to separate source rows from
/// target rows. Here the classifier is logistic regression on standardised features, C chosen
/// by 5-fold cross-validation over 1e-3..1e3 on one half of each domain (drawn with `seed`) and
/// scored on the other half. An error above 1/2 (worse than chance) counts as distance 0.
pub fn proxy_a_distance(
    source: &Matrix,
    target: &Matrix,
    seed: u64,
) -> anyhow::Result<ProxyADistance> {
    if source.rows() < 4 || target.rows() < 4 {
        anyhow::bail!(
            "proxy A-distance: {} source and {} target rows; expected at least 4 of each",
            source.rows(),
            target.rows()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = |n: usize| {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut rng);
        let test = idx.split_off(n / 2);
        (idx, test)
    };
    let (s_fit, s_test) = split(source.rows());
    let (t_fit, t_test) = split(target.rows());
    let stack = |s: &[usize], t: &[usize]| -> anyhow::Result<(Matrix, Vec<usize>)> {
        let (a, b) = (source.select_rows(s), target.select_rows(t));
        let mut data = a.into_data();
        data.extend_from_slice(b.data());
        let x = Matrix::new(s.len() + t.len(), source.cols(), data)?;
        let y = std::iter::repeat_n(0, s.len())
            .chain(std::iter::repeat_n(1, t.len()))
            .collect();
        Ok((x, y))
    };
    let (x_fit, y_fit) = stack(&s_fit, &t_fit)?;
    let (x_test, y_test) = stack(&s_test, &t_test)?;
    let model = LogisticRegression {
        c: CSpec::Auto,
        standardize: true,
        c_grid: (-3..=3).map(|e| 10f64.powi(e)).collect(),
        cv: CrossValidation { folds: 5, seed },
        ..Default::default()
    }
    .fit(&x_fit, &y_fit, None)
    .context("proxy A-distance: fitting the domain classifier")?;
    let pred = model.predict(&x_test)?;
    // The mean of the two domains' error rates, so that unequal sample counts cannot make
    // "always source" look like a separating classifier.
    let rate = |domain: usize| {
        let (wrong, n) = pred
            .iter()
            .zip(&y_test)
            .filter(|(_, &y)| y == domain)
            .fold((0usize, 0usize), |(w, n), (p, y)| {
                (w + usize::from(p != y), n + 1)
            });
        wrong as f64 / n.max(1) as f64
    };
    let error = 0.5 * (rate(0) + rate(1));
    Ok(ProxyADistance {
        pad: (2.0 * (1.0 - 2.0 * error)).clamp(0.0, 2.0),
        error,
        train: y_fit.len(),
        test: y_test.len(),
        c: model.c(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(n: usize, shift: f64, salt: u64) -> Matrix {
        let mut s = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut u = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let data = (0..n * 3)
            .map(|i| u() + if i % 3 == 0 { shift } else { 0.0 })
            .collect();
        Matrix::new(n, 3, data).unwrap()
    }

    #[test]
    fn separated_domains_are_far_and_mixed_ones_near() {
        let far = proxy_a_distance(&cloud(200, 0.0, 1), &cloud(200, 3.0, 2), 0).unwrap();
        assert!(far.pad > 1.9 && far.error < 0.03, "{far:?}");
        assert_eq!((far.train, far.test), (200, 200));
        let near = proxy_a_distance(&cloud(200, 0.0, 3), &cloud(200, 0.0, 4), 0).unwrap();
        assert!(near.pad < 0.5, "{near:?}");
        assert_eq!(
            proxy_a_distance(&cloud(200, 0.0, 3), &cloud(200, 0.0, 4), 0).unwrap(),
            near,
            "seeded"
        );
        let e = proxy_a_distance(&cloud(3, 0.0, 1), &cloud(10, 0.0, 2), 0).unwrap_err();
        assert!(e.to_string().contains("at least 4"), "{e}");
    }
}
