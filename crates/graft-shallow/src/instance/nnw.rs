//! Nearest-neighbour weighting: a source sample counts the target samples it is nearest to.

use super::input;
use super::weights::InstanceWeights;
use super::Reweighter;
use crate::error::{LinalgError, Result};
use crate::kernel::sq_distances;
use crate::matrix::Matrix;
use rayon::prelude::*;

/// Loog 2012 (MLSP), "Nearest neighbor-based importance weighting": `w_i` = number of target
/// samples whose nearest source sample is `x_i` (its Voronoi cell's target count). With
/// `n_neighbors = k` every target sample votes for its `k` nearest source samples, as ADAPT's
/// `NearestNeighborsWeighting` does; its default, 5, is kept (Loog's estimator is `k = 1`).
#[derive(Debug, Clone, PartialEq)]
pub struct NearestNeighborsWeighting {
    pub n_neighbors: usize,
}

impl Default for NearestNeighborsWeighting {
    fn default() -> Self {
        NearestNeighborsWeighting { n_neighbors: 5 }
    }
}

impl Reweighter for NearestNeighborsWeighting {
    fn reweight(&self, source: &Matrix, target: &Matrix) -> Result<InstanceWeights> {
        input::domains(source, target)?;
        let k = self.n_neighbors;
        if k == 0 || k > source.rows() {
            return Err(LinalgError::param(
                "n_neighbors",
                k,
                "between 1 and the number of source rows",
            ));
        }
        // Target rows in blocks, so that memory stays at `block x ns` distances.
        const BLOCK: usize = 1024;
        let mut counts = vec![0usize; source.rows()];
        for start in (0..target.rows()).step_by(BLOCK) {
            let idx: Vec<usize> = (start..(start + BLOCK).min(target.rows())).collect();
            let d = sq_distances(&target.select_rows(&idx), source)?;
            let mut votes = vec![0usize; d.rows() * k];
            votes
                .par_chunks_mut(k)
                .enumerate()
                .for_each(|(j, out)| nearest(d.row(j), out));
            for &v in &votes {
                counts[v] += 1;
            }
        }
        let mut w = InstanceWeights::new(
            "nearest_neighbors",
            counts.into_iter().map(|c| c as f64).collect(),
        )
        .chose("n_neighbors", k as f64);
        let zero = w.weights.iter().filter(|&&v| v == 0.0).count();
        if zero > 0 {
            w.notes.push(format!(
                "{zero} of {} source rows are no target row's neighbour (weight 0)",
                w.weights.len()
            ));
        }
        Ok(w)
    }
}

/// Indices of the `out.len()` smallest entries of `d`, nearest first; ties go to the lower
/// index. One pass with a sorted insertion buffer: `k` is small.
fn nearest(d: &[f64], out: &mut [usize]) {
    let k = out.len();
    let mut dist = [f64::INFINITY; 64];
    let mut filled = 0;
    if k > dist.len() {
        let mut idx: Vec<usize> = (0..d.len()).collect();
        idx.sort_by(|a, b| d[*a].total_cmp(&d[*b]).then(a.cmp(b)));
        out.copy_from_slice(&idx[..k]);
        return;
    }
    for (i, &v) in d.iter().enumerate() {
        if filled == k && v >= dist[k - 1] {
            continue;
        }
        let mut pos = filled.min(k - 1);
        if filled < k {
            filled += 1;
        }
        while pos > 0 && dist[pos - 1] > v {
            dist[pos] = dist[pos - 1];
            out[pos] = out[pos - 1];
            pos -= 1;
        }
        dist[pos] = v;
        out[pos] = i;
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_voronoi_cells() {
        let source = Matrix::from_rows(&[[0.0], [10.0], [20.0]]).unwrap();
        let target = Matrix::from_rows(&[[1.0], [2.0], [9.0], [-5.0]]).unwrap();
        let w = NearestNeighborsWeighting { n_neighbors: 1 }
            .reweight(&source, &target)
            .unwrap();
        assert_eq!(w.weights, vec![3.0, 1.0, 0.0]);
        assert_eq!(w.notes.len(), 1);
        let w2 = NearestNeighborsWeighting { n_neighbors: 2 }
            .reweight(&source, &target)
            .unwrap();
        assert_eq!(w2.weights.iter().sum::<f64>(), 8.0);
    }
}
