#!/usr/bin/env bash
# Amazon reviews (Blitzer et al. 2007; books, dvd, electronics, kitchen), all 12 source->target
# tasks on frozen all-MiniLM-L6-v2 sentence embeddings:
#   - logistic regression on the source (source only) and after CORAL (graft align);
#   - an MLP on the features, source only, DANN, and CDAN+E with self-training (graft adapt),
#     every choice made without target labels (last epoch kept, target labels only score).
# Prints a markdown table of target accuracies (%). Needs the shared data (GRAFT_DATA).
#
#   scripts/experiments/amazon_text.sh [OUT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${GRAFT_DATA:-$ROOT/../shared/data}
GRAFT=${GRAFT:-$ROOT/target/release/graft}
OUT=${1:-$ROOT/runs/amazon_text}
THREADS=${THREADS:-1}
# shellcheck source=scripts/experiments/amazon_features.sh
. "$ROOT/scripts/experiments/amazon_features.sh"
align() { # method source target
    "$GRAFT" align --method "$1" --classifier logreg --source "$2" --target "$3" --json | acc
}
adapt() { # source target run-name flags...
    local s=$1 t=$2 name=$3; shift 3
    rm -rf "$OUT/runs/$name"
    "$GRAFT" adapt --model mlp --hidden 50 --source "$s" --target-unlabelled "$t" \
        --target-test "$t" --epochs 20 --lr 0.1 --seed 0 --projection-samples 0 \
        --threads "$THREADS" --out "$OUT/runs/$name" --json "$@" | acc
}

echo "| task | LR source only | LR + CORAL | MLP source only | DANN | CDAN+E + self-training |"
echo "|---|---|---|---|---|---|"
for s in "${DOMAINS[@]}"; do
    for t in "${DOMAINS[@]}"; do
        [[ $s == "$t" ]] && continue
        S="$OUT/$s.safetensors"; T="$OUT/$t.safetensors"
        row="| ${s:0:1}→${t:0:1} ($s→$t) | $(align none "$S" "$T") | $(align coral "$S" "$T")"
        row="$row | $(adapt "$S" "$T" "$s-$t-none" --method none)"
        row="$row | $(adapt "$S" "$T" "$s-$t-dann" --method dann)"
        row="$row | $(adapt "$S" "$T" "$s-$t-cdane" --method cdan+e --pseudo-threshold 0.95) |"
        echo "$row"
    done
done
