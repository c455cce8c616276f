//! End-to-end tests of the run reports through the real binary: the report.html that
//! `graft adapt` and `graft finetune` leave in their run directories (sections, plots, class
//! names, the proxy A-distance), `graft report` rebuilding one and comparing several, the
//! weights report of `graft reweight`, bad input named, and the page as a browser draws it
//! (headless Chromium, when installed).

mod common;

use common::{graft, s, stderr, summary};
use graft_data::npy::{write_npz, NpyOut};
use graft_data::synth_digits::{render, DigitDomain};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SHAPES: [&str; 3] = ["circle", "square", "triangle"];
const DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Three Gaussian classes named after shapes in `d` dimensions, moved by `shift` (the domain
/// shift), as an .npz with X, y and class_names.
fn shapes_npz(dir: &Path, name: &str, n: usize, shift: f32, seed: u64) -> PathBuf {
    let d = 6;
    let mut st = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut unif = || {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        (st >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        for j in 0..d {
            let g = (-2.0 * unif().max(1e-7).ln()).sqrt() * (std::f32::consts::TAU * unif()).cos();
            let centre = if j == c { 2.5 } else { 0.0 };
            x.push(centre + 0.8 * g + if j >= 3 { shift } else { 0.0 });
        }
        y.push(c as i64);
    }
    let names: Vec<String> = SHAPES.map(String::from).to_vec();
    let p = dir.join(name);
    write_npz(
        std::fs::File::create(&p).unwrap(),
        &[
            ("X", &[n, d], NpyOut::F32(&x)),
            ("y", &[n], NpyOut::I64(&y)),
            ("class_names", &[3], NpyOut::Str(&names)),
        ],
    )
    .unwrap();
    p
}

/// Rendered digits with their classes named in words.
fn named_digits(dir: &Path, name: &str, domain: DigitDomain, n: usize, seed: u64) -> PathBuf {
    let d = render(domain, n, seed);
    let x: Vec<f32> = d.pixels.iter().map(|&p| p as f32).collect();
    let names: Vec<String> = DIGITS.map(String::from).to_vec();
    let p = dir.join(name);
    write_npz(
        std::fs::File::create(&p).unwrap(),
        &[
            ("X", &[n, 28, 28, 3], NpyOut::F32(&x)),
            ("y", &[n], NpyOut::I64(&d.labels)),
            ("class_names", &[10], NpyOut::Str(&names)),
        ],
    )
    .unwrap();
    p
}

/// One small adaptation run and one small fine-tuning run, made once for all tests.
struct Runs {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    adapt: PathBuf,
    adapt_summary: Value,
    finetune: PathBuf,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let src = shapes_npz(&root, "src.npz", 300, 0.0, 1);
        let tgt = shapes_npz(&root, "tgt.npz", 300, 1.5, 2);
        let test = shapes_npz(&root, "test.npz", 150, 1.5, 3);
        let adapt = root.join("adapt-run");
        let adapt_summary = summary(&graft(&[
            "adapt",
            "--model",
            "mlp",
            "--hidden",
            "16",
            "--method",
            "dann",
            "--source",
            s(&src),
            "--target-unlabelled",
            s(&tgt),
            "--target-test",
            s(&test),
            "--val-fraction",
            "0.2",
            "--select",
            "dev",
            "--monitor",
            "--epochs",
            "3",
            "--projection-samples",
            "100",
            "--seed",
            "3",
            "--threads",
            "1",
            "--out",
            s(&adapt),
            "--json",
        ]));
        let data = named_digits(&root, "digits.npz", DigitDomain::Source, 300, 4);
        let dtest = named_digits(&root, "digits_test.npz", DigitDomain::Source, 100, 5);
        let finetune = root.join("finetune-run");
        let mut args = common::lenet_run("finetune", &data, &finetune, 2, 6);
        args.extend(["--val-fraction", "0.2", "--test", s(&dtest)].map(String::from));
        summary(&graft(&args.iter().map(String::as_str).collect::<Vec<_>>()));
        Runs {
            _tmp: tmp,
            root,
            adapt,
            adapt_summary,
            finetune,
        }
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Nothing in the page is fetched or run.
fn self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(bad), "the page holds `{bad}`");
    }
}

