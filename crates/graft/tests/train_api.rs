//! Training runs as library calls: a small pre-train and fine-tune through the API, a second
//! fine-tune cancelled mid-epoch with the token and resumed, ending bit for bit where the
//! uninterrupted one did. Digits rendered by the test itself, so no shared data is needed.

use graft::train::{Start, TrainCommand, TrainOpts, TrainSpec};
use graft::{CancelToken, Error, Event, Runtime, Silent};
use graft_data::npy::{write_npz, NpyOut};
use graft_data::synth_digits::{render, DigitDomain};
use std::path::{Path, PathBuf};

/// `n` rendered digits of `domain` as an .npz (X: n x 28 x 28 x 3, y).
fn digits_npz(dir: &Path, name: &str, domain: DigitDomain, n: usize, seed: u64) -> PathBuf {
    let d = render(domain, n, seed);
    let x: Vec<f32> = d.pixels.iter().map(|&p| p as f32).collect();
    let p = dir.join(name);
    write_npz(
        std::fs::File::create(&p).unwrap(),
        &[
            ("X", &[n, 28, 28, 3], NpyOut::F32(&x)),
            ("y", &[n], NpyOut::I64(&d.labels)),
        ],
    )
    .unwrap();
    p
}

fn opts(epochs: usize) -> TrainOpts {
    TrainOpts {
        epochs,
        lr: 0.05,
        seed: 3,
        ..TrainOpts::default()
    }
}

fn one_thread() -> Runtime {
    Runtime {
        threads: 1,
        ..Runtime::default()
    }
}

#[test]
fn finetune_through_the_api_then_cancel_and_resume_to_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let source = digits_npz(tmp.path(), "source.npz", DigitDomain::Source, 256, 1);
    // Fresh digits of the pre-training style: three short epochs must then reach far above
    // chance, which a broken weight load or head would not.
    let target = digits_npz(tmp.path(), "target.npz", DigitDomain::Source, 160, 2);
    let test = digits_npz(tmp.path(), "test.npz", DigitDomain::Source, 200, 4);
    let (src, tgt, tst) = (
        source.to_str().unwrap(),
        target.to_str().unwrap(),
        test.to_str().unwrap(),
    );
    let rt = one_thread();
    let never = CancelToken::new();

    let pre = graft::train::run(
        &TrainSpec::pretrain("lenet", src)
            .opts(opts(2))
            .out(tmp.path().join("pre")),
        &rt,
        &mut Silent,
        &never,
    )
    .unwrap();
    assert_eq!(pre.summary.command, "pretrain");
    assert!(pre.dir.model().exists());

    let finetune = |out: &str| {
        TrainSpec::finetune("lenet", tgt)
            .weights(pre.dir.model().to_str().unwrap())
            .test(tst)
            .opts(opts(3))
            .out(tmp.path().join(out))
    };
    let mut epochs_seen = 0;
    let whole = graft::train::run(
        &finetune("whole"),
        &rt,
        &mut |e: Event<'_>| {
            if let Event::Train(graft_nn::train::Event::EpochEnd(_)) = e {
                epochs_seen += 1;
            }
        },
        &never,
    )
    .unwrap();
    assert_eq!(epochs_seen, 3);
    assert_eq!(whole.summary.epochs_run, 3);
    assert_eq!(whole.summary.weights.as_deref(), pre.dir.model().to_str());
    let acc = whole
        .summary
        .accuracy
        .expect("a test set gives an accuracy");
    assert!(
        acc > 0.3,
        "fine-tuned LeNet reached only {acc} on fresh digits"
    );
    // What the library returned is what it wrote.
    assert_eq!(
        graft::summary::Summary::read(whole.dir.path()).unwrap(),
        whole.summary
    );

    // The same run, cancelled by its own observer at the third step of the second epoch.
    let cancel = CancelToken::new();
    let (mut epoch, mut step) = (0, 0);
    let stopped = graft::train::run(
        &finetune("cut"),
        &rt,
        &mut |e: Event<'_>| match e {
            Event::Train(graft_nn::train::Event::EpochStart { epoch: i, .. }) => {
                (epoch, step) = (*i, 0)
            }
            Event::Train(graft_nn::train::Event::Step { .. }) => {
                step += 1;
                if epoch == 1 && step == 3 {
                    cancel.cancel();
                }
            }
            _ => {}
        },
        &cancel,
    );
    let dir = match stopped {
        Err(Error::Cancelled { dir, epoch, .. }) => {
            assert_eq!(epoch, 1, "stopped in the second epoch");
            dir
        }
        other => panic!(
            "expected a cancelled run, got {:?}",
            other.map(|o| o.summary)
        ),
    };
    assert!(graft::RunDir::new(&dir).checkpoint().exists());
    assert!(
        !graft::RunDir::new(&dir).model().exists(),
        "no model before the end"
    );

    let resumed = graft::train::run(
        &TrainSpec::resume(TrainCommand::Finetune, &dir),
        &rt,
        &mut Silent,
        &never,
    )
    .unwrap();
    assert_eq!(resumed.summary.test, whole.summary.test);
    assert_eq!(resumed.summary.train_loss, whole.summary.train_loss);
    let tensors = |p: PathBuf| {
        let mut t = tch::Tensor::read_safetensors(p).unwrap();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    };
    let (a, b) = (tensors(resumed.dir.model()), tensors(whole.dir.model()));
    // Bit for bit, tensor by tensor (the file's layout may order them differently).
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(
            ta.equal(tb),
            "{na}: the resumed model differs from the uninterrupted one"
        );
    }
    assert!(matches!(
        TrainSpec::resume(TrainCommand::Finetune, &dir).start,
        Start::Resume(_)
    ));
}

#[test]
fn bad_specs_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = one_thread();
    let e = graft::train::run(
        &TrainSpec::finetune("no_such_model", "nowhere.npz").out(tmp.path().join("a")),
        &rt,
        &mut Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no_such_model"), "{e}");
    let mut spec = TrainSpec::finetune("lenet", "nowhere.npz").out(tmp.path().join("b"));
    spec.data.model = None;
    let e = graft::train::run(&spec, &rt, &mut Silent, &CancelToken::new()).unwrap_err();
    assert!(e.to_string().contains("--model is required"), "{e}");
}
