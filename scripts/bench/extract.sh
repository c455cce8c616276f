#!/usr/bin/env bash
# Side-by-side feature extraction: `graft extract` vs the idiomatic PyTorch script
# (extract_torch.py) on the same 512 JPEGs, same threads (2), batch (32) and weights.
# BENCH_SIDES=3000-4000 makes them phone-photo sized instead, where decoding dominates.
#
# For each model the two sides run alternately (graft, PyTorch, graft, PyTorch, ...) so
# that slow phases of a noisy machine hit both; the table shows the best of the repeats,
# the ratio graft/PyTorch, peak memory and the per-image cosine similarity of the two
# feature matrices. graft also runs with --precision bf16 (side `bf16`, alternating with the
# others): its speed-up over graft's own fp32 and the cosine distance of its features to
# graft's fp32 ones.
#
# Environment:
#   GRAFT_BENCH_PYTHON  Python with torch 2.13 + torchvision 0.28 (default .bench/venv/bin/python,
#                       created and filled on first use)
#   BENCH_RUNS          repeats per side and model (default 2)
#   BENCH_MODELS        models to run (default "resnet18 efficientnet_lite0"; timm vit_* and
#                       convnext_* names too, e.g. vit_small_patch16_224 vit_small_patch14_dinov2)
#   BENCH_THREADS, BENCH_WORKERS, BENCH_BATCH   (defaults 2, 2, 32)
#   BENCH_BF16          1 (default) to add graft's bf16 side, 0 to skip it
#   BENCH_N, BENCH_SIDES  images and their side lengths in px, MIN-MAX (default 512, 400-800)
#   BENCH_DECODE        unset: graft's default; full or reduced: `--decode-size` to graft
#   BENCH_DEVICE        cpu (default) or cuda[:i]: `--device` for graft and for PyTorch
#   GRAFT_BIN           use this graft binary instead of building one
#   GRAFT_SHARED_DATA   folder with efficientnet_lite0/ and test_images/ (default $GRAFT_DATA, else ../shared/data beside the repo)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/bench
BENCH=$REPO/.bench
SHARED=${GRAFT_SHARED_DATA:-${GRAFT_DATA:-$REPO/../shared/data}}
RUNS=${BENCH_RUNS:-2}
MODELS=${BENCH_MODELS:-"resnet18 efficientnet_lite0"}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-2}
BATCH=${BENCH_BATCH:-32}
BF16=${BENCH_BF16:-1}
DEVICE=${BENCH_DEVICE:-cpu}
DECODE=${BENCH_DECODE:-}
N=${BENCH_N:-512}
SIDES=${BENCH_SIDES:-400-800}
if [ "$SIDES" = 400-800 ]; then IMAGES=$BENCH/images-$N; else IMAGES=$BENCH/images-$N-$SIDES; fi
LITE0_WEIGHTS=$SHARED/efficientnet_lite0/efficientnet_lite0.safetensors
R18_WEIGHTS=$BENCH/resnet18_seed0.safetensors

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'extract.sh: %s\n' "$*" >&2; exit 1; }
case $SIDES in [0-9]*-[0-9]*) ;; *) die "BENCH_SIDES: '$SIDES' (MIN-MAX, e.g. 3000-4000)" ;; esac

# shellcheck source=scripts/bench/common.sh
. "$HERE/common.sh"

PY=$(bench_python)
GRAFT=$(bench_graft)
TIME=$(bench_time)

bench_inputs "$N" "$IMAGES" --min-side "${SIDES%-*}" --max-side "${SIDES#*-}"

RUN_DIR=$(bench_run_dir extract)

# run_one MODEL SIDE I: one timed extraction; summary JSON, time -v and tree memory beside it.
run_one() {
    local model=$1 side=$2 i=$3 weights cmd
    local base=$RUN_DIR/$model.$side.$i
    weights=$(bench_weights "$model")
    if [ "$side" = graft ] || [ "$side" = bf16 ]; then
        cmd=("$GRAFT" extract --model "$model" --weights "$weights" --data "$IMAGES"
             --out "$RUN_DIR/$model.$side.safetensors" --batch-size "$BATCH" --threads "$THREADS" --json)
        # Only the bf16 side names a precision, so that builds from before the flag still run.
        [ "$side" = bf16 ] && cmd+=(--precision bf16)
        [ -n "$DECODE" ] && cmd+=(--decode-size "$DECODE")
        [ "$DEVICE" = cpu ] || cmd+=(--device "$DEVICE")
    else
        cmd=("$PY" "$HERE/extract_torch.py" --model "$model" --weights "$weights" --data "$IMAGES"
             --out "$RUN_DIR/$model.torch.npy" --batch-size "$BATCH" --workers "$WORKERS"
             --threads "$THREADS" --json)
        [ "$DEVICE" = cpu ] || cmd+=(--device "$DEVICE")
    fi
    local wrap=("$PY" "$HERE/proc_mem.py" --out "$base.mem" --)
    [ -n "$TIME" ] && wrap=("$TIME" -v -o "$base.time" "${wrap[@]}")
    if ! "${wrap[@]}" "${cmd[@]}" >"$base.json" 2>"$base.err"; then
        cat "$base.err" >&2
        die "$side failed on $model (command: ${cmd[*]})"
    fi
    say "$(printf '%-18s %-5s #%s  %6.1f img/s' "$model" "$side" "$i" \
        "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["images_per_second"])' "$base.json")")"
}

for model in $MODELS; do
    for i in $(seq 1 "$RUNS"); do
        run_one "$model" graft "$i"
        run_one "$model" torch "$i"
        [ "$BF16" = 1 ] && run_one "$model" bf16 "$i"
    done
    "$PY" "$HERE/compare_features.py" --graft "$RUN_DIR/$model.graft.safetensors" \
        --torch "$RUN_DIR/$model.torch.npy" --json >"$RUN_DIR/$model.parity.json"
    if [ "$BF16" = 1 ]; then
        "$PY" "$HERE/compare_features.py" --graft "$RUN_DIR/$model.bf16.safetensors" \
            --torch "$RUN_DIR/$model.graft.safetensors" --json >"$RUN_DIR/$model.bf16-parity.json"
    fi
done

echo
echo "Feature extraction, $(basename "$IMAGES") ($(find "$IMAGES" -name '*.jpg' | wc -l) JPEGs $SIDES px)," \
     "threads $THREADS, DataLoader workers $WORKERS, batch $BATCH, device $DEVICE, graft decode ${DECODE:-default}," \
     "best of $RUNS; $(nproc) cores;" \
     "time = model build + weight load + decode + forward + writing features."
"$PY" "$HERE/report.py" "$RUN_DIR" --json "$RUN_DIR/summary.json"
[ -n "$TIME" ] || echo "(peak RSS per process skipped: /usr/bin/time not found; 'apt-get install time' provides it)"
echo "Peak RSS (1 proc) is /usr/bin/time -v's maximum resident set size: the largest single process"
echo "(graft is one process; for PyTorch the main process). Tree PSS sums main + DataLoader workers,"
echo "shared pages split between them, sampled every 0.2 s."
