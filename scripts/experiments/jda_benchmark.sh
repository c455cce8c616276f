#!/usr/bin/env bash
# The JDA paper's benchmark (Long et al., ICCV 2013, Table 2) with `graft align`: 1-NN accuracy
# of no adaptation, PCA, TCA and JDA on MNIST->USPS, USPS->MNIST, COIL1->COIL2 and
# COIL2->COIL1, next to the published figures. Every sample is L2-normalised first (the
# paper's code does); k = 100 dimensions, lambda = 0.1, 10 JDA iterations.
#
#   scripts/experiments/jda_benchmark.sh            # needs $GRAFT_DATA/jda_mnist_usps_coil
# Environment: GRAFT_BIN (default: build target/release/graft), GRAFT_DATA (../shared/data).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA=${GRAFT_DATA:-$REPO/../shared/data}/jda_mnist_usps_coil
[ -d "$DATA" ] || { echo "jda_benchmark.sh: $DATA not found (set GRAFT_DATA)" >&2; exit 1; }
if [ -z "${GRAFT_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -q -p graft-cli)
    GRAFT_BIN=$REPO/target/release/graft
fi
MU=$DATA/mnist_usps_jda.npz
CO=$DATA/coil20_jda.npz
tasks=("MNIST->USPS $MU:mnist $MU:usps" "USPS->MNIST $MU:usps $MU:mnist"
       "COIL1->COIL2 $CO:coil1 $CO:coil2" "COIL2->COIL1 $CO:coil2 $CO:coil1")
declare -A published=(
    [MNIST->USPS]="65.94 66.22 56.28 67.28" [USPS->MNIST]="44.70 44.95 51.05 59.65"
    [COIL1->COIL2]="83.61 84.72 88.47 89.31" [COIL2->COIL1]="82.78 84.03 85.83 88.47")
printf '%-13s %-6s %9s %9s %8s\n' task method graft published seconds
for t in "${tasks[@]}"; do
    read -r name src tgt <<<"$t"
    read -r -a pub <<<"${published[$name]}"
    i=0
    for m in none pca tca jda; do
        # Every setting is the method's default (the benchmark's own protocol).
        out=$("$GRAFT_BIN" align --method "$m" --source "$src" --target "$tgt" --json)
        RESULT=$out python3 - "$name" "$m" "${pub[$i]}" <<'PY'
import json, os, sys
r = json.loads(os.environ["RESULT"])
print(f"{sys.argv[1]:<13} {sys.argv[2]:<6} {100 * r['accuracy']:9.2f} {sys.argv[3]:>9} {r['fit_seconds']:8.2f}")
PY
        i=$((i + 1))
    done
done
