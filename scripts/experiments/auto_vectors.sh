#!/usr/bin/env bash
# graft auto on feature vectors: the JDA benchmark's MNIST -> USPS arrays (256 raw pixels a
# row), 10 labelled USPS digits per class, the 2,000 MNIST rows as labelled source and the 1,800
# USPS rows as unlabelled target and as test set (the transductive protocol of the JDA paper).
# Prints, per seed, every strategy's held-out accuracy, the winner and its test accuracy.
#
# usage: scripts/experiments/auto_vectors.sh [SEEDS...]
#        (env: GRAFT, GRAFT_DATA=../shared/data, BUDGET=10m, OUT, THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
GRAFT=${GRAFT:-target/release/graft}
DATA=${GRAFT_DATA:-../shared/data}/jda_mnist_usps_coil/mnist_usps_jda.npz
BUDGET=${BUDGET:-10m}
OUT=${OUT:-/tmp/auto-vectors}
THREADS=${THREADS:-2}
SEEDS=${*:-0 1 2}
mkdir -p "$OUT"
for s in $SEEDS; do
  d=$OUT/seed-$s
  rm -rf "$d"
  "$GRAFT" auto --seed "$s" --data "$DATA:usps" --labels-per-class 10 \
    --source "$DATA:mnist" --target-unlabelled "$DATA:usps" --test "$DATA:usps" \
    --budget "$BUDGET" --threads "$THREADS" --out "$d" --json > "$d.json"
  python3 - "$d.json" "$s" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"seed {sys.argv[2]}: baseline {100 * r['baseline_val_accuracy']:.2f} % held out, "
      f"{r['seconds']:.0f} s")
for row in r["rows"]:
    v = row["val_accuracy"]
    print(f"  {row['strategy']:<24} {'-' if v is None else f'{100 * v:.2f}':>6}  {row['status']}")
w = r["winner"]
t = w["test_accuracy"]
print(f"  winner {w['strategy']}: {100 * w['val_accuracy']:.2f} % held out, "
      f"{'-' if t is None else f'{100 * t:.2f}'} % on the test set")
PY
done
