#!/usr/bin/env python3
"""Instance weighting: graft-shallow against ADAPT 0.4.5, same data, every method at its defaults.

Writes a seeded problem (ns = nt = 2000, d = 256 by default; target = source distribution shifted
by 0.3 per feature and scaled by 0.9) to .bench/instance/bench_NSxD.npz, times ADAPT's KMM,
KLIEP, ULSIF, RULSIF, NearestNeighborsWeighting and IWC (`fit_weights` only) and, unless
--no-rust, the ignored Rust test `time_2000x256` (crates/graft-shallow/tests/instance_adapt.rs,
release build) on the same file, alternating the two sides for --rounds rounds; prints one
JSON line per method with each side's best time and the ratio, then the load average. Thread
counts are whatever both sides find (set OMP_NUM_THREADS / RAYON_NUM_THREADS to pin them).

    /tmp/pyref/bin/python scripts/bench/shallow_instance.py [--repeats 3] [--rounds 2] [--no-rust]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from adapt.instance_based import (  # noqa: E402
    IWC,
    KLIEP,
    KMM,
    RULSIF,
    ULSIF,
    NearestNeighborsWeighting,
)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".bench" / "instance"

METHODS = {
    "kmm": lambda: KMM(verbose=0, random_state=0),
    "kliep": lambda: KLIEP(verbose=0, random_state=0),
    "ulsif": lambda: ULSIF(verbose=0, random_state=0),
    "rulsif": lambda: RULSIF(verbose=0, random_state=0),
    "nnw": lambda: NearestNeighborsWeighting(verbose=0, random_state=0),
    "discriminative": lambda: IWC(verbose=0, random_state=0),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-rust", action="store_true")
    a = p.parse_args()

    rng = np.random.default_rng(0)
    xs = rng.normal(size=(a.n, a.d))
    xt = 0.9 * rng.normal(size=(a.n, a.d)) + 0.3
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"bench_{a.n}x{a.d}.npz"
    np.savez(data, xs=xs, xt=xt)

    env = dict(os.environ, CARGO_TARGET_DIR=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")),
               BENCH_REPEATS=str(a.repeats))
    rust_cmd = ["cargo", "test", "--release", "-q", "-p", "graft-shallow", "--test",
                "instance_adapt", "time_2000x256", "--", "--ignored", "--nocapture",
                "--test-threads=1"]
    run_rust = not a.no_rust and (a.n, a.d) == (2000, 256)

    # Rounds alternate the two sides, so that a change in machine load hits both; each side
    # keeps its best time per method.
    python: dict[str, float] = {}
    rust: dict[str, float] = {}
    for _ in range(a.rounds):
        for name, make in METHODS.items():
            for _ in range(a.repeats):
                m = make()
                t = time.perf_counter()
                m.fit_weights(xs, xt)
                python[name] = min(python.get(name, float("inf")), time.perf_counter() - t)
        if run_rust:
            out = subprocess.run(rust_cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                 check=True).stdout
            for line in out.splitlines():
                if line.startswith("{"):
                    r = json.loads(line)
                    rust[r["method"]] = min(rust.get(r["method"], float("inf")), r["seconds"])
    for name, secs in python.items():
        row = {"method": name, "adapt_seconds": round(secs, 5)}
        if name in rust:
            row["graft_seconds"] = round(rust[name], 5)
            row["speedup"] = round(secs / rust[name], 2)
        print(json.dumps(row))
    print(json.dumps({"load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
