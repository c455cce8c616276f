#!/usr/bin/env bash
# `graft probe` on Fashion-MNIST with ImageNet EfficientNet-Lite0 features, against
# scikit-learn on the same features.
#
# 1. Writes the first 2,000 training and first 1,000 test images as an ImageFolder of PNGs
#    (fashion_folder.py; one subfolder per class) under OUT.
# 2. Runs `graft probe --data OUT/train --test OUT/test` with the logreg, ridge, knn and svm
#    heads, GRAFT_CACHE_DIR=OUT/cache emptied first: the first call extracts the features and
#    writes the cache, the later ones read it. Wall time of every call and the `cache` field
#    of its JSON are kept.
# 3. `graft extract`s the same folders to OUT/train.npz and OUT/test.npz, probes those files
#    with graft too, and fits scikit-learn's LogisticRegression() (lbfgs, C=1, max_iter=100),
#    RidgeClassifier(), KNeighborsClassifier(5) and LinearSVC() on them.
# Prints accuracies side by side with the differences in points (acceptance: within 0.3) and
# the cache timings; everything is also in OUT/summary.json.
#
# Usage: scripts/experiments/fashion_probe.sh [OUT_DIR]     (default .bench/fashion_probe)
# Environment: GRAFT_DATA (folder holding efficientnet_lite0/, default ../shared/data beside
# the repository), GRAFT_BIN (default target/release/graft, built first), GRAFT_BENCH_PYTHON
# (a Python with numpy and scikit-learn, default python3 on PATH), FASHION_DIR
# (default /usr/share/datasets/fashion-mnist, Debian package dataset-fashion-mnist),
# N_TRAIN / N_TEST (2000 / 1000), THREADS (graft's threads and scikit-learn's BLAS threads, 2),
# HEADS ("logreg ridge knn svm").
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/experiments
DATA=${GRAFT_DATA:-$REPO/../shared/data}
OUT=${1:-$REPO/.bench/fashion_probe}
FASHION_DIR=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
N_TRAIN=${N_TRAIN:-2000}
N_TEST=${N_TEST:-1000}
THREADS=${THREADS:-2}
HEADS=${HEADS:-"logreg ridge knn svm"}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'fashion_probe.sh: %s\n' "$*" >&2; exit 1; }

PY=${GRAFT_BENCH_PYTHON:-$(command -v python3 || true)}
[ -n "$PY" ] && [ -x "$PY" ] || die "no Python: set GRAFT_BENCH_PYTHON or put python3 on PATH"
"$PY" -c 'import numpy, sklearn' 2>/dev/null \
    || die "$PY lacks numpy or scikit-learn: 'pip install numpy scikit-learn', or set GRAFT_BENCH_PYTHON to a Python that has them"

WEIGHTS=$DATA/efficientnet_lite0/efficientnet_lite0.safetensors
[ -f "$WEIGHTS" ] || die "needs $WEIGHTS (set GRAFT_DATA)"
[ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] \
    || die "Fashion-MNIST not found in $FASHION_DIR ('apt-get install dataset-fashion-mnist', or set FASHION_DIR)"
if [ -z "${GRAFT_BIN:-}" ]; then
    say "cargo build --release -p graft-cli"
    (cd "$REPO" && env -u CARGO_TARGET_DIR cargo build --release -p graft-cli >&2) || die "cargo build failed"
    GRAFT_BIN=$REPO/target/release/graft
fi
[ -x "$GRAFT_BIN" ] || die "GRAFT_BIN=$GRAFT_BIN is not an executable"

mkdir -p "$OUT"
say "ImageFolder of PNGs: $N_TRAIN train, $N_TEST test images under $OUT"
"$PY" "$HERE/fashion_folder.py" "$FASHION_DIR" "$OUT" --train "$N_TRAIN" --test "$N_TEST"

export GRAFT_CACHE_DIR=$OUT/cache
rm -rf "$GRAFT_CACHE_DIR"
now() { date +%s.%N; }
: > "$OUT/calls.tsv"
for h in $HEADS; do
    say "graft probe --head $h (features from images, through $GRAFT_CACHE_DIR)"
    t0=$(now)
    "$GRAFT_BIN" probe --model efficientnet_lite0 --weights "$WEIGHTS" --data "$OUT/train" \
        --test "$OUT/test" --head "$h" --threads "$THREADS" --json > "$OUT/probe-$h.json"
    t1=$(now)
    printf '%s\t%s\n' "$h" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >> "$OUT/calls.tsv"
done

