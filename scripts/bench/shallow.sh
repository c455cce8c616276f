#!/usr/bin/env bash
# Shallow transfer fit time, graft-shallow against ADAPT, every method side by side in one run
# at ns = nt = 2,000, d = 256: instance weighting (KMM, KLIEP, uLSIF, RuLSIF, NNW, domain
# classifier; shallow_instance.py), alignment (CORAL, SA, TCA, FA; shallow_align.py) and
# TrAdaBoost with logistic-regression heads (shallow_boost.py). Each script writes its seeded
# problem under .bench/, times ADAPT's fit in Python and graft's (a release-built timing test
# of crates/graft-shallow on the same file), alternating, and prints one JSON line per method
# with both times and the ratio (> 1: graft faster). The whole output, with the load average
# before and after, is kept in .bench/shallow/run-DATE.txt.
#
# Environment:
#   GRAFT_BENCH_PYTHON   Python with numpy, scikit-learn and ADAPT (`pip install adapt
#                        tensorflow-cpu scikeras cvxopt`); default python3 on PATH
#   BENCH_THREADS        BLAS threads (Python) and rayon threads (graft), default 2
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$REPO/.bench/shallow
THREADS=${BENCH_THREADS:-2}
die() { printf 'shallow.sh: %s\n' "$*" >&2; exit 1; }

PY=${GRAFT_BENCH_PYTHON:-$(command -v python3 || true)}
[ -n "$PY" ] && [ -x "$PY" ] || die "no Python: set GRAFT_BENCH_PYTHON or put python3 on PATH"
TF_CPP_MIN_LOG_LEVEL=3 "$PY" -c 'import numpy, sklearn, adapt' 2>/dev/null \
    || die "$PY lacks numpy, scikit-learn or ADAPT: 'pip install adapt tensorflow-cpu scikeras cvxopt', or set GRAFT_BENCH_PYTHON"

export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export RAYON_NUM_THREADS=$THREADS TF_CPP_MIN_LOG_LEVEL=3
mkdir -p "$OUT"
log=$OUT/run-$(date +%Y%m%d-%H%M%S).txt
cd "$REPO"
{
    echo "shallow transfer, ns = nt = 2000, d = 256, $THREADS threads, $(nproc) cores"
    echo "ADAPT $("$PY" -c 'import adapt; print(adapt.__version__)' 2>/dev/null), scikit-learn $("$PY" -c 'import sklearn; print(sklearn.__version__)')"
    echo "load before: $(uptime)"
    echo "--- instance weighting"
    "$PY" scripts/bench/shallow_instance.py --repeats 2 --rounds 1
    echo "--- alignment"
    "$PY" scripts/bench/shallow_align.py --threads "$THREADS"
    echo "--- TrAdaBoost"
    "$PY" scripts/bench/shallow_boost.py --threads "$THREADS" --runs 2
    echo "load after:  $(uptime)"
} 2>&1 | tee "$log"
printf '==> kept in %s\n' "$log" >&2
