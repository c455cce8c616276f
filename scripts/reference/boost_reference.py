#!/usr/bin/env python3
"""Reference values for graft-shallow's boosting methods, computed with ADAPT 0.4.5 and scikit-learn.

Writes
  crates/graft-shallow/tests/fixtures/boost_synth.npz        small synthetic problems with ADAPT's
                                                            TrAdaBoost, TrAdaBoostR2 and
                                                            TwoStageTrAdaBoostR2 outputs, and
                                                            scikit-learn Ridge fits with weights
  crates/graft-shallow/tests/fixtures/boost_mnist_usps.json  TrAdaBoost on the JDA arrays: MNIST
                                                            (2000) source, 10 labelled USPS per
                                                            class (indices stored), rest of USPS
                                                            as test

    /tmp/pyref/bin/python scripts/reference/boost_reference.py [--data /work/shared/data]

Every ADAPT model runs with verbose=0 and random_state=0 (nothing in these three methods draws
random numbers with a scikit-learn Ridge or lbfgs LogisticRegression learner).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import sklearn
from adapt.instance_based import TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2
from sklearn.linear_model import LogisticRegression, Ridge

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "graft-shallow" / "tests" / "fixtures"


def classification(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Three Gaussian classes in 4-d; the target moves the class means and a third of the
    source carries labels drawn from the wrong class, so reweighting pays."""
    d, k = 4, 3
    means = rng.normal(0.0, 0.9, size=(k, d))
    shift = rng.normal(0.0, 0.8, size=(k, d))

    def draw(n: int, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, k, size=n)
        return m[y] + rng.normal(0.0, 1.0, size=(n, d)), y

    xs, ys = draw(150, means)
    flip = rng.random(150) < 0.3
    ys = np.where(flip, (ys + 1) % k, ys)
    xt, yt = draw(15, means + shift)
    xe, ye = draw(200, means + shift)
    # A tight tolerance on both sides makes this a check of the boosting arithmetic itself.
    head = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000)
    model = TrAdaBoost(head, n_estimators=10, lr=1.0, verbose=0, random_state=0)
    model.fit(xs, ys, Xt=xt, yt=yt)
    return {
        "cls_xs": xs, "cls_ys": ys, "cls_xt": xt, "cls_yt": yt, "cls_xe": xe, "cls_ye": ye,
        "cls_errors": np.array(model.estimator_errors_),
        "cls_source_weights": model.predict_weights("src"),
        "cls_target_weights": model.predict_weights("tgt"),
        "cls_pred": model.predict(xe).astype(np.int64),
        "cls_accuracy": np.array([model.score(xe, ye)]),
    }


