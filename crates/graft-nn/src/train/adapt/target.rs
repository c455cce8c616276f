//! Where each step's target batch comes from: the target's own shuffled orders laid end to end,
//! so the batch of global step `g` is a function of the seed and `g` only, whatever the source
//! epoch length, and a resumed run draws the same batches.

use crate::train::engine::derive_seed;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Seed stream of the target order (the engine uses 1 and 2 for source order and steps).
const TARGET_STREAM: u64 = 3;

/// Indices into the target set for the batch of global step `step`.
pub(crate) fn target_batch(seed: u64, n: usize, batch: usize, step: usize) -> Vec<i64> {
    let batch = batch.min(n).max(1);
    let start = step * batch;
    let mut out = Vec::with_capacity(batch);
    let mut cycle = usize::MAX;
    let mut order: Vec<i64> = Vec::new();
    for pos in start..start + batch {
        let (c, i) = (pos / n, pos % n);
        if c != cycle {
            order = (0..n as i64).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(derive_seed(
                seed,
                TARGET_STREAM,
                c as u64,
            )));
            cycle = c;
        }
        out.push(order[i]);
    }
    out
}

/// Pseudo-label of every target sample (-1: not selected).
pub(crate) fn label_table(n: usize, indices: &[i64], labels: &[i64]) -> Vec<i64> {
    let mut t = vec![-1; n];
    for (&i, &l) in indices.iter().zip(labels) {
        t[i as usize] = l;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_sample_once_per_cycle_and_repeat_by_seed() {
        let n = 10;
        let mut seen: Vec<i64> = (0..5).flat_map(|s| target_batch(7, n, 4, s)).collect();
        assert_eq!(seen.len(), 20);
        let mut first: Vec<i64> = seen[..10].to_vec();
        first.sort_unstable();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        assert_eq!(target_batch(7, n, 4, 3), target_batch(7, n, 4, 3));
        seen.truncate(10);
        assert_ne!(seen, (0..10).collect::<Vec<_>>(), "the order is shuffled");
    }
}
