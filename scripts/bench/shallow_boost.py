#!/usr/bin/env python3
"""TrAdaBoost fit time: graft-shallow against ADAPT 0.4.5, same data, same head, same threads.

Writes a seeded problem (ns source and nt labelled target samples, d features, 10 classes;
probe_logreg.py's generator with the class means shifted in the target) as .npy files under
.bench/boost/, fits ADAPT's TrAdaBoost(LogisticRegression(C=1.0), n_estimators=10) on it and
prints one JSON line per side (best of --runs fits) and the time ratio. Unless --no-rust, the
Rust side is the ignored test `bench_tradaboost_logistic` of crates/graft-shallow/tests/
boost_adapt.rs, built with --release, on the same files. Timing covers the fit only.

    /tmp/pyref/bin/python scripts/bench/shallow_boost.py                  # 2000 + 2000 x 256
    /tmp/pyref/bin/python scripts/bench/shallow_boost.py --threads 1 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, default=2000)
    ap.add_argument("--nt", type=int, default=2000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--no-rust", action="store_true")
    args = ap.parse_args()
    threads = str(args.threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[var] = threads
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import numpy as np
    from adapt.instance_based import TrAdaBoost
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(args.seed)
    rank = min(64, args.d)
    means = rng.normal(0.0, 0.2, size=(args.k, rank))
    shift = rng.normal(0.0, 0.1, size=(args.k, rank))
    mix = rng.normal(0.0, 1.0 / np.sqrt(rank), size=(rank, args.d))

    def draw(n: int, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, args.k, size=n)
        x = (m[y] + rng.normal(0.0, 1.0, size=(n, rank))) @ mix + rng.normal(0.0, 1.0, size=(n, args.d))
        return np.ascontiguousarray(x), y.astype(np.int64)

    xs, ys = draw(args.ns, means)
    xt, yt = draw(args.nt, means + shift)
    xe, ye = draw(2000, means + shift)
    out = ROOT / ".bench" / "boost"
    out.mkdir(parents=True, exist_ok=True)
    for name, a in dict(xs=xs, ys=ys, xt=xt, yt=yt, xe=xe, ye=ye).items():
        np.save(out / f"{name}.npy", a)

    best, acc = float("inf"), 0.0
    for _ in range(args.runs):
        model = TrAdaBoost(LogisticRegression(C=1.0), n_estimators=10, verbose=0, random_state=0)
        start = time.perf_counter()
        model.fit(xs, ys, Xt=xt, yt=yt)
        best = min(best, time.perf_counter() - start)
        acc = float((model.predict(xe) == ye).mean())
    print(json.dumps({"side": "adapt", "seconds": round(best, 4), "accuracy": acc,
                      "ns": args.ns, "nt": args.nt, "d": args.d, "threads": args.threads}))
    if args.no_rust:
        return
    env = dict(os.environ, GRAFT_BOOST_BENCH=str(out), BENCH_RUNS=str(args.runs))
    cmd = ["cargo", "test", "--release", "-q", "-p", "graft-shallow", "--test", "boost_adapt", "--",
           "--ignored", "--nocapture", "--exact", "bench_tradaboost_logistic"]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    line = next((l for l in res.stdout.splitlines() if l.startswith('{"side": "graft"')), None)
    if line is None:
        sys.exit(f"Rust side failed:\n{res.stdout}\n{res.stderr}")
    print(line)
    rust = json.loads(line)
    print(f"ratio ADAPT / graft: {best / rust['seconds']:.2f}x (load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
