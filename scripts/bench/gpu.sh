#!/usr/bin/env bash
# The performance benchmarks on a CUDA GPU, in one run: graft with `--device cuda` against PyTorch
# on the same GPU, side by side as on the CPU.
#   1. extract.sh     feature extraction from 512 JPEGs, ResNet-18 and EfficientNet-Lite0
#                     (graft fp32 and bf16, PyTorch fp32)
#   2. train_epoch.sh one fine-tuning epoch over 256 JPEGs, at fp32, bf16 and fp16 (graft's loss
#                     scale against torch.amp.GradScaler)
#   3. probe_e2e.sh   the end-to-end linear probe of 2,000 Fashion-MNIST images
#
# A GPU machine may have no Rust toolchain and no network, so everything is prepared beforehand,
# on any machine, into folders that travel with the checkout (about 42 MB in all):
#   scripts/gpu/build_cuda.sh                         -> .gpu/graft-cuda
#   mkdir -p .gpu/shared && cp -r ../shared/data/{efficientnet_lite0,test_images} .gpu/shared/
#   python3 scripts/experiments/fashion_folder.py FASHION_MNIST_DIR .bench/fashion-2000-1000 \
#       --train 2000 --test 1000                      -> 3,000 PNGs (what probe_e2e.sh makes)
# then, on the GPU machine, from the checkout: scripts/bench/gpu.sh
#   GRAFT_BIN           a graft linked against a CUDA libtorch of the machine's torch version
#                       (default .gpu/graft-cuda)
#   GRAFT_BENCH_PYTHON  Python with CUDA torch + torchvision, pillow, numpy, safetensors
#                       (default python3)
#   GRAFT_SHARED_DATA   folder with efficientnet_lite0/ and test_images/ (default .gpu/shared)
# The JPEG folders and the seeded ResNet-18 weights are made there when missing.
# Environment:
#   GPU_PARTS           which parts (default "extract epoch probe")
#   GPU_RUNS            repeats per side (default 2; the probe runs once)
#   GPU_THREADS         graft --threads and torch.set_num_threads (default: all cores)
#   GPU_WORKERS         DataLoader workers (default: half the cores)
#   OUT                 when set, all tables go to OUT/tables.txt and the logs, tables and
#                       summaries to OUT/gpu-bench.tgz (two files, for machines that return few)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/bench
PARTS=${GPU_PARTS:-"extract epoch probe"}
CORES=$(nproc)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'gpu.sh: %s\n' "$*" >&2; exit 1; }

GRAFT_BIN=${GRAFT_BIN:-$REPO/.gpu/graft-cuda}
[ -x "$GRAFT_BIN" ] || die "no CUDA graft at $GRAFT_BIN (scripts/gpu/build_cuda.sh makes one; or set GRAFT_BIN)"
export GRAFT_BIN
export GRAFT_SHARED_DATA=${GRAFT_SHARED_DATA:-$REPO/.gpu/shared}
[ -f "$GRAFT_SHARED_DATA/efficientnet_lite0/efficientnet_lite0.safetensors" ] \
    || die "no Lite0 weights under GRAFT_SHARED_DATA=$GRAFT_SHARED_DATA"
[ -d "$REPO/.bench/fashion-2000-1000" ] || die "no .bench/fashion-2000-1000 (see the preparation above)"
export GRAFT_BENCH_PYTHON=${GRAFT_BENCH_PYTHON:-python3}
export BENCH_DEVICE=cuda
export BENCH_RUNS=${GPU_RUNS:-2}
export BENCH_THREADS=${GPU_THREADS:-$CORES}
export BENCH_WORKERS=${GPU_WORKERS:-$(((CORES + 1) / 2))}

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2
"$GRAFT_BENCH_PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "PyTorch sees no CUDA device")'
"$GRAFT_BENCH_PYTHON" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__, torch.cuda.get_device_name(0))' >&2
"$GRAFT_BIN" --version >&2

LOGS=$REPO/.bench/runs/gpu-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGS"
say "tables in $LOGS"

# part NAME SCRIPT [VAR=VALUE...]: one benchmark script with extra settings; its printed table in
# $LOGS/NAME.txt and its run folder's summary.json beside it.
part() {
    local name=$1 script=$2
    shift 2
    say "$name: $script $*"
    env "$@" "$HERE/$script" 2>"$LOGS/$name.err" | tee "$LOGS/$name.txt" \
        || { tail -20 "$LOGS/$name.err" >&2; die "$name failed (log: $LOGS/$name.err)"; }
    local run
    run=$(sed -n 's/^==> results in //p' "$LOGS/$name.err" | tail -1)
    [ -n "$run" ] && [ -f "$run/summary.json" ] && cp "$run/summary.json" "$LOGS/$name.summary.json"
    return 0
}

for p in $PARTS; do
    case $p in
        extract) part extract extract.sh ;;
        epoch)
            for prec in fp32 bf16 fp16; do
                part "epoch-$prec" train_epoch.sh "BENCH_PRECISION=$prec"
            done
            ;;
        probe) part probe probe_e2e.sh BENCH_N_TRAIN=2000 BENCH_N_TEST=1000 BENCH_RUNS=1 ;;
        *) die "GPU_PARTS: unknown part '$p' (extract, epoch, probe)" ;;
    esac
done

if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    for f in "$LOGS"/*.txt; do printf '### %s\n' "$(basename "$f" .txt)"; cat "$f"; echo; done >"$OUT/tables.txt"
    tar czf "$OUT/gpu-bench.tgz" -C "$(dirname "$LOGS")" "$(basename "$LOGS")"
    say "tables in $OUT/tables.txt, everything in $OUT/gpu-bench.tgz"
fi
