#!/usr/bin/env python3
"""Multinomial logistic regression: graft-shallow against scikit-learn, same data and tolerance.

Writes a seeded synthetic problem (n x d features, k classes: weak Gaussian class means in a
64-d latent space mixed into d dimensions, plus noise; not separable, so L-BFGS meets the
tolerance in well under max_iter iterations) as .npy files, fits scikit-learn's
LogisticRegression(solver="lbfgs") on it with the given number of BLAS threads, and
prints one JSON line: seconds, iterations, final objective, accuracy. Unless --no-rust,
the Rust example `bench_logreg` runs on the same files with the same tolerance and
threads, alternating with scikit-learn, and the time ratio of the best runs is printed.
Timing covers the fit only on both sides (not loading the data). Outputs go to .bench/probe/.

    /tmp/pyref/bin/python scripts/bench/probe_logreg.py            # 20000 x 1280, 10 classes
    /tmp/pyref/bin/python scripts/bench/probe_logreg.py --n 2000 --d 128

Both sides run the same objective (sum of weighted losses / sum of weights +
0.5 / (C * sum of weights) * ||W||^2), the same L-BFGS memory (10), the same stopping
rule (largest gradient entry <= tol, or max_iter iterations) and start from zero.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def make_data(n: int, d: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    rank = min(64, d)
    means = rng.normal(0.0, 0.2, size=(k, rank))
    latent = means[y] + rng.normal(0.0, 1.0, size=(n, rank))
    mix = rng.normal(0.0, 1.0 / np.sqrt(rank), size=(rank, d))
    x = latent @ mix + rng.normal(0.0, 1.0, size=(n, d))
    return np.ascontiguousarray(x, dtype=np.float64), y.astype(np.int64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--d", type=int, default=1280)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="repeats per side, alternating; the best is reported")
    ap.add_argument("--out", type=Path, default=Path(".bench/probe"))
    ap.add_argument("--no-rust", action="store_true")
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits
    from sklearn.linear_model import LogisticRegression

    args.out.mkdir(parents=True, exist_ok=True)
    x, y = make_data(args.n, args.d, args.k, args.seed)
    xp, yp = args.out / "x.npy", args.out / "y.npy"
    np.save(xp, x)
    np.save(yp, y)

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    cmd = ["cargo", "run", "--release", "-q", "-p", "graft-shallow", "--example", "bench_logreg", "--",
           str(xp), str(yp), "--c", str(args.c), "--tol", str(args.tol), "--max-iter", str(args.max_iter),
           "--threads", str(args.threads), "--runs", "1"]
    if not args.no_rust:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "graft-shallow", "--example", "bench_logreg"],
                       check=True)

    # The sides alternate so that load from other processes hits both alike; best run reported.
    sk_times, rs_runs = [], []
    for _ in range(args.runs):
        with threadpool_limits(limits=args.threads):
            clf = LogisticRegression(C=args.c, tol=args.tol, max_iter=args.max_iter)
            t0 = time.perf_counter()
            clf.fit(x, y)
            sk_times.append(time.perf_counter() - t0)
        if not args.no_rust:
            res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            rs_runs.append(json.loads(res.stdout.strip().splitlines()[-1]))

    w = clf.coef_
    z = x @ w.T + clf.intercept_
    z -= z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    obj = float(np.mean(lse - z[np.arange(len(y)), y]) + 0.5 / (args.c * len(y)) * np.sum(w * w))
    acc = float((clf.predict(x) == y).mean())
    sk = {"side": "scikit-learn", "seconds": min(sk_times), "all_seconds": sk_times,
          "n_iter": int(clf.n_iter_[0]), "objective": obj, "train_accuracy": acc,
          "threads": args.threads}
    print(json.dumps(sk), flush=True)
    if args.no_rust:
        return
    rs = min(rs_runs, key=lambda r: r["seconds"])
    rs["all_seconds"] = [r["seconds"] for r in rs_runs]
    print(json.dumps(rs), flush=True)
    print(f"scikit-learn {sk['seconds']:.3f} s ({sk['n_iter']} it, objective {sk['objective']:.8f}) | "
          f"graft {rs['seconds']:.3f} s ({rs['n_iter']} it, objective {rs['objective']:.8f}) | "
          f"speed-up {sk['seconds'] / rs['seconds']:.2f}x (best of {args.runs} each, {args.threads} threads)")


if __name__ == "__main__":
    sys.exit(main())
