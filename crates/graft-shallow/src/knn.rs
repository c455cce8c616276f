//! k-nearest-neighbour classifier as scikit-learn's `KNeighborsClassifier` with uniform
//! weights (brute force): majority vote among the k closest training rows, ties between
//! classes to the smallest label, ties in distance to the earlier training row; k chosen by
//! stratified cross-validation when not given.

use crate::cv::{self, CrossValidation};
use crate::error::{LinalgError, Result};
use crate::labels;
use crate::linear::argmax;
use crate::matrix::Matrix;
use crate::validate;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, Par};
use rayon::prelude::*;

/// Distance between feature vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    /// ||a - b||, computed as sqrt(|a|^2 - 2 a.b + |b|^2) like scikit-learn.
    #[default]
    Euclidean,
    /// 1 - a.b / (|a| |b|); a zero vector is at distance 1 from everything.
    Cosine,
}

/// Hyper-parameters; `Default` matches scikit-learn's (`k = 5`, Euclidean).
#[derive(Debug, Clone, PartialEq)]
pub struct KNeighborsClassifier {
    /// Neighbours per vote; `None` picks one from `k_grid` by cross-validated accuracy.
    pub k: Option<usize>,
    pub metric: Metric,
    /// Candidates for `k: None`, ascending; values above the training fold size are dropped.
    pub k_grid: Vec<usize>,
    pub cv: CrossValidation,
}

impl Default for KNeighborsClassifier {
    fn default() -> Self {
        KNeighborsClassifier {
            k: Some(5),
            metric: Metric::Euclidean,
            k_grid: vec![1, 3, 5, 7, 9, 11, 15, 21, 31, 51],
            cv: CrossValidation::default(),
        }
    }
}

/// The stored training set and the chosen k.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnModel {
    classes: Vec<usize>,
    index: Index,
    k: usize,
    cv_scores: Vec<(usize, f64)>,
}

/// Training rows, their codes, vote weights and norms.
#[derive(Debug, Clone, PartialEq)]
struct Index {
    x: Matrix,
    codes: Vec<usize>,
    w: Vec<f64>,
    n_classes: usize,
    metric: Metric,
    /// Squared norms (Euclidean) or inverse norms (cosine).
    norms: Vec<f64>,
}

/// Test rows per distance block, bounded so one block of distances stays near 8 MiB.
fn block_rows(n_train: usize) -> usize {
    ((1usize << 20) / n_train.max(1)).clamp(1, 128)
}

impl Index {
    fn new(x: Matrix, codes: Vec<usize>, w: Vec<f64>, n_classes: usize, metric: Metric) -> Index {
        let norms = row_norms(&x, metric);
        Index {
            x,
            codes,
            w,
            n_classes,
            metric,
            norms,
        }
    }

    /// The `k` nearest training rows of every row of `q`, nearest first, as (index, distance).
    fn neighbours(&self, q: &Matrix, k: usize) -> Vec<Vec<(usize, f64)>> {
        let qn = row_norms(q, self.metric);
        let n = self.x.rows();
        let block = block_rows(n);
        let starts: Vec<usize> = (0..q.rows()).step_by(block).collect();
        starts
            .par_iter()
            .flat_map_iter(|&r0| {
                let r1 = (r0 + block).min(q.rows());
                let rows = r1 - r0;
                let mut dots = vec![0.0; rows * n];
                let qb = faer::MatRef::from_row_major_slice(
                    &q.data()[r0 * q.cols()..r1 * q.cols()],
                    rows,
                    q.cols(),
                );
                matmul(
                    MatMut::from_row_major_slice_mut(&mut dots, rows, n),
                    Accum::Replace,
                    qb,
                    self.x.as_faer().transpose(),
                    1.0,
                    Par::Seq,
                );
                let mut out = Vec::with_capacity(rows);
                let mut cand: Vec<(f64, usize)> = Vec::with_capacity(n);
                for r in 0..rows {
                    cand.clear();
                    let drow = &dots[r * n..(r + 1) * n];
                    for (j, &dot) in drow.iter().enumerate() {
                        cand.push((self.distance(qn[r0 + r], self.norms[j], dot), j));
                    }
                    let cmp = |a: &(f64, usize), b: &(f64, usize)| {
                        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
                    };
                    if k < n {
                        cand.select_nth_unstable_by(k - 1, cmp);
                        cand.truncate(k);
                    }
                    cand.sort_unstable_by(cmp);
                    out.push(cand.iter().map(|&(d, j)| (j, self.finish(d))).collect());
                }
                out
            })
            .collect()
    }

    /// A monotone stand-in for the distance, cheap to rank (squared Euclidean).
    fn distance(&self, qn: f64, xn: f64, dot: f64) -> f64 {
        match self.metric {
            Metric::Euclidean => (qn - 2.0 * dot + xn).max(0.0),
            Metric::Cosine => (1.0 - dot * qn * xn).clamp(0.0, 2.0),
        }
    }

