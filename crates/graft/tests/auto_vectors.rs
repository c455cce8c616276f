//! `graft auto` on feature vectors as a library call: svmlight files of two shifted domains
//! (written by the test, the target's at a narrower width, as svmlight files of a vocabulary
//! often are), ten labels per class. Every shallow and mlp strategy must run, the baseline is
//! the best of those that reuse nothing, each strategy below it is flagged, and the winner is
//! measured on the test set.

use graft::auto::{AutoResult, AutoSpec};
use graft::{CancelToken, Runtime, Silent};
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// `n` rows of 3 Gaussian classes in 12 dimensions; the target's classes sit elsewhere
/// (`shift`) and its last feature is always zero (so its svmlight file is narrower).
fn svmlight(path: &Path, n: usize, shift: f64, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut text = String::new();
    for i in 0..n {
        let c = i % 3;
        write!(text, "{}", c + 1).unwrap();
        for j in 0..12 {
            let centre = if j % 3 == c { 2.0 } else { 0.0 } + shift * (j as f64 / 12.0);
            let v: f64 = if shift > 0.0 && j == 11 {
                0.0
            } else {
                centre + rng.random_range(-1.5..1.5)
            };
            if v != 0.0 {
                write!(text, " {}:{v:.4}", j + 1).unwrap();
            }
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn spec(dir: &Path) -> AutoSpec {
    let p = |n: &str| dir.join(n).display().to_string();
    svmlight(&dir.join("source.svmlight"), 300, 0.0, 1);
    svmlight(&dir.join("target.svmlight"), 60, 1.5, 2);
    svmlight(&dir.join("unlabelled.svmlight"), 200, 1.5, 3);
    svmlight(&dir.join("test.svmlight"), 150, 1.5, 4);
    AutoSpec {
        data: p("target.svmlight"),
        labels_per_class: Some(10),
        test: Some(p("test.svmlight")),
        source: Some(p("source.svmlight")),
        source_samples: None,
        target_unlabelled: Some(p("unlabelled.svmlight")),
        target_samples: None,
        models: Vec::new(),
        weights: Vec::new(),
        budget: Duration::from_secs(600),
        val_fraction: 0.3,
        out: Some(dir.join("auto")),
        seed: 0,
        precision: Default::default(),
    }
}

#[test]
fn every_vector_strategy_runs_and_each_loss_to_the_baseline_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = Runtime {
        threads: 1,
        ..Runtime::default()
    };
    let r: AutoResult =
        graft::auto::run(&spec(tmp.path()), &rt, &mut Silent, &CancelToken::new()).unwrap();
    assert_eq!(r.model, "mlp");
    assert_eq!((r.labelled, r.held_out), (30, 9));
    let names: Vec<&str> = r.rows.iter().map(|r| r.name.as_str()).collect();
    for want in [
        "target only",
        "source only",
        "CORAL",
        "SA",
        "FA",
        "TCA",
        "JDA",
        "uLSIF",
        "KLIEP",
        "KMM",
        "TrAdaBoost",
        "target only, mlp",
        "source model",
        "full fine-tuning",
        "DANN",
        "CDAN+E + self-training",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for row in &r.rows {
        assert_eq!(row.status, "finished", "{}: {}", row.name, row.status);
        assert!(row.val.is_some(), "{}", row.name);
    }
    // The baseline is the best strategy that reuses nothing.
    let best_plain = r
        .rows
        .iter()
        .filter(|r| !r.transfer)
        .filter_map(|r| r.val)
        .fold(0.0, f64::max);
    assert_eq!(r.baseline_val_accuracy, Some(best_plain));
    let losers = r
        .rows
        .iter()
        .filter(|x| x.transfer && x.val.unwrap() < best_plain)
        .count();
    let flagged = r
        .warnings
        .iter()
        .filter(|w| w.starts_with("negative transfer"))
        .count();
    assert_eq!(flagged, losers, "{:#?}", r.warnings);
    // The winner is the best held-out row, run again on all the labels and measured.
    let top = r.rows.iter().filter_map(|r| r.val).fold(0.0, f64::max);
    assert_eq!(r.winner.val_accuracy, Some(top));
    let test = r.winner.test_accuracy.expect("measured on --test");
    assert!(
        test > 0.5,
        "the winner scored {test} on 3 separable classes"
    );
    assert!(Path::new(&r.winner.recipe).is_file());
    // The domains differ in width as files: every set was read at one width.
    assert!(tmp.path().join("auto/split/unlabelled-dense.npz").is_file());
}

#[test]
fn an_mlp_run_on_vectors_is_evaluated_and_predicted_as_it_measured_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = (tmp.path().join("train.svm"), tmp.path().join("test.svm"));
    svmlight(&train, 90, 0.0, 5);
    svmlight(&test, 60, 0.0, 6);
    let (train, test) = (train.to_str().unwrap(), test.to_str().unwrap());
    let rt = Runtime {
        threads: 1,
        ..Runtime::default()
    };
    let mut spec = graft::train::TrainSpec::pretrain("mlp", train)
        .test(test)
        .out(tmp.path().join("run"));
    spec.data.hidden = Some(vec![16, 8]);
    spec.opts.epochs = 30;
    spec.opts.lr = 0.05;
    let done = graft::train::run(&spec, &rt, &mut Silent, &CancelToken::new()).unwrap();
    let measured = done.summary.accuracy.unwrap();
    assert!(measured > 0.6, "{measured} on 3 separable classes");
    let eval = graft::eval::run(
        &graft::eval::EvalSpec {
            run_dir: tmp.path().join("run"),
            data: test.to_string(),
            batch_size: 7,
        },
        &rt,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(eval.accuracy, measured);
    let p = graft::predict::run(
        &graft::predict::PredictSpec {
            run_dir: tmp.path().join("run"),
            files: vec![test.into()],
            top_k: 1,
        },
        &rt,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(p.len(), 60);
    assert_eq!(p[59].path, format!("{test}:60"));
    // --hidden is the mlp's alone.
    let mut bad = graft::train::TrainSpec::pretrain("lenet", train);
    bad.data.hidden = Some(vec![4]);
    let e = graft::train::run(&bad, &rt, &mut Silent, &CancelToken::new()).unwrap_err();
    assert!(e.to_string().contains("--hidden"), "{e}");
}
