//! What the shallow transfer commands (`graft align`, `graft reweight`) share around their
//! methods: the domain checks, the per-sample normalisation the benchmarks use, and writing
//! mapped features back out for `graft probe`.

use crate::feature_input::Labelled;
use anyhow::bail;
use graft_data::npy::{write_npz, NpyOut};
use graft_shallow::{Matrix, StandardScaler};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Normalize {
    None,
    /// Every row scaled to unit Euclidean length
    L2,
    /// Every feature centred and scaled by the mean and standard deviation of source and
    /// target together (the source's alone blow up features that are near-constant there)
    Zscore,
}

/// Every domain must describe its samples with the same features as the source.
pub fn same_width(what: &str, x: &Matrix, source: &str, source_x: &Matrix) -> anyhow::Result<()> {
    if x.cols() != source_x.cols() {
        bail!(
            "{what} has {} features per sample but the source {source} has {}; every domain must come from the same feature extractor",
            x.cols(),
            source_x.cols()
        );
    }
    Ok(())
}

fn l2_rows(x: &mut Matrix) {
    *x = graft_shallow::align::l2_normalise_rows(x);
}

/// Applies `mode` to the source, the (unlabelled) target and every other set present. Z-scores
/// use the statistics of source and target pooled: the target's unlabelled rows are the input
/// of every adaptation method anyway, and a feature near-constant in the source alone would
/// otherwise be scaled up without bound in the target.
pub fn normalise<const N: usize>(
    mode: Normalize,
    source: &mut Matrix,
    target: &mut Matrix,
    others: [Option<&mut Matrix>; N],
) -> anyhow::Result<()> {
    match mode {
        Normalize::None => {}
        Normalize::L2 => {
            l2_rows(source);
            l2_rows(target);
            others.into_iter().flatten().for_each(l2_rows);
        }
        Normalize::Zscore => {
            let pooled = Matrix::new(
                source.rows() + target.rows(),
                source.cols(),
                [source.data(), target.data()].concat(),
            )?;
            let scaler = StandardScaler::fit(&pooled, &vec![1.0; pooled.rows()]);
            *source = scaler.transform(source);
            *target = scaler.transform(target);
            for m in others.into_iter().flatten() {
                *m = scaler.transform(m);
            }
        }
    }
    Ok(())
}

/// Source rows and labels, with the labelled target rows (when given) stacked below them:
/// one training set.
pub fn training_set(
    source: &Matrix,
    ys: &[usize],
    extra: Option<(&Matrix, &[usize])>,
) -> anyhow::Result<(Matrix, Vec<usize>)> {
    let Some((xt, yt)) = extra else {
        return Ok((source.clone(), ys.to_vec()));
    };
    let mut data = source.data().to_vec();
    data.extend_from_slice(xt.data());
    let mut y = ys.to_vec();
    y.extend_from_slice(yt);
    Ok((
        Matrix::new(source.rows() + xt.rows(), source.cols(), data)?,
        y,
    ))
}

fn write_set(path: &Path, x: &Matrix, y: Option<&[usize]>, names: &[String]) -> anyhow::Result<()> {
    let xf: Vec<f32> = x.data().iter().map(|&v| v as f32).collect();
    let yi: Vec<i64> = match y {
        Some(y) => y.iter().map(|&c| c as i64).collect(),
        None => vec![-1; x.rows()],
    };
    graft_data::atomic::write_atomic(path, |w| {
        write_npz(
            w,
            &[
                ("X", &[x.rows(), x.cols()], NpyOut::F32(&xf)),
                ("y", &[x.rows()], NpyOut::I64(&yi)),
                ("class_names", &[names.len()], NpyOut::Str(names)),
            ],
        )
    })?;
    Ok(())
}

/// Writes mapped features as `source.npz`, `target.npz` (and `test.npz`) in `dir`.
pub fn write_aligned(
    dir: &Path,
    aligned: &graft_shallow::align::Aligned,
    source: &Labelled,
    target_y: Option<&[usize]>,
    test_x: Option<&Matrix>,
    test: Option<&Labelled>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let names = &source.class_names;
    write_set(
        &dir.join("source.npz"),
        &aligned.source,
        Some(&source.y),
        names,
    )?;
    write_set(&dir.join("target.npz"), &aligned.target, target_y, names)?;
    if let (Some(x), Some(t)) = (test_x, test) {
        write_set(&dir.join("test.npz"), x, Some(&t.y), names)?;
    }
    Ok(())
}
