#!/usr/bin/env bash
# Logistic regression fit time, graft-shallow against scikit-learn, in one run: probe_logreg.py
# writes a seeded n x d, k-class problem to .bench/probe/{x,y}.npy, fits scikit-learn's
# LogisticRegression(solver="lbfgs") on it and runs the Rust example `bench_logreg`
# (cargo run --release -p graft-shallow --example bench_logreg) on the same files, alternating,
# with the same C, tolerance, max_iter and threads. Prints both JSON lines (best time,
# iterations, final objective, training accuracy), the speed-up, and the load average before
# and after (other work on the machine distorts the ratio). The output is also kept in
# .bench/probe/run-DATE.txt.
#
# Environment:
#   GRAFT_BENCH_PYTHON   Python with numpy and scikit-learn (default python3 on PATH)
#   BENCH_THREADS        BLAS threads (scikit-learn) and rayon threads (graft), default 2
#   BENCH_RUNS           repeats per side, default 3 (the best is reported)
#   BENCH_PROBE_N, BENCH_PROBE_D, BENCH_PROBE_K   problem size, default 20000, 1280, 10
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$REPO/.bench/probe
THREADS=${BENCH_THREADS:-2}
RUNS=${BENCH_RUNS:-3}
N=${BENCH_PROBE_N:-20000}
D=${BENCH_PROBE_D:-1280}
K=${BENCH_PROBE_K:-10}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'probe.sh: %s\n' "$*" >&2; exit 1; }

PY=${GRAFT_BENCH_PYTHON:-$(command -v python3 || true)}
[ -n "$PY" ] && [ -x "$PY" ] || die "no Python: set GRAFT_BENCH_PYTHON or put python3 on PATH"
"$PY" -c 'import numpy, sklearn, threadpoolctl' 2>/dev/null \
    || die "$PY lacks numpy or scikit-learn: 'pip install numpy scikit-learn', or set GRAFT_BENCH_PYTHON to a Python that has them"

mkdir -p "$OUT"
log=$OUT/run-$(date +%Y%m%d-%H%M%S).txt
cd "$REPO"
{
    echo "logistic regression, $N x $D, $K classes, C=1, tol 1e-4, max_iter 100, $THREADS threads, best of $RUNS"
    echo "scikit-learn $("$PY" -c 'import sklearn; print(sklearn.__version__)'), numpy $("$PY" -c 'import numpy; print(numpy.__version__)'), $(nproc) cores"
    echo "load before: $(uptime)"
    "$PY" scripts/bench/probe_logreg.py --n "$N" --d "$D" --k "$K" --threads "$THREADS" \
        --runs "$RUNS" --out "$OUT"
    echo "load after:  $(uptime)"
} 2>&1 | tee "$log"
say "kept in $log"
