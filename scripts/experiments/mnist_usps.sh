#!/usr/bin/env bash
# MNIST -> USPS with LeNet: pre-train on MNIST (the 10,000-image test set in GRAFT_DATA), then
# fine-tune on USPS train with 10, 50 and 200 labels per class against training from scratch,
# 3 seeds each, tested on the 2,007 USPS test digits. Prints mean +- sd accuracy per budget.
# Usage: scripts/experiments/mnist_usps.sh [OUT_DIR]   (GRAFT_BIN to use a built binary;
# PRECISION=bf16 trains and tests every run with bfloat16 autocast)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${GRAFT_DATA:-$REPO/../shared/data}
OUT=${1:-$REPO/.bench/mnist_usps}
SEEDS=${SEEDS:-"0 1 2"}
THREADS=${THREADS:-2}
PRECISION=${PRECISION:-fp32}
if [ -z "${GRAFT_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -p graft-cli >&2)
    GRAFT_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/graft
fi
MNIST=$DATA/mnist_test/t10k-images-idx3-ubyte.gz
USPS=$DATA/usps/usps.npz
[ -f "$MNIST" ] && [ -f "$USPS" ] || { echo "needs $MNIST and $USPS (set GRAFT_DATA)" >&2; exit 1; }
mkdir -p "$OUT"
rm -rf "$OUT"/pre "$OUT"/ft-* "$OUT"/scratch-*

echo "pre-training lenet on MNIST ($MNIST)" >&2
"$GRAFT_BIN" pretrain --model lenet --data "$MNIST" --epochs 10 --lr 0.05 --batch-size 64 \
    --test "$USPS:test" --threads "$THREADS" --precision "$PRECISION" --seed 0 --out "$OUT/pre" --json > "$OUT/pre.json"

epochs_for() { case $1 in 10) echo 60;; 50) echo 30;; *) echo 15;; esac; }
for k in 10 50 200; do
    for seed in $SEEDS; do
        e=$(epochs_for "$k")
        common=(--model lenet --data "$USPS:train" --test "$USPS:test" --labels-per-class "$k"
                --epochs "$e" --batch-size 32 --threads "$THREADS" --precision "$PRECISION" --seed "$seed" --json)
        "$GRAFT_BIN" finetune "${common[@]}" --lr 0.03 --out "$OUT/scratch-$k-$seed" > "$OUT/scratch-$k-$seed.json"
        "$GRAFT_BIN" finetune "${common[@]}" --lr 0.01 --weights "$OUT/pre/model.safetensors" \
            --out "$OUT/ft-$k-$seed" > "$OUT/ft-$k-$seed.json"
        echo "k=$k seed=$seed done" >&2
    done
done

python3 - "$OUT" "$SEEDS" <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2].split()
pre = json.load(open(f"{out}/pre.json"))
print(f"source only (MNIST-pretrained LeNet on USPS test, no USPS labels): {100*pre['accuracy']:.2f}%")
print(f"{'labels/class':>12} {'scratch':>16} {'fine-tune':>16} {'gain':>8}")
for k in (10, 50, 200):
    row = {}
    for kind in ("scratch", "ft"):
        accs = [100 * json.load(open(f"{out}/{kind}-{k}-{s}.json"))["accuracy"] for s in seeds]
        row[kind] = (statistics.mean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0)
    g = row["ft"][0] - row["scratch"][0]
    print(f"{k:>12} {row['scratch'][0]:>9.2f} ± {row['scratch'][1]:<4.2f} {row['ft'][0]:>9.2f} ± {row['ft'][1]:<4.2f} {g:>+8.2f}")
PY
