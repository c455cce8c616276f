//! The result every instance-weighting method returns, with the summaries the `reweight`
//! command reports.

/// Source weights, the method that made them, the hyper-parameters it picked and remarks
/// (regularisation added, centres dropped, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceWeights {
    /// One per source row, `>= 0`.
    pub weights: Vec<f64>,
    pub method: &'static str,
    /// Hyper-parameters chosen by cross-validation or derived from the data, e.g. `("gamma", 0.2)`.
    pub chosen: Vec<(String, f64)>,
    pub notes: Vec<String>,
}

impl InstanceWeights {
    pub(crate) fn new(method: &'static str, weights: Vec<f64>) -> Self {
        InstanceWeights {
            weights,
            method,
            chosen: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Kish's effective sample size of the weights; see [`effective_sample_size`].
    pub fn effective_sample_size(&self) -> f64 {
        effective_sample_size(&self.weights)
    }

    /// The weights' histogram; see [`histogram`].
    pub fn histogram(&self, bins: usize) -> Vec<(f64, f64, usize)> {
        histogram(&self.weights, bins)
    }

    pub(crate) fn chose(mut self, name: &str, value: f64) -> Self {
        self.chosen.push((name.to_string(), value));
        self
    }
}

/// Kish 1965 ("Survey Sampling"), effective sample size `(sum w)^2 / sum w^2`: how many
/// unweighted samples the weighted ones are worth (0 when every weight is 0).
pub fn effective_sample_size(w: &[f64]) -> f64 {
    let (s, s2) = w.iter().fold((0.0, 0.0), |(s, s2), &v| (s + v, s2 + v * v));
    if s2 > 0.0 {
        s * s / s2
    } else {
        0.0
    }
}

/// `bins` equal-width bins `(low, high, count)` spanning the smallest to the largest finite
/// value; the last bin includes its upper edge. Empty when `bins` is 0 or no value is finite.
pub fn histogram(values: &[f64], bins: usize) -> Vec<(f64, f64, usize)> {
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &w| {
            (l.min(w), h.max(w))
        });
    if bins == 0 || !lo.is_finite() {
        return Vec::new();
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &w in values.iter().filter(|v| v.is_finite()) {
        let b = if width > 0.0 {
            (((w - lo) / width) as usize).min(bins - 1)
        } else {
            0
        };
        counts[b] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(b, c)| {
            let low = lo + width * b as f64;
            let high = if b + 1 == bins {
                hi
            } else {
                lo + width * (b + 1) as f64
            };
            (low, high, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_finite_value_once() {
        let b = histogram(&[0.0, 0.1, 0.5, 0.9, 1.0, 1.0, f64::NAN], 2);
        assert_eq!(b, vec![(0.0, 0.5, 2), (0.5, 1.0, 4)]);
        assert_eq!(histogram(&[2.0; 3], 4)[0].2, 3);
        assert!(histogram(&[], 3).is_empty());
        assert!(histogram(&[f64::NAN], 3).is_empty());
    }

    #[test]
    fn kish_ess() {
        let uniform = InstanceWeights::new("t", vec![2.0; 10]);
        assert!((uniform.effective_sample_size() - 10.0).abs() < 1e-12);
        let one = InstanceWeights::new("t", vec![0.0, 0.0, 5.0]);
        assert!((one.effective_sample_size() - 1.0).abs() < 1e-12);
        // (1 + 3)^2 / (1 + 9) = 1.6
        let two = InstanceWeights::new("t", vec![1.0, 3.0]);
        assert!((two.effective_sample_size() - 1.6).abs() < 1e-12);
        assert_eq!(
            InstanceWeights::new("t", vec![0.0; 3]).effective_sample_size(),
            0.0
        );
    }

    #[test]
    fn histogram_counts_every_weight_once() {
        let w = InstanceWeights::new("t", vec![0.0, 0.1, 0.5, 0.9, 1.0, 1.0]);
        let h = w.histogram(2);
        assert_eq!(h, vec![(0.0, 0.5, 2), (0.5, 1.0, 4)]);
        let flat = InstanceWeights::new("t", vec![3.0; 4]).histogram(3);
        assert_eq!(flat.iter().map(|b| b.2).sum::<usize>(), 4);
        assert_eq!(flat[0], (3.0, 3.0, 4));
        assert!(w.histogram(0).is_empty());
    }
}
