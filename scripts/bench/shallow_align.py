#!/usr/bin/env python3
"""Shallow alignment fit time: graft-shallow against ADAPT 0.4.5 (CORAL, SA, TCA, FA).

Writes a seeded problem (ns source rows, nt target rows, d features, 10 classes, a shifted and
rescaled target, nl labelled target rows for FA) to .bench/align/problem.npz, times ADAPT's
`fit_transform` on it with the given number of BLAS threads, then runs graft's timing harness
(the ignored test `bench_alignment_methods` of crates/graft-shallow/tests/align_reference.rs,
built with --release) on the same file with as many rayon threads, and prints both times and
the ratio (> 1: graft faster). Each side reports its best of --runs fits (ADAPT's TCA: one
fit unless --tca-runs says otherwise; it takes minutes at the default size).

    /tmp/pyref/bin/python scripts/bench/shallow_align.py                 # 2000 + 2000 x 256
    /tmp/pyref/bin/python scripts/bench/shallow_align.py --ns 500 --nt 500 --d 64

Same settings on both sides: CORAL lambda = 1 (the paper's; ADAPT's default is 1e-5),
SA with 100 components, TCA with 100 components, FA with nl labelled target rows (both sides
also map the nt unlabelled target rows: ADAPT's `FA.transform(xt)` after `fit_transform`).
TCA: ADAPT solves `(I + mu' K L K)^-1 K H K` in the kernel form only (n x n, with a
least-squares solve and a full eigendecomposition); graft is timed in its primal form
(`d x d`, the JDA benchmark's), in the kernel form with ADAPT's linear kernel, and with its
RBF kernel (gamma = 1 / d, scikit-learn's default); ratios are against ADAPT's TCA with the
same kernel (the primal form against ADAPT's linear kernel). Timing covers the fit only
(not loading data, not `import`).
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

REPO = Path(__file__).resolve().parents[2]


def make_problem(ns: int, nt: int, nl: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    k = 10
    means = rng.normal(0.0, 1.0, size=(k, d))
    mix = rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, d))
    ys = rng.integers(0, k, ns)
    xs = means[ys] + rng.normal(size=(ns, d))
    yt = rng.integers(0, k, nt + nl)
    xt = (means[yt] + rng.normal(size=(nt + nl, d))) @ (np.eye(d) + 0.3 * mix) + 0.5
    return xs, ys, xt[:nt], xt[nt:], yt[nt:]


def best_of(runs: int, f) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def time_adapt(xs, ys, xt, xl, yl, runs: int, tca_runs: int, tca_kernels, threads: int):
    from threadpoolctl import threadpool_limits
    import adapt.feature_based as fb

    d = xs.shape[1]
    out = {}
    with threadpool_limits(limits=threads):
        out["coral"] = best_of(runs, lambda: fb.CORAL(lambda_=1.0, verbose=0).fit_transform(xs, xt))
        out["sa"] = best_of(runs, lambda: fb.SA(n_components=100, verbose=0).fit_transform(xs, xt))
        def fa():
            m = fb.FA(verbose=0)
            m.fit_transform(xs, xl, ys, yl)
            m.transform(xt, domain="tgt")

        out["fa"] = best_of(runs, fa)
        for kern in tca_kernels:
            params = {"gamma": 1.0 / d} if kern == "rbf" else {}
            out[f"tca_{kern}"] = best_of(
                tca_runs,
                lambda: fb.TCA(n_components=100, mu=0.1, kernel=kern, verbose=0,
                               **params).fit_transform(xs, xt),
            )
            print(f"  ADAPT TCA ({kern}): {out[f'tca_{kern}']:.2f} s", file=sys.stderr, flush=True)
    return out


def time_graft(problem: Path, runs: int, threads: int, methods: str, profile: str):
    env = dict(os.environ, GRAFT_ALIGN_BENCH=str(problem), GRAFT_ALIGN_BENCH_RUNS=str(runs),
               GRAFT_ALIGN_BENCH_METHODS=methods, RAYON_NUM_THREADS=str(threads))
    cmd = ["cargo", "test", "-q", "-p", "graft-shallow", "--test", "align_reference"]
    if profile == "release":
        cmd.insert(2, "--release")
    cmd += ["--", "--ignored", "--nocapture", "--exact", "bench_alignment_methods"]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"graft timing harness failed:\n{res.stderr[-4000:]}")
    out = {}
    for line in res.stdout.splitlines():
        if line.startswith("{") and '"side": "graft"' in line:
            rec = json.loads(line)
            out[rec["method"]] = rec["seconds"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, default=2000)
    ap.add_argument("--nt", type=int, default=2000)
    ap.add_argument("--nl", type=int, default=200, help="labelled target rows (FA)")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tca-runs", type=int, default=1)
    ap.add_argument("--tca-kernels", default="linear,rbf",
                    help="ADAPT TCA kernels to time (comma list; empty: skip ADAPT's TCA)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--profile", choices=["release", "dev"], default="release")
    ap.add_argument("--no-adapt", action="store_true", help="time graft only")
    args = ap.parse_args()

    out_dir = REPO / ".bench" / "align"
    out_dir.mkdir(parents=True, exist_ok=True)
    xs, ys, xt, xl, yl = make_problem(args.ns, args.nt, args.nl, args.d, args.seed)
    problem = out_dir / "problem.npz"
    np.savez(problem, xs=xs, ys=ys.astype(np.int64), xt=xt, xl=xl, yl=yl.astype(np.int64))

    print(f"ns={args.ns} nt={args.nt} d={args.d} nl={args.nl}, {args.threads} threads, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    kernels = [k for k in args.tca_kernels.split(",") if k]
    graft = time_graft(problem, args.runs, args.threads, "", args.profile)
    adapt = {} if args.no_adapt else time_adapt(xs, ys, xt, xl, yl, args.runs, args.tca_runs,
                                                kernels, args.threads)
    pairs = [("coral", "coral"), ("sa", "sa"), ("fa", "fa"),
             ("tca_primal", "tca_linear"), ("tca_linear", "tca_linear"), ("tca_rbf", "tca_rbf"),
             ("jda_primal", None)]
    print(f"{'graft method':<12} {'graft s':>10} {'ADAPT':<12} {'ADAPT s':>10} {'ratio':>8}")
    rows = []
    for g, a in pairs:
        gs = graft.get(g)
        as_ = adapt.get(a) if a else None
        ratio = as_ / gs if gs and as_ else None
        rows.append({"graft": g, "graft_s": gs, "adapt": a, "adapt_s": as_, "ratio": ratio})
        print(f"{g:<12} {gs if gs is not None else float('nan'):>10.4f} {a or '-':<12} "
              f"{as_ if as_ is not None else float('nan'):>10.4f} "
              f"{(f'{ratio:.1f}x' if ratio else '-'):>8}")
    print(f"load after {os.getloadavg()[0]:.2f}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"run-{stamp}.json").write_text(json.dumps(
        {"args": vars(args), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
