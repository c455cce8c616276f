//! The features of a domain-adaptation run's source and target samples under the initial and
//! the final model (`projection.safetensors`), and what the report shows of them
//! (`projection.json`): 2-D PCA and t-SNE views and the proxy A-distance, before and after.
//! The views are computed once, when the run ends, because t-SNE takes seconds;
//! `graft report` computes them again only when `projection.json` is missing.

use super::pad::{proxy_a_distance, ProxyADistance};
use anyhow::{bail, Context};
use graft_shallow::align::{Domains, Pca};
use graft_shallow::tsne::Tsne;
use graft_shallow::Matrix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tch::{Kind, Tensor};

pub const FEATURES_FILE: &str = "projection.safetensors";
pub const FILE: &str = "projection.json";
/// t-SNE is exact (quadratic in the points): above this many it is left out.
pub const TSNE_MAX_POINTS: usize = 5000;

/// Penultimate features (the backbone's output before the head) of the same source and target
/// samples under two models, with the samples' class labels (-1: unlabelled).
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub source_before: Matrix,
    pub target_before: Matrix,
    pub source_after: Matrix,
    pub target_after: Matrix,
    pub source_labels: Vec<i64>,
    pub target_labels: Vec<i64>,
}

/// A `rows x cols` float tensor from a matrix, for saving.
fn tensor(m: &Matrix) -> anyhow::Result<Tensor> {
    let v: Vec<f32> = m.data().iter().map(|&x| x as f32).collect();
    Ok(Tensor::from_slice(&v).f_reshape([m.rows() as i64, m.cols() as i64])?)
}

fn matrix(t: &Tensor, what: &str) -> anyhow::Result<Matrix> {
    let size = t.size();
    let [rows, cols] = size[..] else {
        bail!("{what}: shape {size:?}; expected samples x features");
    };
    let v: Vec<f32> = Vec::try_from(t.f_to_kind(Kind::Float)?.f_flatten(0, -1)?)?;
    Ok(Matrix::from_f32(rows as usize, cols as usize, &v)?)
}

impl Features {
    /// Writes `dir/projection.safetensors` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let labels = |l: &[i64]| Tensor::from_slice(l);
        let named = vec![
            ("source_before".to_string(), tensor(&self.source_before)?),
            ("target_before".to_string(), tensor(&self.target_before)?),
            ("source_after".to_string(), tensor(&self.source_after)?),
            ("target_after".to_string(), tensor(&self.target_after)?),
            ("source_labels".to_string(), labels(&self.source_labels)),
            ("target_labels".to_string(), labels(&self.target_labels)),
        ];
        let meta = BTreeMap::from([(
            "graft.content".to_string(),
            "penultimate features of source and target samples, initial (before) and final \
             (after) model"
                .to_string(),
        )]);
        graft_nn::weights::save::save_tensors(&named, &dir.join(FEATURES_FILE), &meta)?;
        Ok(())
    }

    /// Reads `dir/projection.safetensors`.
    pub fn load(dir: &Path) -> anyhow::Result<Features> {
        let p = dir.join(FEATURES_FILE);
        let sd = graft_nn::weights::safetensors::read(&p)?;
        let get = |k: &str| {
            sd.get(k).with_context(|| {
                format!(
                    "{}: no tensor `{k}`; expected the features graft adapt saves",
                    p.display()
                )
            })
        };
        let m = |k: &str| -> anyhow::Result<Matrix> {
            matrix(get(k)?, &format!("{} `{k}`", p.display()))
        };
        let l = |k: &str| -> anyhow::Result<Vec<i64>> {
            Ok(Vec::try_from(
                get(k)?.f_to_kind(Kind::Int64)?.f_flatten(0, -1)?,
            )?)
        };
        let f = Features {
            source_before: m("source_before")?,
            target_before: m("target_before")?,
            source_after: m("source_after")?,
            target_after: m("target_after")?,
            source_labels: l("source_labels")?,
            target_labels: l("target_labels")?,
        };
        if f.source_before.rows() != f.source_after.rows()
            || f.target_before.rows() != f.target_after.rows()
        {
            bail!(
                "{}: before and after hold different numbers of samples",
                p.display()
            );
        }
        Ok(f)
    }
}

