//! Kernel centres for the density-ratio models: target samples, as the papers prescribe (the
//! ratio is large where the target is dense), at most `max_centers` of them, drawn with a seed.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A seeded permutation of `0..n`.
pub(crate) fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order
}

/// `min(n, max)` distinct indices of `0..n`, ascending: all of them when `max >= n`, else a
/// seeded uniform draw.
pub(crate) fn pick(n: usize, max: usize, seed: u64) -> Vec<usize> {
    if max >= n {
        return (0..n).collect();
    }
    let mut idx = permutation(n, seed);
    idx.truncate(max);
    idx.sort_unstable();
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_distinct_and_seeded() {
        assert_eq!(pick(5, 10, 0), vec![0, 1, 2, 3, 4]);
        let a = pick(100, 10, 3);
        assert_eq!(a, pick(100, 10, 3));
        assert_ne!(a, pick(100, 10, 4));
        let mut d = a.clone();
        d.dedup();
        assert_eq!(d.len(), 10);
    }
}
