#!/usr/bin/env bash
# graft auto on the demo's domains against the demo's own rows, seed by seed: for each seed the
# demo's domains are exported (`graft demo --export`), `graft auto` searches them within BUDGET,
# and `graft demo` gives the hand-made rows of the same domains. Prints, per seed, the demo's
# best row and auto's winner with its test accuracy.
#
# usage: scripts/experiments/auto_demo.sh [SEEDS...]   (env: GRAFT, BUDGET=10m, OUT, THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
GRAFT=${GRAFT:-target/release/graft}
BUDGET=${BUDGET:-10m}
OUT=${OUT:-/tmp/auto-demo-seeds}
THREADS=${THREADS:-2}
SEEDS=${*:-0 1 2}
mkdir -p "$OUT"
for s in $SEEDS; do
  d=$OUT/seed-$s
  rm -rf "$d"
  "$GRAFT" demo --seed "$s" --export "$d/domains" --json
  "$GRAFT" demo --seed "$s" --threads "$THREADS" --out "$d/demo" --json > "$d/demo.json"
  "$GRAFT" auto --seed "$s" --data "$d/domains/target_labelled.npz" \
    --source "$d/domains/source.npz" --target-unlabelled "$d/domains/target_unlabelled.npz" \
    --test "$d/domains/target_test.npz" --budget "$BUDGET" --threads "$THREADS" \
    --out "$d/auto" --json > "$d/auto.json"
  python3 - "$d" "$s" <<'PY'
import json, sys
d, s = sys.argv[1], sys.argv[2]
demo = json.load(open(f"{d}/demo.json"))
auto = json.load(open(f"{d}/auto.json"))
best = max(demo["rows"], key=lambda r: r["accuracy"])
w = auto["winner"]
print(f"seed {s}: demo best {best['method']} {100*best['accuracy']:.2f}; "
      f"auto {w['strategy']} {100*(w['test_accuracy'] or 0):.2f} "
      f"({auto['seconds']:.0f} s of {auto['budget_seconds']:.0f} s)")
PY
done