for split in train test; do
    say "graft extract $OUT/$split -> $OUT/$split.npz"
    "$GRAFT_BIN" extract --model efficientnet_lite0 --weights "$WEIGHTS" --data "$OUT/$split" \
        --out "$OUT/$split.npz" --threads "$THREADS" --json > "$OUT/extract-$split.json"
done
for h in $HEADS; do
    "$GRAFT_BIN" probe --features "$OUT/train.npz" --test "$OUT/test.npz" --head "$h" \
        --threads "$THREADS" --json > "$OUT/probe-npz-$h.json"
done

say "scikit-learn on $OUT/{train,test}.npz"
"$PY" - "$OUT" "$HEADS" "$THREADS" <<'PY'
import json, sys, time, warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

out, heads, threads = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
tr, te = np.load(f"{out}/train.npz"), np.load(f"{out}/test.npz")
# graft computes in f64 on the f32 features; the cast is exact.
xtr, ytr = tr["X"].astype(np.float64), tr["y"].astype(np.int64)
xte, yte = te["X"].astype(np.float64), te["y"].astype(np.int64)
models = {"logreg": LogisticRegression(), "ridge": RidgeClassifier(),
          "knn": KNeighborsClassifier(n_neighbors=5), "svm": LinearSVC()}
rows, calls = [], [line.split("\t") for line in open(f"{out}/calls.tsv").read().splitlines()]
for h in heads:
    g = json.load(open(f"{out}/probe-{h}.json"))
    gn = json.load(open(f"{out}/probe-npz-{h}.json"))
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=threads):
        warnings.simplefilter("always", ConvergenceWarning)
        t = time.perf_counter()
        m = models[h].fit(xtr, ytr)
        secs = time.perf_counter() - t
    acc = float((m.predict(xte) == yte).mean())
    note = []
    if getattr(m, "n_iter_", None) is not None:
        note.append(f"n_iter {np.max(m.n_iter_)}")
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        note.append("ConvergenceWarning")
    if h == "svm" and xtr.shape[0] > xtr.shape[1]:
        # dual="auto" solves the primal here; graft always runs liblinear's dual solver.
        note.append("primal (dual='auto')")
    rows.append({"head": h, "graft": g["accuracy"], "graft_npz": gn["accuracy"], "sklearn": acc,
                 "diff_points": 100 * (g["accuracy"] - acc), "graft_fit_s": g["fit_seconds"],
                 "sklearn_fit_s": secs, "sklearn_note": ", ".join(note)})
print(f"\nFashion-MNIST, EfficientNet-Lite0 features: {xtr.shape[0]} train, {xte.shape[0]} test, d {xtr.shape[1]}")
print(f"{'head':<7} {'graft %':>8} {'graft npz %':>12} {'sklearn %':>10} {'diff pts':>9} {'ok':>4} "
      f"{'graft fit s':>12} {'sklearn fit s':>14}  sklearn notes")
for r in rows:
    ok = "yes" if abs(r["diff_points"]) <= 0.3 else "NO"
    print(f"{r['head']:<7} {100*r['graft']:>8.2f} {100*r['graft_npz']:>12.2f} {100*r['sklearn']:>10.2f} "
          f"{r['diff_points']:>+9.2f} {ok:>4} {r['graft_fit_s']:>12.3f} {r['sklearn_fit_s']:>14.3f}  {r['sklearn_note']}")
print(f"\n{'call':<5} {'head':<7} {'wall s':>8} {'train cache':>12} {'train s':>8} {'test cache':>11} {'test s':>8} {'fit s':>7}")
timing = []
for i, (h, wall) in enumerate(calls):
    c = json.load(open(f"{out}/probe-{h}.json"))
    cache, fit = c["cache"], c["fit_seconds"]
    hit = lambda s: "hit" if cache[s]["hit"] else "miss"
    print(f"{i + 1:<5} {h:<7} {float(wall):>8.2f} {hit('train'):>12} {cache['train']['seconds']:>8.2f} "
          f"{hit('test'):>11} {cache['test']['seconds']:>8.2f} {fit:>7.3f}")
    timing.append({"call": i + 1, "head": h, "wall_s": float(wall), "cache": cache, "fit_s": fit})
ext = {s: json.load(open(f"{out}/extract-{s}.json")) for s in ("train", "test")}
json.dump({"accuracy": rows, "calls": timing, "extract": ext}, open(f"{out}/summary.json", "w"), indent=1)
bad = [r["head"] for r in rows if abs(r["diff_points"]) > 0.3]
print("\nwithin 0.3 points of scikit-learn: " + ("all heads" if not bad else "NOT for " + ", ".join(bad)))
PY