    fn finish(&self, d: f64) -> f64 {
        match self.metric {
            Metric::Euclidean => d.sqrt(),
            Metric::Cosine => d,
        }
    }

    /// Vote shares of the first `k` neighbours.
    fn votes(&self, nb: &[(usize, f64)], k: usize) -> Vec<f64> {
        let mut v = vec![0.0; self.n_classes];
        for &(j, _) in &nb[..k] {
            v[self.codes[j]] += self.w[j];
        }
        let s: f64 = v.iter().sum();
        if s > 0.0 {
            v.iter_mut().for_each(|p| *p /= s);
        }
        v
    }
}

fn row_norms(x: &Matrix, metric: Metric) -> Vec<f64> {
    (0..x.rows())
        .map(|i| {
            let sq: f64 = x.row(i).iter().map(|v| v * v).sum();
            match metric {
                Metric::Euclidean => sq,
                Metric::Cosine if sq > 0.0 => 1.0 / sq.sqrt(),
                Metric::Cosine => 0.0,
            }
        })
        .collect()
}

impl KNeighborsClassifier {
    /// Stores the training set. Sample weights, when given, weight each neighbour's vote
    /// (uniform weights otherwise, as scikit-learn).
    pub fn fit(&self, x: &Matrix, y: &[usize], sample_weight: Option<&[f64]>) -> Result<KnnModel> {
        let (enc, w) = labels::training(x, y, sample_weight)?;
        let k_classes = enc.n_classes();
        let (k, cv_scores) = match self.k {
            Some(0) => return Err(LinalgError::param("k", 0, "at least 1")),
            Some(k) if k > x.rows() => {
                return Err(LinalgError::param(
                    "k",
                    k,
                    "at most the number of training rows",
                ))
            }
            Some(k) => (k, Vec::new()),
            None => self.choose_k(x, &enc.codes, k_classes, &w)?,
        };
        Ok(KnnModel {
            classes: enc.classes,
            index: Index::new(x.clone(), enc.codes, w, k_classes, self.metric),
            k,
            cv_scores,
        })
    }

    /// Neighbours are found once per fold with the largest k; every k is scored from them.
    fn choose_k(
        &self,
        x: &Matrix,
        codes: &[usize],
        n_classes: usize,
        w: &[f64],
    ) -> Result<(usize, Vec<(usize, f64)>)> {
        let folds = cv::stratified(codes, n_classes, self.cv)?;
        let smallest = folds.iter().map(|f| f.train.len()).min().unwrap_or(0);
        let mut grid: Vec<usize> = self
            .k_grid
            .iter()
            .copied()
            .filter(|&k| k >= 1 && k <= smallest)
            .collect();
        grid.sort_unstable();
        grid.dedup();
        let Some(&kmax) = grid.last() else {
            return Err(LinalgError::param(
                "k_grid",
                format!("{:?}", self.k_grid),
                "at least one k between 1 and the training fold size",
            ));
        };
        let mut sums = vec![0.0; grid.len()];
        for fold in &folds {
            let idx = Index::new(
                x.select_rows(&fold.train),
                fold.train.iter().map(|&i| codes[i]).collect(),
                fold.train.iter().map(|&i| w[i]).collect(),
                n_classes,
                self.metric,
            );
            let nb = idx.neighbours(&x.select_rows(&fold.test), kmax);
            for (g, &k) in grid.iter().enumerate() {
                let hits = nb
                    .iter()
                    .zip(&fold.test)
                    .filter(|(nb, &i)| argmax(&idx.votes(nb, k)) == codes[i])
                    .count();
                sums[g] += hits as f64 / fold.test.len() as f64;
            }
        }
        let scores: Vec<(usize, f64)> = grid
            .iter()
            .zip(&sums)
            .map(|(&k, s)| (k, s / folds.len() as f64))
            .collect();
        let means: Vec<f64> = scores.iter().map(|s| s.1).collect();
        Ok((grid[cv::best(&means)], scores))
    }
}

impl KnnModel {
    /// The k nearest training rows of each row of `x`, nearest first: (training index, distance).
    pub fn kneighbors(&self, x: &Matrix) -> Result<Vec<Vec<(usize, f64)>>> {
        validate::same_cols("x", x, self.index.x.cols())?;
        Ok(self.index.neighbours(x, self.k))
    }

    /// Vote shares, columns in the order of `classes()`.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Matrix> {
        let nb = self.kneighbors(x)?;
        let mut data = Vec::with_capacity(nb.len() * self.classes.len());
        for row in &nb {
            data.extend(self.index.votes(row, self.k));
        }
        Matrix::new(nb.len(), self.classes.len(), data)
    }

    /// Majority label; ties to the smallest label.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        let p = self.predict_proba(x)?;
        Ok((0..p.rows())
            .map(|i| self.classes[argmax(p.row(i))])
            .collect())
    }

    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// `(k, mean held-out accuracy)` per candidate when k was chosen by cross-validation.
    pub fn cv_scores(&self) -> &[(usize, f64)] {
        &self.cv_scores
    }
}
