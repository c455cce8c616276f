#!/usr/bin/env bash
# Side-by-side fine-tuning epoch, data loading included: `graft finetune --epochs 1` vs the
# idiomatic PyTorch loop (train_epoch_torch.py) over the same seeded JPEG folder, same weights,
# batch (16), threads (2), optimiser and schedule.
#
# train_step.sh times the step alone on a fixed batch; this is what a user waits for: reading
# and decoding the JPEGs, augmentation, the steps, the checkpoint and the saved model. The two
# sides run alternately (graft, PyTorch, graft, PyTorch, ...) per model; the table shows the
# best run of each side, images/s, the ratio, peak memory and each side's final training loss.
#
# Environment:
#   GRAFT_BENCH_PYTHON  Python with torch 2.13 + torchvision 0.28 (default .bench/venv/bin/python,
#                       created and filled on first use)
#   BENCH_MODELS        default "resnet18 efficientnet_lite0"
#   BENCH_RUNS          repeats per side and model (default 2)
#   BENCH_N             images in the folder (default 256, three classes)
#   BENCH_EPOCHS, BENCH_BATCH, BENCH_THREADS, BENCH_WORKERS   (1, 16, 2, 2)
#   BENCH_PRECISION     unset: graft's default and fp32 PyTorch; fp32, bf16 or fp16: `--precision`
#                       to graft, torch.autocast on the PyTorch side (with GradScaler for fp16)
#   BENCH_DEVICE        cpu (default) or cuda[:i]: `--device` for graft and for PyTorch
#   GRAFT_BIN           use this graft binary instead of building one
#   GRAFT_SHARED_DATA   folder with efficientnet_lite0/ and test_images/ (default $GRAFT_DATA, else
#                       ../shared/data beside the repo)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/bench
BENCH=$REPO/.bench
SHARED=${GRAFT_SHARED_DATA:-${GRAFT_DATA:-$REPO/../shared/data}}
MODELS=${BENCH_MODELS:-"resnet18 efficientnet_lite0"}
RUNS=${BENCH_RUNS:-2}
N=${BENCH_N:-256}
EPOCHS=${BENCH_EPOCHS:-1}
BATCH=${BENCH_BATCH:-16}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-2}
PRECISION=${BENCH_PRECISION:-}
DEVICE=${BENCH_DEVICE:-cpu}
IMAGES=$BENCH/images-$N
LITE0_WEIGHTS=$SHARED/efficientnet_lite0/efficientnet_lite0.safetensors
R18_WEIGHTS=$BENCH/resnet18_seed0.safetensors

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'train_epoch.sh: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/bench/common.sh
. "$HERE/common.sh"

case $PRECISION in '' | fp32 | bf16 | fp16) ;; *) die "BENCH_PRECISION: '$PRECISION' (fp32, bf16 or fp16)" ;; esac
for model in $MODELS; do
    case $model in resnet18 | efficientnet_lite0) ;; *) die "BENCH_MODELS: unknown model '$model'" ;; esac
done

PY=$(bench_python)
GRAFT=$(bench_graft)
TIME=$(bench_time)

bench_inputs "$N" "$IMAGES"

