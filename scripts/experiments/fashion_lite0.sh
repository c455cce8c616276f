#!/usr/bin/env bash
# EfficientNet-Lite0 on Fashion-MNIST with 20 labels per class: ImageNet weights fine-tuned
# against the same network from scratch, at SIZE px (default 112), tested on the 10,000 test
# images. Fashion-MNIST comes from the Debian package dataset-fashion-mnist (installed when
# missing and running as root), or FASHION_DIR.
# PRECISION=bf16 trains and tests with bfloat16 autocast.
# Usage: scripts/experiments/fashion_lite0.sh [OUT_DIR]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${GRAFT_DATA:-$REPO/../shared/data}
OUT=${1:-$REPO/.bench/fashion_lite0}
SIZE=${SIZE:-112}
EPOCHS=${EPOCHS:-30}
SEEDS=${SEEDS:-"0"}
THREADS=${THREADS:-2}
PRECISION=${PRECISION:-fp32}
FASHION_DIR=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ]; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y dataset-fashion-mnist >&2 || { apt-get update -qq && apt-get install -y dataset-fashion-mnist >&2; }; fi
fi
[ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] || { echo "Fashion-MNIST not found in $FASHION_DIR" >&2; exit 1; }
WEIGHTS=$DATA/efficientnet_lite0/efficientnet_lite0.safetensors
[ -f "$WEIGHTS" ] || { echo "needs $WEIGHTS (set GRAFT_DATA)" >&2; exit 1; }
if [ -z "${GRAFT_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -p graft-cli >&2)
    GRAFT_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/graft
fi
mkdir -p "$OUT"
for seed in $SEEDS; do
    common=(--model efficientnet_lite0 --data "$FASHION_DIR/train-images-idx3-ubyte.gz"
            --test "$FASHION_DIR/t10k-images-idx3-ubyte.gz" --labels-per-class 20 --image-size "$SIZE"
            --epochs "$EPOCHS" --batch-size 32 --threads "$THREADS" --precision "$PRECISION" --seed "$seed" --json)
    rm -rf "$OUT/ft-$seed" "$OUT/scratch-$seed"
    "$GRAFT_BIN" finetune "${common[@]}" --lr 0.01 --weights "$WEIGHTS" --out "$OUT/ft-$seed" > "$OUT/ft-$seed.json"
    "$GRAFT_BIN" finetune "${common[@]}" --lr 0.05 --out "$OUT/scratch-$seed" > "$OUT/scratch-$seed.json"
done
python3 - "$OUT" "$SEEDS" <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2].split()
for kind, name in (("scratch", "from scratch"), ("ft", "ImageNet fine-tuned")):
    runs = [json.load(open(f"{out}/{kind}-{s}.json")) for s in seeds]
    accs = [100 * r["accuracy"] for r in runs]
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    secs = statistics.mean(r["seconds"] for r in runs)
    print(f"{name:>22}: {statistics.mean(accs):6.2f} ± {sd:.2f} % test accuracy ({secs:.0f} s per run)")
PY
