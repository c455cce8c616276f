#!/usr/bin/env bash
# LoRA against full fine-tuning of all-MiniLM-L6-v2 on one Amazon review domain (Blitzer et
# al. 2007; 2000 reviews, a stratified 20 % held out for validation and the reported accuracy,
# the same split for all). Full fine-tuning and LoRA (rank 16 on every linear layer) go side by
# side, one thread each; QV=1 adds PEFT's default LoRA (rank 8 on query and value) after them.
#
#   scripts/experiments/text_lora.sh [DOMAIN] [OUT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${GRAFT_DATA:-$ROOT/../shared/data}
GRAFT=${GRAFT:-$ROOT/target/release/graft}
DOMAIN=${1:-kitchen}
OUT=${2:-$ROOT/runs/text_lora}
EPOCHS=${EPOCHS:-3}
mkdir -p "$OUT"
common=(--model "$DATA/all_minilm_l6_v2" --data "$DATA/amazon_reviews_raw/$DOMAIN"
        --val-fraction 0.2 --max-length 128 --epochs "$EPOCHS" --batch-size 16
        --optimizer adamw --weight-decay 0.01 --seed 0 --threads 1 --json)
rm -rf "$OUT/full-$DOMAIN" "$OUT/lora-$DOMAIN"
"$GRAFT" finetune "${common[@]}" --lr 2e-5 --out "$OUT/full-$DOMAIN" > "$OUT/full-$DOMAIN.json" &
"$GRAFT" finetune "${common[@]}" --lr 5e-4 --lora 16 --lora-alpha 32 --lora-dropout 0.1 \
    --lora-targets query,key,value,dense --out "$OUT/lora-$DOMAIN" > "$OUT/lora-$DOMAIN.json" &
wait
# PEFT's default targets (query, value; rank 8) as a second LoRA row, when asked for.
if [[ ${QV:-0} == 1 ]]; then
    rm -rf "$OUT/lora-qv-$DOMAIN"
    "$GRAFT" finetune "${common[@]}" --lr 1e-3 --lora 8 --lora-alpha 16 --lora-dropout 0.1 \
        --out "$OUT/lora-qv-$DOMAIN" > "$OUT/lora-qv-$DOMAIN.json"
fi
extra=()
[[ -f $OUT/lora-qv-$DOMAIN.json && ${QV:-0} == 1 ]] && extra=("$OUT/lora-qv-$DOMAIN.json")
python3 - "$OUT/full-$DOMAIN.json" "$OUT/lora-$DOMAIN.json" "${extra[@]}" <<'PY'
import json, sys
print("| run | accuracy | macro-F1 | trainable parameters | share | seconds |")
print("|---|---|---|---|---|---|")
for f in sys.argv[1:]:
    d = json.loads(open(f).read().splitlines()[-1])
    name = ("LoRA r=%d on %s" % (d["lora"]["rank"], ",".join(d["lora"]["targets"]))
            if d.get("lora") else "full fine-tuning")
    print("| %s | %.2f | %.4f | %d | %.2f %% | %.0f |" % (name, 100 * d["accuracy"], d["macro_f1"],
          d["trainable_parameters"], 100 * d["trainable_fraction"], d["seconds"]))
PY