def regression(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """y = x.w + noise; the target keeps w on two features and flips the third, and half the
    source follows the target's w, the other half the source's."""
    d = 3
    w_s = np.array([1.0, -2.0, 0.5])
    w_t = np.array([1.0, -2.0, -1.5])
    xs = rng.normal(0.0, 1.0, size=(100, d))
    like_t = np.arange(100) < 50
    ys = np.where(like_t, xs @ w_t, xs @ w_s) + rng.normal(0.0, 0.3, size=100)
    xt = rng.normal(0.3, 1.0, size=(12, d))
    yt = xt @ w_t + rng.normal(0.0, 0.3, size=12)
    xe = rng.normal(0.3, 1.0, size=(100, d))
    ye = xe @ w_t + rng.normal(0.0, 0.3, size=100)
    r2 = TrAdaBoostR2(Ridge(alpha=1.0), n_estimators=10, lr=1.0, verbose=0, random_state=0)
    r2.fit(xs, ys, Xt=xt, yt=yt)
    ts = TwoStageTrAdaBoostR2(Ridge(alpha=1.0), n_estimators=10, n_estimators_fs=10, cv=5,
                              lr=1.0, verbose=0, random_state=0)
    ts.fit(xs, ys, Xt=xt, yt=yt)
    return {
        "reg_xs": xs, "reg_ys": ys, "reg_xt": xt, "reg_yt": yt, "reg_xe": xe, "reg_ye": ye,
        "r2_pred": r2.predict(xe).ravel(),
        "r2_errors": np.array(r2.estimator_errors_),
        "r2_source_weights": r2.predict_weights("src"),
        "ts_pred": ts.predict(xe).ravel(),
        "ts_errors": np.array(ts.estimator_errors_),
        "ts_source_weights": ts.predict_weights("src"),
        "ts_best": np.array([int(np.argmin(ts.estimator_errors_))], dtype=np.int64),
    }


def ridge(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Ridge(alpha=1.0) with sample weights: tall (primal solve), wide (kernel solve), and
    without intercept."""
    out: dict[str, np.ndarray] = {}
    for name, (n, d) in {"tall": (30, 5), "wide": (8, 12)}.items():
        x = rng.normal(0.0, 1.0, size=(n, d)) + rng.normal(0.0, 2.0, size=d)
        y = x @ rng.normal(0.0, 1.0, size=d) + 3.0 + rng.normal(0.0, 0.5, size=n)
        w = rng.uniform(0.1, 3.0, size=n)
        m = Ridge(alpha=1.0).fit(x, y, sample_weight=w)
        out |= {f"ridge_{name}_x": x, f"ridge_{name}_y": y, f"ridge_{name}_w": w,
                f"ridge_{name}_coef": m.coef_, f"ridge_{name}_intercept": np.array([m.intercept_])}
        m0 = Ridge(alpha=0.5, fit_intercept=False).fit(x, y, sample_weight=w)
        out[f"ridge_{name}_nointercept_coef"] = m0.coef_
    return out


def mnist_usps(data: Path) -> dict:
    z = np.load(data / "jda_mnist_usps_coil" / "mnist_usps_jda.npz")
    xs, ys = z["mnist_X"], z["mnist_y"].astype(np.int64) - 1
    xu, yu = z["usps_X"], z["usps_y"].astype(np.int64) - 1
    rng = np.random.default_rng(0)
    idx = np.sort(np.concatenate(
        [rng.choice(np.flatnonzero(yu == c), 10, replace=False) for c in range(10)]))
    rest = np.setdiff1d(np.arange(len(yu)), idx)
    head = LogisticRegression(C=1.0, max_iter=100)
    model = TrAdaBoost(head, n_estimators=10, lr=1.0, verbose=0, random_state=0)
    model.fit(xs, ys, Xt=xu[idx], yt=yu[idx])
    pred = model.predict(xu[rest])
    plain = LogisticRegression(C=1.0).fit(np.vstack([xs, xu[idx]]), np.r_[ys, yu[idx]])
    return {
        "target_labelled_indices": idx.tolist(),
        "head": "LogisticRegression(C=1.0, max_iter=100, lbfgs)",
        "n_estimators": 10,
        "adapt_accuracy": float((pred == yu[rest]).mean()),
        "adapt_errors": [float(e) for e in model.estimator_errors_],
        "adapt_pred": pred.astype(int).tolist(),
        "adapt_source_weights": [float(f"{w:.9g}") for w in model.predict_weights("src")],
        "plain_logreg_accuracy": float((plain.predict(xu[rest]) == yu[rest]).mean()),
        "head_iterations": [int(e.n_iter_[0]) for e in model.estimators_],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    FIX.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240607)
    arrays = classification(rng) | regression(rng) | ridge(rng)
    np.savez(FIX / "boost_synth.npz", **arrays)
    print("boost_synth.npz:", ", ".join(sorted(arrays)))
    print(f"  synthetic TrAdaBoost accuracy {arrays['cls_accuracy'][0]:.4f}")
    if (args.data / "jda_mnist_usps_coil" / "mnist_usps_jda.npz").exists():
        ref = mnist_usps(args.data)
        ref["versions"] = {"sklearn": sklearn.__version__, "numpy": np.__version__, "adapt": "0.4.5"}
        (FIX / "boost_mnist_usps.json").write_text(json.dumps(ref, indent=1) + "\n")
        print(f"boost_mnist_usps.json: ADAPT TrAdaBoost {ref['adapt_accuracy']:.4f}, "
              f"plain logreg {ref['plain_logreg_accuracy']:.4f}, head iterations {ref['head_iterations']}")
    else:
        print("skipped MNIST -> USPS: data not found under", args.data)


if __name__ == "__main__":
    main()
