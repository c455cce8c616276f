#!/usr/bin/env bash
# Deep domain adaptation through the text encoder: all-MiniLM-L6-v2 fine-tuned end to end on one
# Amazon review domain with unlabelled reviews of another, source only against DANN (Ganin et
# al. 2016) at domain weights 1 and 0.1, the last epoch kept (no target label is read for training or selection). Both runs
# go side by side, one thread each.
#
#   scripts/experiments/text_adapt_deep.sh [SOURCE] [TARGET] [OUT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${GRAFT_DATA:-$ROOT/../shared/data}
GRAFT=${GRAFT:-$ROOT/target/release/graft}
S=${1:-kitchen}
T=${2:-books}
OUT=${3:-$ROOT/runs/text_adapt}
EPOCHS=${EPOCHS:-2}
mkdir -p "$OUT"
R=$DATA/amazon_reviews_raw
common=(--model "$DATA/all_minilm_l6_v2" --source "$R/$S" --target-unlabelled "$R/$T"
        --target-test "$R/$T" --max-length 128 --epochs "$EPOCHS" --batch-size 16
        --optimizer adamw --lr 2e-5 --weight-decay 0.01 --seed 0 --projection-samples 0
        --threads 1 --json)
run() { # name flags...
    local name=$1; shift
    rm -rf "$OUT/$S-$T-$name"
    "$GRAFT" adapt "${common[@]}" "$@" --out "$OUT/$S-$T-$name" > "$OUT/$S-$T-$name.json"
}
run none --method none &
run dann --method dann &
wait
# DANN with a tenth of the domain loss (TLlib's trade-off 1 unsettles a pre-trained encoder).
run dann01 --method dann --domain-weight 0.1
for m in none dann dann01; do
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("| %s | %.2f | %.0f s |" % (sys.argv[2], 100*d["accuracy"], d["seconds"]))' \
        "$OUT/$S-$T-$m.json" "$S→$T $m"
done
