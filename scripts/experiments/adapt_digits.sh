#!/usr/bin/env bash
# MNIST -> USPS and USPS -> MNIST with LeNet, ADDA protocol: 2000 source images drawn from the
# MNIST pool (the official 10k test set: MNIST training images are not shipped) and 1800 USPS
# training images as the unlabelled target, tested on the USPS test set (2007); the reverse task
# draws 1800 labelled USPS training images and 2000 unlabelled MNIST images, and tests on the
# whole 10k MNIST pool (which holds those 2000, as in the transductive protocol of the DANN
# paper). Prints mean +- sd of the target test accuracy over the seeds for each recipe.
# EXTRA adds flags to every run (the README's table uses EXTRA="--augment none", the papers'
# protocol); ONLY="dann|cdan" keeps some recipes.
#
# usage: scripts/experiments/adapt_digits.sh [mnist-usps|usps-mnist] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
GRAFT=${GRAFT:-${CARGO_TARGET_DIR:-target}/debug/graft}
DATA=${GRAFT_DATA:-../shared/data}
TASK=${1:-mnist-usps}
shift || true
SEEDS=${*:-0 1 2}
MNIST=$DATA/mnist_test/t10k-images-idx3-ubyte.gz
USPS=$DATA/usps/usps.npz
OUT=${OUT:-/tmp/adapt-digits}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-20}
case $TASK in
  mnist-usps) TASK_ARGS=(--source "$MNIST" --source-samples 2000
                --target-unlabelled "$USPS:train" --target-samples 1800 --target-test "$USPS:test") ;;
  usps-mnist) TASK_ARGS=(--source "$USPS:train" --source-samples 1800
                --target-unlabelled "$MNIST" --target-samples 2000 --target-test "$MNIST") ;;
  *) echo "unknown task $TASK" >&2; exit 2 ;;
esac
# name | flags
METHODS=(
  "source-only|--method none"
  "dann|--method dann"
  "coral|--method coral --domain-weight 30"
  "self-training|--method self-training --pseudo-threshold 0.95"
  "dann+self-training|--method dann --pseudo-threshold 0.95"
  "cdan|--method cdan"
  "cdan+e|--method cdan+e"
  "mdd|--method mdd"
  "mmd|--method mmd"
  "cdan+e+self-training|--method cdan+e --pseudo-threshold 0.95"
)
if [[ -n ${ONLY:-} ]]; then
  mapfile -t METHODS < <(printf '%s\n' "${METHODS[@]}" | grep -E "^($ONLY)\|")
fi
mkdir -p "$OUT"
for m in "${METHODS[@]}"; do
  name=${m%%|*}; flags=${m#*|}
  accs=()
  for s in $SEEDS; do
    dir=$OUT/$TASK-$name-$s
    rm -rf "$dir"
    # shellcheck disable=SC2086
    acc=$("$GRAFT" adapt --model lenet "${TASK_ARGS[@]}" $flags --epochs "$EPOCHS" \
          --seed "$s" --threads "$THREADS" --out "$dir" --json ${EXTRA:-} \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])')
    accs+=("$acc")
    echo "$TASK $name seed $s: $acc" >&2
  done
  python3 - "$TASK" "$name" "${accs[@]}" <<'PY'
import statistics as st, sys
task, name, *a = sys.argv[1:]
a = [100 * float(x) for x in a]
sd = st.stdev(a) if len(a) > 1 else 0.0
print(f"{task:11s} {name:22s} {st.mean(a):6.2f} +- {sd:4.2f}  ({', '.join(f'{x:.2f}' for x in a)})")
PY
done