#[test]
fn an_adaptation_run_reports_curves_confusion_projections_and_pad() {
    let r = runs();
    let html = read(&r.adapt.join("report.html"));
    self_contained(&html);
    for id in [
        "id=\"curves\"",
        "id=\"evaluation\"",
        "id=\"alignment\"",
        "id=\"recipe\"",
        "id=\"environment\"",
    ] {
        assert!(html.contains(id), "section {id} missing");
    }
    // Loss, accuracy, domain loss, DEV risk, learning rate; confusion, per-class; PCA and
    // t-SNE before and after.
    let svgs = html.matches("<svg").count();
    assert!(svgs >= 11, "{svgs} plots");
    for name in SHAPES {
        // Drawn as an axis label (plotters puts a text element's text on its own line).
        assert!(
            html.contains(&format!(">\n{name}\n</text>")),
            "class {name} not drawn"
        );
    }
    for t in [
        "Confusion matrix (target test)",
        "PCA, before adaptation",
        "t-SNE, after adaptation",
        "Deep embedded validation risk",
        "loss = &quot;dann&quot;",
    ] {
        assert!(html.contains(t), "`{t}` missing");
    }
    // The proxy A-distance: in the summary, in projection.json and on the page.
    let pad = &r.adapt_summary["proxy_a_distance"];
    let (before, after) = (
        pad["before"].as_f64().unwrap(),
        pad["after"].as_f64().unwrap(),
    );
    assert!(
        (0.0..=2.0).contains(&before) && (0.0..=2.0).contains(&after),
        "{pad}"
    );
    assert!(
        html.contains(&format!("<td class=\"n\">{after:.3}</td>")),
        "PAD {after:.3}"
    );
    // From random weights "before" is a random network's: said, and the inputs' own distance
    // given beside it.
    assert_eq!(pad["random_start"], true, "{pad}");
    let inputs = pad["inputs"].as_f64().unwrap();
    assert!((0.0..=2.0).contains(&inputs), "{pad}");
    assert!(
        html.contains(&format!(
            "inputs themselves the proxy A-distance is {inputs:.3}"
        )),
        "input PAD {inputs:.3} not on the page"
    );
    let proj: Value = serde_json::from_str(&read(&r.adapt.join("projection.json"))).unwrap();
    assert_eq!(proj["after"]["pad"]["pad"].as_f64().unwrap(), after);
    assert_eq!(proj["source"], 100);
    assert_eq!(proj["before"]["tsne"].as_array().unwrap().len(), 200);
    assert!(r.adapt.join("projection.safetensors").exists());
    // The environment is recorded.
    let env: Value = serde_json::from_str(&read(&r.adapt.join("environment.json"))).unwrap();
    assert_eq!(env["graft_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        (env["threads"].as_u64(), env["seed"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(env["device"], "cpu");
    assert!(
        env["libtorch_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.")),
        "{env}"
    );
    assert!(html.contains("libtorch version"));
}

#[test]
fn a_finetune_run_reports_and_graft_report_rebuilds_and_compares() {
    let r = runs();
    let report = r.finetune.join("report.html");
    let html = read(&report);
    self_contained(&html);
    assert!(
        html.contains("graft finetune: lenet on digits.npz"),
        "title"
    );
    for name in DIGITS {
        // Drawn as an axis label (plotters puts a text element's text on its own line).
        assert!(
            html.contains(&format!(">\n{name}\n</text>")),
            "class {name} not drawn"
        );
    }
    assert!(html.contains("Confusion matrix (test)") && html.contains("Accuracy per class"));
    assert!(
        !html.contains("id=\"alignment\""),
        "no domains in a fine-tuning run"
    );
    assert!(html.matches("<svg").count() >= 5);

    // Rebuilt by `graft report`.
    std::fs::remove_file(&report).unwrap();
    let o = graft(&["report", s(&r.finetune)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), s(&report));
    assert!(read(&report).contains("Confusion matrix (test)"));

    // Compared with the adaptation run.
    let out = r.root.join("cmp.html");
    let o = graft(&["report", s(&r.adapt), s(&r.finetune), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cmp = read(&out);
    self_contained(&cmp);
    assert!(cmp.contains("2 runs compared"));
    assert!(cmp.contains("<th>adapt-run</th>") && cmp.contains("<th>finetune-run</th>"));
    assert!(cmp.contains("Validation accuracy") && cmp.contains("proxy A-distance after"));
    assert!(
        cmp.contains("href=\"adapt-run/report.html\""),
        "links to the runs"
    );
    assert!(cmp.matches("<svg").count() >= 3);
}

#[test]
fn a_resumed_run_records_its_environment_again_and_rebuilds_its_report() {
    let r = runs();
    let copy = r.root.join("resumed-run");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&r.adapt).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "report.html" {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    let o = graft(&[
        "adapt",
        "--resume",
        s(&copy),
        "--projection-samples",
        "100",
        "--threads",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        copy.join("report.html").exists(),
        "no report after resuming"
    );
    let env: Value = serde_json::from_str(&read(&copy.join("environment.json"))).unwrap();
    assert_eq!(env["resumed"].as_array().map(Vec::len), Some(1), "{env}");
    assert!(read(&copy.join("report.html")).contains("Resumed (1)"));
}

#[test]
fn bad_input_is_named() {
    let r = runs();
    let tmp = tempfile::tempdir().unwrap();
    let fails = |args: &[&str]| -> String {
        let o = graft(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = stderr(&o);
        assert!(!e.contains("panicked"), "{e}");
        e
    };
    let missing = tmp.path().join("no-such-run");
    let e = fails(&["report", s(&missing)]);
    assert!(
        e.contains("no-such-run") && e.contains("not a run directory"),
        "{e}"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = fails(&["report", s(&empty)]);
    assert!(e.contains("summary.json: missing"), "{e}");

    // A copy of a real run with its second epoch line broken.
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    for f in ["summary.json", "recipe.toml"] {
        std::fs::copy(r.finetune.join(f), broken.join(f)).unwrap();
    }
    let metrics = read(&r.finetune.join("metrics.jsonl"));
    let first = metrics.lines().next().unwrap();
    std::fs::write(
        broken.join("metrics.jsonl"),
        format!("{first}\n{{\"epoch\": 2, oops\n"),
    )
    .unwrap();
    let e = fails(&["report", s(&broken)]);
    assert!(
        e.contains("metrics.jsonl line 2") && e.contains("train_loss"),
        "{e}"
    );

    std::fs::write(broken.join("summary.json"), "not json").unwrap();
    let e = fails(&["report", s(&broken)]);
    assert!(e.contains("summary.json: not valid JSON"), "{e}");

    // In a comparison, the bad run is named.
    let e = fails(&[
        "report",
        s(&r.finetune),
        s(&empty),
        "--out",
        s(&tmp.path().join("c.html")),
    ]);
    assert!(e.contains("empty") && e.contains("summary.json"), "{e}");
}

#[test]
fn reweight_writes_a_report_beside_its_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let src = shapes_npz(tmp.path(), "s.npz", 120, 0.0, 7);
    let tgt = shapes_npz(tmp.path(), "t.npz", 90, 1.0, 8);
    let out = tmp.path().join("w.csv");
    let o = graft(&[
        "reweight",
        "--method",
        "kliep",
        "--source",
        s(&src),
        "--target",
        s(&tgt),
        "--out",
        s(&out),
        "--json",
    ]);
    let v = summary(&o);
    let report = tmp.path().join("w.report.html");
    assert_eq!(v["report"], s(&report));
    let html = read(&report);
    self_contained(&html);
    // Kish's effective sample size of the weights written.
    let w: Vec<f64> = read(&out)
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let (sum, sq) = w.iter().fold((0.0, 0.0), |(a, b), x| (a + x, b + x * x));
    let ess = sum * sum / sq;
    assert!((ess - v["effective_sample_size"].as_f64().unwrap()).abs() < 1e-6);
    assert!(html.contains(&format!("{ess:.1} of 120")), "ESS {ess:.1}");
    assert!(html.contains("Source sample weights") && html.matches("<svg").count() == 1);
}

/// `chromium` or `chromium-browser` on PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium or chromium-browser on PATH to render report.html");
        return;
    };
    let r = runs();
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("shot.png");
    let report = r.adapt.join("report.html").canonicalize().unwrap();
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", tmp.path().join("profile").display()),
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            &format!("file://{}", report.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(90) {
            child.kill().unwrap();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let img = image::open(&png)
        .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
        .to_rgb8();
    assert_eq!(img.dimensions(), (1280, 2000));
    let total = img.pixels().len() as f64;
    let inked = img
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 230))
        .count() as f64;
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0.map(|c| c & 0xf0)).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        inked / total > 0.03,
        "only {:.2}% of the page is drawn",
        100.0 * inked / total
    );
    assert!(
        colours.len() > 40,
        "{} colours: the plots did not render",
        colours.len()
    );
    // The curves' blue and orange are on the page.
    let near = |p: &image::Rgb<u8>, c: [i32; 3]| {
        p.0.iter().zip(c).all(|(&a, b)| (a as i32 - b).abs() < 30)
    };
    assert!(
        img.pixels().any(|p| near(p, [31, 119, 180])),
        "no blue curve"
    );
    assert!(
        img.pixels().any(|p| near(p, [255, 127, 14])),
        "no orange curve"
    );
}
