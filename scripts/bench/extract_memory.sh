#!/usr/bin/env bash
# Bounded memory: `graft extract` over 5,000 JPEGs must stay under 1 GiB peak RSS.
#
# The loader decodes a bounded number of batches ahead and the features (5,000 x 1,280
# floats = 24 MiB) are the only thing that grows with the dataset, so peak RSS should
# not depend on the number of images. /usr/bin/time -v measures it (graft is one process).
#
# Environment: GRAFT_BENCH_PYTHON (only to make the images: numpy + pillow suffice),
# BENCH_MEMORY_MODEL (default efficientnet_lite0), BENCH_MEMORY_N (default 5000),
# BENCH_MEMORY_RUNS (default 1; the verdict uses the worst run: the peak varies between runs),
# BENCH_MEMORY_LIMIT_MIB (default 1024), BENCH_THREADS (2), BENCH_BATCH (32), GRAFT_BIN,
# GRAFT_SHARED_DATA.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/bench
BENCH=$REPO/.bench
SHARED=${GRAFT_SHARED_DATA:-${GRAFT_DATA:-$REPO/../shared/data}}
MODEL=${BENCH_MEMORY_MODEL:-efficientnet_lite0}
N=${BENCH_MEMORY_N:-5000}
RUNS=${BENCH_MEMORY_RUNS:-1}
LIMIT_MIB=${BENCH_MEMORY_LIMIT_MIB:-1024}
THREADS=${BENCH_THREADS:-2}
BATCH=${BENCH_BATCH:-32}
IMAGES=$BENCH/images-$N

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'extract_memory.sh: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/bench/common.sh
. "$HERE/common.sh"

TIME=$(bench_time)
[ -n "$TIME" ] || die "GNU time is needed for this check (apt-get install time)"
GRAFT=$(bench_graft)

if [ ! -d "$IMAGES" ]; then
    # Image making needs only numpy + pillow: any Python that has them will do.
    PY=${GRAFT_BENCH_PYTHON:-$BENCH/venv/bin/python}
    [ -x "$PY" ] || PY=python3
    say "making $N images in $IMAGES"
    "$PY" "$HERE/make_images.py" --n "$N" --out "$IMAGES"
fi

case $MODEL in
    efficientnet_lite0) WEIGHTS=(--weights "$SHARED/efficientnet_lite0/efficientnet_lite0.safetensors") ;;
    *) WEIGHTS=() ;;  # random init: memory does not depend on the values
esac

RUN_DIR=$BENCH/runs/memory-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN_DIR"
OUT=$RUN_DIR/$MODEL.safetensors
WORST=0
for i in $(seq 1 "$RUNS"); do
    say "graft extract --model $MODEL over $N images (threads $THREADS, batch $BATCH), run $i of $RUNS"
    if ! "$TIME" -v -o "$RUN_DIR/time.$i.txt" "$GRAFT" extract --model "$MODEL" "${WEIGHTS[@]}" \
            --data "$IMAGES" --out "$OUT" --batch-size "$BATCH" --threads "$THREADS" --json \
            >"$RUN_DIR/summary.$i.json" 2>"$RUN_DIR/stderr.$i.txt"; then
        cat "$RUN_DIR/stderr.$i.txt" >&2
        die "graft extract failed (run folder $RUN_DIR)"
    fi
    KIB=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$RUN_DIR/time.$i.txt")
    [ -n "$KIB" ] || die "no 'Maximum resident set size' in $RUN_DIR/time.$i.txt"
    MIB=$((KIB / 1024))
    IPS=$(grep -o '"images_per_second":[0-9.]*' "$RUN_DIR/summary.$i.json" | cut -d: -f2 | cut -c1-5)
    echo "run $i: graft extract $MODEL, $N images: $IPS img/s, peak RSS $MIB MiB"
    if [ "$MIB" -gt "$WORST" ]; then WORST=$MIB; fi
done

echo "peak RSS (worst of $RUNS): $WORST MiB, limit $LIMIT_MIB MiB"
if [ "$WORST" -lt "$LIMIT_MIB" ]; then
    echo "PASS"
else
    echo "FAIL"
    exit 1
fi
