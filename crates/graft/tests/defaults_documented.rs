//! The shallow methods' defaults are the ones `docs/methods.md` documents, with their sources:
//! this reads that table and compares every row with the value the code uses.

use graft::align::Method;
use graft::shallow_io::Normalize;
use graft_shallow::align::{Coral, Jda, LambdaScale, Pca, SubspaceAlignment, Tca};
use graft_shallow::boost::TrAdaBoost;
use graft_shallow::instance::{Kliep, Kmm, NearestNeighborsWeighting, Rulsif, Ulsif};
use graft_shallow::RidgeClassifier;
use std::collections::BTreeMap;

/// `(method, setting) -> default` of the table under "Defaults of the shallow methods".
fn documented() -> BTreeMap<(String, String), String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/methods.md");
    let text = std::fs::read_to_string(path).unwrap();
    let table = text
        .split("## Defaults of the shallow methods")
        .nth(1)
        .expect("docs/methods.md has the defaults table");
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Method"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            ((cells[1].into(), cells[2].into()), cells[3].into())
        })
        .collect()
}

fn normalize_name(n: Normalize) -> &'static str {
    match n {
        Normalize::None => "none",
        Normalize::L2 => "l2",
        Normalize::Zscore => "zscore",
    }
}

#[test]
fn every_documented_default_is_the_code_s() {
    let same = |methods: &[Method]| {
        let n: Vec<&str> = methods
            .iter()
            .map(|m| normalize_name(m.default_normalize()))
            .collect();
        assert!(n.windows(2).all(|w| w[0] == w[1]), "{methods:?}: {n:?}");
        n[0].to_string()
    };
    let coral = Coral::default();
    assert_eq!(coral.scale, LambdaScale::MeanVariance);
    let kmm = Kmm::default();
    let (kliep, ulsif, rulsif) = (Kliep::default(), Ulsif::default(), Rulsif::default());
    let code: Vec<((&str, &str), String)> = vec![
        (
            ("align (none, pca, tca, jda)", "normalize"),
            same(&[Method::None, Method::Pca, Method::Tca, Method::Jda]),
        ),
        (
            ("align (coral, sa, fa)", "normalize"),
            same(&[Method::Coral, Method::Sa, Method::Fa]),
        ),
        (("align", "classifier"), default_align_classifier()),
        (("PCA", "dim"), Pca::default().dim.to_string()),
        (("TCA", "dim"), Tca::default().dim.to_string()),
        (("TCA", "mu"), Tca::default().mu.to_string()),
        (("JDA", "dim"), Jda::default().dim.to_string()),
        (("JDA", "lambda"), Jda::default().lambda.to_string()),
        (("JDA", "iterations"), Jda::default().iterations.to_string()),
        (("SA", "dim"), SubspaceAlignment::default().dim.to_string()),
        (
            ("CORAL", "lambda"),
            format!("{} x mean feature variance", coral.lambda),
        ),
        (("KMM", "B"), kmm.b.to_string()),
        (
            ("KMM", "eps"),
            match kmm.eps {
                None => "(sqrt(ns) - 1) / sqrt(ns)".into(),
                Some(e) => e.to_string(),
            },
        ),
        (("KMM", "gamma"), gamma(kmm.kernel.is_none())),
        (("KLIEP", "gamma"), gamma(kliep.gammas.is_none())),
        (("KLIEP", "centres"), kliep.max_centers.to_string()),
        (("uLSIF", "gamma"), gamma(ulsif.gammas.is_none())),
        (
            ("uLSIF", "lambda"),
            format!("{:?}", ulsif.lambdas)
                .replace(['[', ']'], "")
                .replace(".0", ""),
        ),
        (("uLSIF", "centres"), ulsif.max_centers.to_string()),
        (("RuLSIF", "alpha"), rulsif.alpha.to_string()),
        (
            ("NNW", "k"),
            NearestNeighborsWeighting::default().n_neighbors.to_string(),
        ),
        (
            ("TrAdaBoost", "rounds"),
            TrAdaBoost::new(RidgeClassifier::default())
                .n_estimators
                .to_string(),
        ),
        (("reweight, probe", "classifier"), default_heads()),
    ];
    let docs = documented();
    for ((method, setting), value) in &code {
        let key = (method.to_string(), setting.to_string());
        let doc = docs
            .get(&key)
            .unwrap_or_else(|| panic!("docs/methods.md has no row for {key:?}"));
        assert_eq!(
            doc, value,
            "{method} {setting}: documented {doc}, code {value}"
        );
    }
    assert_eq!(docs.len(), code.len(), "rows without a check: {docs:?}");
}

/// The RBF width a `None` means in graft_shallow: `1 / n_features`.
fn gamma(default_width: bool) -> String {
    assert!(default_width, "an explicit default width");
    "1 / n_features".into()
}

fn default_align_classifier() -> String {
    let spec = cli_defaults("align");
    spec["classifier"].clone()
}

fn default_heads() -> String {
    let (r, p) = (cli_defaults("reweight"), cli_defaults("probe"));
    assert_eq!((r["c"].as_str(), p["c"].as_str()), ("1", "1"));
    assert_eq!(r["classifier"], p["head"]);
    format!("{}, C = {}", r["classifier"], r["c"])
}

/// The default of every flag of `graft COMMAND`, from its clap definition in the library.
fn cli_defaults(command: &str) -> BTreeMap<String, String> {
    use clap::{Args, Command};
    let cmd = match command {
        "align" => graft::align::AlignSpec::augment_args(Command::new("align")),
        "reweight" => graft::reweight::ReweightSpec::augment_args(Command::new("reweight")),
        "probe" => graft::probe::ProbeSpec::augment_args(Command::new("probe")),
        _ => unreachable!(),
    };
    cmd.get_arguments()
        .filter_map(|a| {
            let v = a
                .get_default_values()
                .first()?
                .to_string_lossy()
                .into_owned();
            Some((a.get_id().to_string(), v))
        })
        .collect()
}