/// The 2-D views of one model's features: source rows first, then target rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub pca: Vec<[f32; 2]>,
    /// Share of the total variance on each of the two principal axes.
    pub pca_variance: [f64; 2],
    pub tsne: Option<Vec<[f32; 2]>>,
    pub tsne_kl: Option<f64>,
    pub pad: Option<ProxyADistance>,
}

/// Everything the report draws from the features, as `projection.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    pub source: usize,
    pub target: usize,
    pub feature_dim: usize,
    pub seed: u64,
    pub before: View,
    pub after: View,
    /// Why a part is missing (t-SNE over too many points, a PAD that could not be fitted).
    pub notes: Vec<String>,
    pub seconds: f64,
}

impl Projection {
    /// Source points of a view's projection.
    pub fn split<'a>(&self, pts: &'a [[f32; 2]]) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
        let conv = |p: &&'a [f32; 2]| [p[0] as f64, p[1] as f64];
        let s = pts.iter().take(self.source).map(|p| conv(&p)).collect();
        let t = pts.iter().skip(self.source).map(|p| conv(&p)).collect();
        (s, t)
    }
}

fn stacked(s: &Matrix, t: &Matrix) -> anyhow::Result<Matrix> {
    let mut data = s.data().to_vec();
    data.extend_from_slice(t.data());
    Ok(Matrix::new(s.rows() + t.rows(), s.cols(), data)?)
}

fn points(m: &Matrix) -> Vec<[f32; 2]> {
    (0..m.rows())
        .map(|i| [m.get(i, 0) as f32, m.get(i, 1) as f32])
        .collect()
}

/// PCA of source and target together (graft-shallow's joint PCA), source rows first, with each
/// axis's share of the variance.
fn pca(s: &Matrix, t: &Matrix) -> anyhow::Result<(Matrix, [f64; 2])> {
    // One feature: a zero second axis, so that the plot still shows the first.
    let widen = |m: &Matrix| -> anyhow::Result<Matrix> {
        if m.cols() >= 2 {
            return Ok(m.clone());
        }
        let data = (0..m.rows()).flat_map(|i| [m.get(i, 0), 0.0]).collect();
        Ok(Matrix::new(m.rows(), 2, data)?)
    };
    let (s, t) = (widen(s)?, widen(t)?);
    let labels = vec![0usize; s.rows()];
    let a = Pca { dim: 2 }.fit(&Domains::new(&s, &labels, &t))?;
    let joint = stacked(&a.source, &a.target)?;
    let all = stacked(&s, &t)?;
    let var = |m: &Matrix, j: usize| {
        let n = m.rows() as f64;
        let mean = (0..m.rows()).map(|i| m.get(i, j)).sum::<f64>() / n;
        (0..m.rows())
            .map(|i| (m.get(i, j) - mean).powi(2))
            .sum::<f64>()
            / n
    };
    let total: f64 = (0..all.cols()).map(|j| var(&all, j)).sum();
    let share = |j| {
        if total > 0.0 {
            var(&joint, j) / total
        } else {
            0.0
        }
    };
    let shares = [share(0), share(1)];
    Ok((joint, shares))
}

fn view(
    s: &Matrix,
    t: &Matrix,
    seed: u64,
    notes: &mut Vec<String>,
    when: &str,
) -> anyhow::Result<View> {
    let (joint, pca_variance) = pca(s, t).with_context(|| format!("PCA of the features {when}"))?;
    let n = s.rows() + t.rows();
    let (tsne, tsne_kl) = if (8..=TSNE_MAX_POINTS).contains(&n) {
        let perplexity = 30f64.min((n as f64 - 1.0) / 3.0);
        let e = Tsne {
            perplexity,
            ..Default::default()
        }
        // The PCA just computed is t-SNE's `init="pca"` start: no second eigen-decomposition.
        .fit_from(&stacked(s, t)?, &joint)
        .with_context(|| format!("t-SNE of the features {when}"))?;
        (Some(points(&e.points)), Some(e.kl_divergence))
    } else {
        (None, None)
    };
    let pad = match proxy_a_distance(s, t, seed) {
        Ok(p) => Some(p),
        Err(e) => {
            notes.push(format!("proxy A-distance {when}: {e:#}"));
            None
        }
    };
    Ok(View {
        pca: points(&joint),
        pca_variance,
        tsne,
        tsne_kl,
        pad,
    })
}

