//! The instance-weights file that `graft reweight` writes and `graft finetune --sample-weights`
//! reads: one non-negative weight per source sample, in the order of the source file. CSV
//! (`index,weight`, plus `path` when the source rows came from files, so that a person can see
//! which image got which weight) or `.npy` (a float64 vector, for NumPy users).

use anyhow::{bail, Context};
use graft_data::npy::read_npy;
use std::io::Write;
use std::path::Path;

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Writes `weights` atomically; `paths` is empty or has one entry per weight.
pub fn write(path: &Path, weights: &[f64], paths: &[String]) -> anyhow::Result<()> {
    if !paths.is_empty() && paths.len() != weights.len() {
        bail!(
            "{}: {} paths for {} weights",
            path.display(),
            paths.len(),
            weights.len()
        );
    }
    if is_npy(path) {
        graft_data::atomic::write_atomic(path, |w| {
            graft_data::npy::write_npy_header(w, "<f8", &[weights.len()])?;
            for v in weights {
                w.write_all(&v.to_le_bytes())?;
            }
            Ok(())
        })?;
        return Ok(());
    }
    graft_data::atomic::write_atomic(path, |w| {
        if paths.is_empty() {
            writeln!(w, "index,weight")?;
            for (i, v) in weights.iter().enumerate() {
                writeln!(w, "{i},{v}")?;
            }
        } else {
            writeln!(w, "index,weight,path")?;
            for (i, (v, p)) in weights.iter().zip(paths).enumerate() {
                writeln!(w, "{i},{v},{}", csv_field(p))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Quotes a CSV field when it holds a separator, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Reads a weights file: every weight finite and >= 0, not all zero, `index` (when present)
/// covering 0..n exactly once.
/// The weights file `path` for the set `set` (`what` names it in errors: "the training set",
/// "the source"): one weight per sample, in the set's order, as the engine takes them.
pub fn read_for(
    path: &str,
    what: &str,
    set: &graft_nn::train::Samples,
) -> anyhow::Result<Vec<f32>> {
    let w = read(Path::new(path))?;
    if w.len() != set.len() {
        bail!(
            "{path}: {} weights but {what} {} has {} samples; expected one weight per sample, in \
             its order",
            w.len(),
            set.source,
            set.len()
        );
    }
    Ok(w.into_iter().map(|v| v as f32).collect())
}

/// The weights of the samples at `idx` (a subset taken with `Samples::select`), in that order.
pub fn pick(w: &[f32], idx: &[i64]) -> Vec<f32> {
    idx.iter().map(|&i| w[i as usize]).collect()
}

pub fn read(path: &Path) -> anyhow::Result<Vec<f64>> {
    let shown = path.display();
    let weights = if is_npy(path) {
        let a = read_npy(path)?;
        if a.shape.len() != 1 {
            bail!(
                "{shown}: array of shape {:?}; expected a vector of weights (one per source sample)",
                a.shape
            );
        }
        a.to_f64(path, "the weights")?
    } else {
        read_csv(path)?
    };
    if weights.is_empty() {
        bail!("{shown}: no weights");
    }
    for (i, &w) in weights.iter().enumerate() {
        if !(w.is_finite() && w >= 0.0) {
            bail!("{shown}: weight of sample {i} is {w}; expected a finite number >= 0");
        }
    }
    if weights.iter().all(|&w| w == 0.0) {
        bail!("{shown}: every weight is zero; expected at least one positive weight");
    }
    Ok(weights)
}

fn read_csv(path: &Path) -> anyhow::Result<Vec<f64>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {shown}"))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("{shown}: empty; expected a header `index,weight`");
    };
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let Some(wcol) = cols.iter().position(|c| c == "weight") else {
        bail!("{shown}: header `{header}` has no `weight` column; expected `index,weight`");
    };
    let icol = cols.iter().position(|c| c == "index");
    let mut rows: Vec<(usize, f64)> = Vec::new();
    for (ln, line) in lines {
        let fields: Vec<&str> = line.splitn(cols.len(), ',').collect();
        let field = |c: usize| fields.get(c).map(|f| f.trim()).unwrap_or("");
        let w: f64 = field(wcol).parse().map_err(|_| {
            anyhow::anyhow!(
                "{shown}, line {}: weight `{}` is not a number",
                ln + 1,
                field(wcol)
            )
        })?;
        let i = match icol {
            Some(c) => field(c).parse::<usize>().map_err(|_| {
                anyhow::anyhow!(
                    "{shown}, line {}: index `{}` is not a row number",
                    ln + 1,
                    field(c)
                )
            })?,
            None => rows.len(),
        };
        rows.push((i, w));
    }
    let n = rows.len();
    let mut out = vec![f64::NAN; n];
    for (i, w) in rows {
        if i >= n || !out[i].is_nan() {
            bail!("{shown}: index {i} repeated or outside 0..{n}; expected each row once");
        }
        out[i] = w;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_npy_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let w = [0.5, 0.0, 2.25];
        for name in ["w.csv", "w.npy"] {
            let p = d.path().join(name);
            write(&p, &w, &[]).unwrap();
            assert_eq!(read(&p).unwrap(), w);
        }
        let p = d.path().join("paths.csv");
        write(&p, &w, &["a.png".into(), "b,c.png".into(), "d.png".into()]).unwrap();
        assert_eq!(read(&p).unwrap(), w);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("w.csv");
        for (text, expect) in [
            ("index,weight\n0,1\n1,-2\n", "expected a finite number >= 0"),
            ("index,weight\n0,1\n0,2\n", "repeated"),
            ("index,w\n0,1\n", "no `weight` column"),
            ("index,weight\n0,abc\n", "line 2: weight `abc`"),
            ("weight\n0\n0\n", "every weight is zero"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = format!("{:#}", read(&p).unwrap_err());
            assert!(e.contains(expect), "{text:?}: {e}");
        }
    }
}
