//! NCE (Tran et al. 2019, "Transferability and Hardness of Supervised Classification Tasks",
//! ICCV, Eq. 2 and Definition 3): minus the conditional entropy H(Y | Z) of the target labels
//! given the source model's predicted labels, from their empirical joint distribution. As
//! `tllib.ranking.negative_conditional_entropy`, including its 1e-20 guard inside the log.

use super::{check_labels, dense};
use crate::error::Result;

/// `source_labels`: the source model's arg-max prediction per target sample;
/// `target_labels`: the true target class.
pub fn nce(source_labels: &[usize], target_labels: &[usize]) -> Result<f64> {
    check_labels(
        "target_labels",
        target_labels,
        "source_labels",
        source_labels.len(),
    )?;
    let n = source_labels.len() as f64;
    let (source, cs) = dense(source_labels);
    let (target, ct) = dense(target_labels);
    let mut joint = vec![vec![0.0; ct]; cs];
    for (&s, &t) in source.iter().zip(&target) {
        joint[s][t] += 1.0 / n;
    }
    let mut ce = 0.0;
    for row in &joint {
        let pz: f64 = row.iter().sum();
        if pz == 0.0 {
            continue;
        }
        let h: f64 = row
            .iter()
            .map(|&p| {
                let q = p / pz + 1e-20;
                -q * q.ln()
            })
            .sum();
        ce += h * pz;
    }
    Ok(-ce)
}
