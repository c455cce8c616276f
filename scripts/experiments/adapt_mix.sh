#!/usr/bin/env bash
# A mixed recipe against each of its parts, MNIST -> USPS (ADDA protocol, no augmentation):
# stage 1 trains the source-only model of each seed (as adapt_digits.sh does); stage 2 continues
# from it for 10 epochs with L2-SP, DANN, self-training, DANN + self-training and all three.
# Prints mean +- sd of the USPS test accuracy over the seeds.
#
# usage: scripts/experiments/adapt_mix.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
GRAFT=${GRAFT:-${CARGO_TARGET_DIR:-target}/debug/graft}
DATA=${GRAFT_DATA:-../shared/data}
SEEDS=${*:-0 1 2}
OUT=${OUT:-/tmp/adapt-mix}
THREADS=${THREADS:-2}
TASK=(--source "$DATA/mnist_test/t10k-images-idx3-ubyte.gz" --source-samples 2000
      --target-unlabelled "$DATA/usps/usps.npz:train" --target-samples 1800
      --target-test "$DATA/usps/usps.npz:test" --augment none --threads "$THREADS" --json)
RECIPES=(
  "continue|--method none"
  "l2sp|--method none --l2sp-alpha 0.01"
  "dann|--method dann"
  "self-training|--method self-training --pseudo-threshold 0.95"
  "dann+self-training|--method dann --pseudo-threshold 0.95"
  "l2sp+dann+self-training|--method dann --pseudo-threshold 0.95 --l2sp-alpha 0.01"
)
accuracy() { python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])'; }
mkdir -p "$OUT"
for s in $SEEDS; do
  if [[ ! -f $OUT/source-$s/model.safetensors ]]; then
    rm -rf "$OUT/source-$s"
    "$GRAFT" adapt --model lenet "${TASK[@]}" --method none --epochs 20 --seed "$s" \
      --out "$OUT/source-$s" >/dev/null
  fi
done
for r in "${RECIPES[@]}"; do
  name=${r%%|*}; flags=${r#*|}
  accs=()
  for s in $SEEDS; do
    rm -rf "$OUT/$name-$s"
    # shellcheck disable=SC2086
    accs+=("$("$GRAFT" adapt --model lenet --weights "$OUT/source-$s/model.safetensors" \
               "${TASK[@]}" $flags --epochs 10 --seed "$s" --out "$OUT/$name-$s" | accuracy)")
  done
  python3 - "$name" "${accs[@]}" <<'PY'
import statistics as st, sys
name, *a = sys.argv[1:]
a = [100 * float(x) for x in a]
sd = st.stdev(a) if len(a) > 1 else 0.0
print(f"{name:26s} {st.mean(a):6.2f} +- {sd:4.2f}  ({', '.join(f'{x:.2f}' for x in a)})")
PY
done