RUN_DIR=$(bench_run_dir train_epoch)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# run_one MODEL SIDE I: one process training the epoch(s); its JSON summary, time -v and tree
# memory beside it. The run folder's weights files are deleted afterwards (100+ MB each).
run_one() {
    local model=$1 side=$2 i=$3 weights cmd
    local base=$RUN_DIR/$model.$side.$i
    weights=$(bench_weights "$model")
    if [ "$side" = graft ]; then
        cmd=("$GRAFT" finetune --model "$model" --weights "$weights" --data "$IMAGES"
             --epochs "$EPOCHS" --batch-size "$BATCH" --lr 0.01 --optimizer sgd --momentum 0.9
             --threads "$THREADS" --out "$base.run" --json)
        [ -n "$PRECISION" ] && cmd+=(--precision "$PRECISION")
        [ "$DEVICE" = cpu ] || cmd+=(--device "$DEVICE")
    else
        cmd=("$PY" "$HERE/train_epoch_torch.py" --model "$model" --weights "$weights" --data "$IMAGES"
             --epochs "$EPOCHS" --batch-size "$BATCH" --lr 0.01 --momentum 0.9
             --threads "$THREADS" --workers "$WORKERS" --precision "${PRECISION:-fp32}" --device "$DEVICE"
             --out "$base.run" --json)
    fi
    local wrap=("$PY" "$HERE/proc_mem.py" --out "$base.mem" --)
    [ -n "$TIME" ] && wrap=("$TIME" -v -o "$base.time" "${wrap[@]}")
    if ! "${wrap[@]}" "${cmd[@]}" >"$base.json" 2>"$base.err"; then
        cat "$base.err" >&2
        die "$side failed on $model (command: ${cmd[*]})"
    fi
    find "$base.run" \( -name '*.safetensors' -o -name '*.pt' \) -delete
    say "$(printf '%-18s %-5s #%s  %s' "$model" "$side" "$i" \
        "$("$PY" -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("%6.1f s, loss %.4f" % (r["seconds"], r["train_loss"]))' "$base.json")")"
}

for model in $MODELS; do
    for i in $(seq 1 "$RUNS"); do
        run_one "$model" graft "$i"
        run_one "$model" torch "$i"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Fine-tuning, $EPOCHS epoch(s) over $(basename "$IMAGES") ($N JPEGs 400-800 px, 3 classes), batch $BATCH," \
     "224 px, SGD lr 0.01 momentum 0.9 wd 5e-4 cosine, threads $THREADS, DataLoader workers $WORKERS," \
     "precision ${PRECISION:-default (fp32)}, device $DEVICE, best of $RUNS; $(nproc) cores; load average before $LOAD_BEFORE," \
     "after $LOAD_AFTER. Time = each side's own clock: data reading + decoding + model load + training" \
     "+ checkpoint and model files (process start-up and library loading outside)."
# shellcheck disable=SC2086 # MODELS is a word list
"$PY" - "$RUN_DIR" $MODELS <<'EOF'
import json, re, sys
from pathlib import Path

run = Path(sys.argv[1])
NAME = re.compile(r"^(?P<model>.+)\.(?P<side>graft|torch)\.(?P<i>\d+)\.json$")

def time_v(path):
    """Peak RSS (MiB) and wall seconds of the whole process from /usr/bin/time -v."""
    if not path.exists():
        return None, None
    text = path.read_text()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    secs = None
    if wall:
        secs = 0.0
        for part in wall.group(1).split(":"):
            secs = secs * 60 + float(part)
    return (int(rss.group(1)) / 1024 if rss else None), secs

runs = {}
for f in sorted(run.glob("*.json")):
    m = NAME.match(f.name)
    if not m:
        continue
    r = json.loads(f.read_text().strip().splitlines()[-1])
    base = str(f)[: -len(".json")]
    rss, wall = time_v(Path(base + ".time"))
    mem = Path(base + ".mem")
    mem = json.loads(mem.read_text()) if mem.exists() else {}
    n = r["train_samples"] * r["epochs_run"]
    runs.setdefault((m["model"], m["side"]), []).append({
        "i": int(m["i"]), "seconds": r["seconds"], "images_per_second": n / r["seconds"],
        "process_seconds": wall, "max_rss_mib": rss, "tree_pss_mib": mem.get("tree_peak_pss_mib"),
        "tree_rss_mib": mem.get("tree_peak_rss_mib"), "train_loss": r["train_loss"],
        "train_samples": r["train_samples"], "epochs": r["epochs_run"],
    })

fmt = lambda v, spec=".0f", unit="": "n/a" if v is None else format(v, spec) + unit
peak = lambda rs, k: max((r[k] for r in rs if r[k] is not None), default=None)
print()
print("| model | graft s | PyTorch s | graft img/s | PyTorch img/s | ratio PyTorch/graft "
      "| graft peak RSS | PyTorch peak RSS (main) | PyTorch tree PSS | final loss graft / PyTorch |")
print("|---|---|---|---|---|---|---|---|---|---|")
summary, notes = [], []
for model in sys.argv[2:]:
    g, t = runs.get((model, "graft"), []), runs.get((model, "torch"), [])
    if not g or not t:
        continue
    gb, tb = min(g, key=lambda r: r["seconds"]), min(t, key=lambda r: r["seconds"])
    ratio = tb["seconds"] / gb["seconds"]
    print(f"| {model} | {gb['seconds']:.1f} | {tb['seconds']:.1f} | {gb['images_per_second']:.1f} "
          f"| {tb['images_per_second']:.1f} | {ratio:.2f} | {fmt(peak(g, 'max_rss_mib'), unit=' MiB')} "
          f"| {fmt(peak(t, 'max_rss_mib'), unit=' MiB')} | {fmt(peak(t, 'tree_pss_mib'), unit=' MiB')} "
          f"| {gb['train_loss']:.4f} / {tb['train_loss']:.4f} |")
    notes.append(f"{model}: {gb['train_samples']} images x {gb['epochs']} epoch(s); seconds per repeat: "
                 f"graft {[round(r['seconds'], 1) for r in g]}, PyTorch {[round(r['seconds'], 1) for r in t]}; "
                 f"whole process (time -v): graft {[fmt(r['process_seconds'], '.1f') for r in g]}, "
                 f"PyTorch {[fmt(r['process_seconds'], '.1f') for r in t]}; "
                 f"tree RSS sum PyTorch {fmt(peak(t, 'tree_rss_mib'), unit=' MiB')}, "
                 f"tree PSS graft {fmt(peak(g, 'tree_pss_mib'), unit=' MiB')}")
    summary.append({"model": model, "graft": g, "torch": t, "ratio": ratio})
print()
for line in notes:
    print(line)
print()
print("ratio = PyTorch seconds / graft seconds of the best runs (> 1: graft faster); img/s = images x epochs /")
print("seconds. Peak RSS = /usr/bin/time -v's largest single process (graft is one process; PyTorch's main")
print("process); tree PSS = main + DataLoader workers, shared pages split, sampled every 0.2 s. Final loss = the")
print("mean training loss of the last epoch (augmentation draws differ between the sides).")
tmp = run / "summary.json.tmp"
tmp.write_text(json.dumps(summary, indent=1))
tmp.rename(run / "summary.json")
EOF
[ -n "$TIME" ] || echo "(peak RSS per process skipped: /usr/bin/time not found; 'apt-get install time' provides it)"