/// Computes the views of `dir/projection.safetensors` and writes `dir/projection.json`.
pub fn analyse(dir: &Path, seed: u64) -> anyhow::Result<Projection> {
    let t0 = Instant::now();
    let f = Features::load(dir)?;
    let mut notes = Vec::new();
    let n = f.source_before.rows() + f.target_before.rows();
    if n > TSNE_MAX_POINTS {
        notes.push(format!(
            "t-SNE left out: {n} points, above the {TSNE_MAX_POINTS} an exact t-SNE handles in \
             reasonable time (use fewer --projection-samples)"
        ));
    }
    let before = view(
        &f.source_before,
        &f.target_before,
        seed,
        &mut notes,
        "before",
    )?;
    let after = view(&f.source_after, &f.target_after, seed, &mut notes, "after")?;
    let p = Projection {
        source: f.source_before.rows(),
        target: f.target_before.rows(),
        feature_dim: f.source_after.cols(),
        seed,
        before,
        after,
        notes,
        seconds: t0.elapsed().as_secs_f64(),
    };
    graft_data::atomic::write_atomic_bytes(&dir.join(FILE), serde_json::to_string(&p)?.as_bytes())?;
    Ok(p)
}

/// `dir/projection.json` when present (computed again from the features when only they are,
/// with the run's `seed`).
pub fn read(dir: &Path, seed: u64) -> anyhow::Result<Option<Projection>> {
    let p = dir.join(FILE);
    if p.exists() {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let v = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not the projection graft adapt writes (delete it and run `graft report` to \
                 compute it again from {FEATURES_FILE})",
                p.display()
            )
        })?;
        return Ok(Some(v));
    }
    if dir.join(FEATURES_FILE).exists() {
        return analyse(dir, seed).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: usize, d: usize, shift: f64) -> Matrix {
        let data = (0..n * d)
            .map(|i| ((i as f64) * 0.618).fract() + if i % d == 0 { shift } else { 0.0 })
            .collect();
        Matrix::new(n, d, data).unwrap()
    }

    #[test]
    fn features_round_trip_and_views_are_computed() {
        let dir = tempfile::tempdir().unwrap();
        let f = Features {
            source_before: blob(30, 4, 0.0),
            target_before: blob(20, 4, 0.1),
            source_after: blob(30, 4, 0.0),
            target_after: blob(20, 4, 5.0),
            source_labels: (0..30).map(|i| i % 3).collect(),
            target_labels: vec![-1; 20],
        };
        f.save(dir.path()).unwrap();
        let back = Features::load(dir.path()).unwrap();
        assert_eq!(back.source_labels, f.source_labels);
        assert!((back.target_after.get(3, 0) - f.target_after.get(3, 0)).abs() < 1e-5);
        let p = read(dir.path(), 0)
            .unwrap()
            .expect("computed from the features");
        assert_eq!((p.source, p.target, p.feature_dim), (30, 20, 4));
        assert_eq!(p.after.pca.len(), 50);
        assert!(p.after.tsne.as_ref().is_some_and(|t| t.len() == 50));
        assert!(p.after.pca_variance[0] > 0.5, "{:?}", p.after.pca_variance);
        let (pb, pa) = (
            p.before.pad.as_ref().unwrap(),
            p.after.pad.as_ref().unwrap(),
        );
        assert!(pa.pad > pb.pad, "after {pa:?} before {pb:?}");
        assert!(dir.path().join(FILE).exists());
        assert_eq!(
            read(dir.path(), 0).unwrap().unwrap(),
            p,
            "read back as written"
        );
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        let e = read(dir.path(), 0).unwrap_err().to_string();
        assert!(
            e.contains("projection.json") && e.contains("not the projection"),
            "{e}"
        );
    }
}
