#!/usr/bin/env bash
# Deep embedded validation (You et al. 2019) choosing the epoch of DANN runs on MNIST -> USPS
# (LeNet, the ADDA protocol of adapt_digits.sh, no augmentation), without target labels: per
# seed, the USPS test accuracy of the epoch DEV keeps, against the best and the last epoch's
# (the test set is monitored every epoch for this comparison only; nothing chooses by it).
#
# usage: scripts/experiments/dev_selection.sh [SEEDS...]   (env: GRAFT, GRAFT_DATA, OUT, THREADS)
set -euo pipefail
cd "$(dirname "$0")/../.."
GRAFT=${GRAFT:-target/release/graft}
DATA=${GRAFT_DATA:-../shared/data}
OUT=${OUT:-/tmp/dev-selection}
THREADS=${THREADS:-2}
SEEDS=${*:-0 1 2}
MNIST=$DATA/mnist_test/t10k-images-idx3-ubyte.gz
USPS=$DATA/usps/usps.npz
mkdir -p "$OUT"
for s in $SEEDS; do
  d=$OUT/dann-$s
  rm -rf "$d"
  "$GRAFT" adapt --model lenet --method dann --source "$MNIST" --source-samples 2000 \
    --target-unlabelled "$USPS:train" --target-samples 1800 --target-test "$USPS:test" \
    --augment none --epochs 20 --select dev --val-fraction 0.1 --monitor --seed "$s" \
    --projection-samples 0 --threads "$THREADS" --out "$d" --json > "$d.json"
  python3 - "$d" "$s" <<'PY'
import json, sys
d, s = sys.argv[1], sys.argv[2]
epochs = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
summary = json.load(open(f"{d}/summary.json"))
mon = [e["monitor_accuracy"] for e in epochs]
risks = [e.get("dev_risk") for e in epochs]
kept = summary["selected_epoch"]
best = max(range(len(mon)), key=lambda i: mon[i])
print(f"seed {s}: DEV keeps epoch {kept} ({100 * mon[kept - 1]:.2f} %), best epoch {best + 1} "
      f"({100 * mon[best]:.2f} %), last {100 * mon[-1]:.2f} %, gap {100 * (mon[best] - mon[kept - 1]):.2f} "
      f"points; risks {min(r for r in risks if r is not None):.3f}..{max(r for r in risks if r is not None):.3f}")
PY
done
