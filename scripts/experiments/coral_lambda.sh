#!/usr/bin/env bash
# CORAL's lambda on the 12 Amazon review tasks (Blitzer et al. 2007) over frozen
# all-MiniLM-L6-v2 sentence embeddings (unit length, so per-feature variances near 1/384):
# logistic regression on the source alone, after CORAL with lambda = 1 x the mean feature
# variance (graft's default), and after CORAL with the paper's absolute lambda = 1.
# Prints a markdown table of target accuracies (%). Needs the shared data (GRAFT_DATA).
#
#   scripts/experiments/coral_lambda.sh [OUT_DIR]    (features are shared with amazon_text.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${GRAFT_DATA:-$ROOT/../shared/data}
GRAFT=${GRAFT:-$ROOT/target/release/graft}
OUT=${1:-$ROOT/runs/amazon_text}
THREADS=${THREADS:-2}
# shellcheck source=scripts/experiments/amazon_features.sh
. "$ROOT/scripts/experiments/amazon_features.sh"
align() { # source target flags...
    local s=$1 t=$2; shift 2
    "$GRAFT" align --classifier logreg --source "$s" --target "$t" --json "$@" | acc
}
echo "| task | source only | CORAL, lambda = mean variance | CORAL, lambda = 1 |"
echo "|---|---|---|---|"
for s in "${DOMAINS[@]}"; do
    for t in "${DOMAINS[@]}"; do
        [[ $s == "$t" ]] && continue
        S="$OUT/$s.safetensors"; T="$OUT/$t.safetensors"
        echo "| $s→$t | $(align "$S" "$T" --method none --normalize none) \
| $(align "$S" "$T" --method coral) | $(align "$S" "$T" --method coral --coral-scale absolute) |"
    done
done
