#!/usr/bin/env bash
# End-to-end linear probe on labelled images, graft vs the usual PyTorch loop: from reading the
# image files to the test accuracy.
#
# probe.sh times the logistic-regression fit alone, on features already in memory; this is the
# whole job a user runs. graft: `graft probe --model efficientnet_lite0 --data TRAIN --test TEST`
# extracts the features once (with a cold feature cache) and fits a logistic regression.
# PyTorch (probe_e2e_torch.py): a frozen Lite0 under no_grad and an nn.Linear head trained with
# Adam for BENCH_EPOCHS epochs over a DataLoader that decodes the images every epoch, then one
# test pass. Same images, weights, preprocessing and threads; the table shows both times, the
# ratio, both test accuracies and peak memory.
#
# Data: the first BENCH_N_TRAIN training and BENCH_N_TEST test images of Fashion-MNIST, written
# as an ImageFolder of PNGs by scripts/experiments/fashion_folder.py under .bench/.
#
# Environment:
#   GRAFT_BENCH_PYTHON  Python with torch 2.13 + torchvision 0.28 (default .bench/venv/bin/python,
#                       created and filled on first use)
#   BENCH_N_TRAIN, BENCH_N_TEST   images (default 1000, 500)
#   BENCH_EPOCHS        PyTorch head epochs (default 10)
#   BENCH_RUNS          repeats per side (default 1)
#   BENCH_THREADS, BENCH_WORKERS  (2, 2)
#   BENCH_PRECISION     unset: graft's default and fp32 PyTorch; fp32, bf16 or fp16: `--precision`
#                       to graft, torch.autocast for the PyTorch backbone
#   BENCH_DEVICE        cpu (default) or cuda[:i]: `--device` for graft and for PyTorch
#   BENCH_FASHION_DIR   folder with Fashion-MNIST's four IDX .gz files (default
#                       /usr/share/datasets/fashion-mnist)
#   GRAFT_BIN           use this graft binary instead of building one
#   GRAFT_SHARED_DATA   folder with efficientnet_lite0/ (default $GRAFT_DATA, else ../shared/data
#                       beside the repo)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/bench
BENCH=$REPO/.bench
SHARED=${GRAFT_SHARED_DATA:-${GRAFT_DATA:-$REPO/../shared/data}}
N_TRAIN=${BENCH_N_TRAIN:-1000}
N_TEST=${BENCH_N_TEST:-500}
EPOCHS=${BENCH_EPOCHS:-10}
RUNS=${BENCH_RUNS:-1}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-2}
PRECISION=${BENCH_PRECISION:-}
DEVICE=${BENCH_DEVICE:-cpu}
FASHION=${BENCH_FASHION_DIR:-/usr/share/datasets/fashion-mnist}
DATA=$BENCH/fashion-$N_TRAIN-$N_TEST
WEIGHTS=$SHARED/efficientnet_lite0/efficientnet_lite0.safetensors

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'probe_e2e.sh: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/bench/common.sh
. "$HERE/common.sh"

case $PRECISION in '' | fp32 | bf16 | fp16) ;; *) die "BENCH_PRECISION: '$PRECISION' (fp32, bf16 or fp16)" ;; esac

PY=$(bench_python)
GRAFT=$(bench_graft)
TIME=$(bench_time)

[ -f "$WEIGHTS" ] || die "EfficientNet-Lite0 weights not found at $WEIGHTS (set GRAFT_SHARED_DATA)"
if [ ! -d "$DATA" ]; then
    [ -f "$FASHION/train-images-idx3-ubyte.gz" ] || die "Fashion-MNIST not found in $FASHION (set BENCH_FASHION_DIR)"
    say "writing $N_TRAIN + $N_TEST Fashion-MNIST PNGs to $DATA"
    rm -rf "$DATA.tmp"
    "$PY" "$REPO/scripts/experiments/fashion_folder.py" "$FASHION" "$DATA.tmp" --train "$N_TRAIN" --test "$N_TEST"
    mv "$DATA.tmp" "$DATA"
fi

RUN_DIR=$(bench_run_dir probe_e2e)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# run_one SIDE I: one process, images to test accuracy; its JSON summary, time -v and tree memory
# beside it. graft gets a feature cache of its own, empty, removed afterwards.
run_one() {
    local side=$1 i=$2 cmd
    local base=$RUN_DIR/$side.$i
    if [ "$side" = graft ]; then
        rm -rf "$base.cache"
        cmd=(env "GRAFT_CACHE_DIR=$base.cache" "$GRAFT" probe --model efficientnet_lite0 --weights "$WEIGHTS"
             --data "$DATA/train" --test "$DATA/test" --head logreg --c auto --threads "$THREADS" --json)
        [ -n "$PRECISION" ] && cmd+=(--precision "$PRECISION")
        [ "$DEVICE" = cpu ] || cmd+=(--device "$DEVICE")
    else
        cmd=("$PY" "$HERE/probe_e2e_torch.py" --weights "$WEIGHTS" --data "$DATA/train" --test "$DATA/test"
             --epochs "$EPOCHS" --batch-size 32 --lr 1e-3 --threads "$THREADS" --workers "$WORKERS"
             --precision "${PRECISION:-fp32}" --device "$DEVICE" --json)
    fi
    local wrap=("$PY" "$HERE/proc_mem.py" --out "$base.mem" --)
    [ -n "$TIME" ] && wrap=("$TIME" -v -o "$base.time" "${wrap[@]}")
    if ! "${wrap[@]}" "${cmd[@]}" >"$base.json" 2>"$base.err"; then
        cat "$base.err" >&2
        die "$side failed (command: ${cmd[*]})"
    fi
    rm -rf "$base.cache"
    say "$(printf '%-5s #%s  %s' "$side" "$i" \
        "$("$PY" -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("%7.1f s, test accuracy %.4f" % (r["seconds"], r["accuracy"]))' "$base.json")")"
}

for i in $(seq 1 "$RUNS"); do
    run_one graft "$i"
    run_one torch "$i"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Linear probe end to end, EfficientNet-Lite0 (224 px: shorter side 256, centre crop 224, (p - 127) / 128)," \
     "Fashion-MNIST $N_TRAIN train + $N_TEST test PNGs (28 x 28 grey, 10 classes), threads $THREADS," \
     "DataLoader workers $WORKERS, precision ${PRECISION:-default (fp32)}, device $DEVICE, best of $RUNS; $(nproc) cores;" \
     "load average before $LOAD_BEFORE, after $LOAD_AFTER."
echo "graft: features extracted once (cold cache) + logistic regression (L-BFGS, C chosen by 5-fold cross-validation on the training features)." \
     "PyTorch: frozen backbone + nn.Linear, Adam lr 1e-3, batch 32, $EPOCHS epochs decoding every epoch, one test pass."
"$PY" - "$RUN_DIR" <<'EOF'
import json, re, sys
from pathlib import Path

run = Path(sys.argv[1])
NAME = re.compile(r"^(?P<side>graft|torch)\.(?P<i>\d+)\.json$")

def max_rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text()) if path.exists() else None
    return int(m.group(1)) / 1024 if m else None

runs = {"graft": [], "torch": []}
for f in sorted(run.glob("*.json")):
    m = NAME.match(f.name)
    if not m:
        continue
    r = json.loads(f.read_text().strip().splitlines()[-1])
    base = str(f)[: -len(".json")]
    mem = Path(base + ".mem")
    mem = json.loads(mem.read_text()) if mem.exists() else {}
    runs[m["side"]].append({
        "i": int(m["i"]), "seconds": r["seconds"], "accuracy": r["accuracy"],
        "max_rss_mib": max_rss(Path(base + ".time")), "tree_pss_mib": mem.get("tree_peak_pss_mib"),
        "tree_rss_mib": mem.get("tree_peak_rss_mib"), "raw": r,
    })
g, t = runs["graft"], runs["torch"]
if not g or not t:
    sys.exit("probe_e2e: a side has no result")
cold = [r["raw"].get("cache") or {} for r in g]
if any(v.get("hit") for c in cold for v in c.values()):
    print("WARNING: graft found features in its cache; its time is not a cold run")
gb, tb = min(g, key=lambda r: r["seconds"]), min(t, key=lambda r: r["seconds"])
fmt = lambda v, spec=".0f", unit="": "n/a" if v is None else format(v, spec) + unit
peak = lambda rs, k: max((r[k] for r in rs if r[k] is not None), default=None)
ratio = tb["seconds"] / gb["seconds"]
print()
print("| graft s | PyTorch s | ratio PyTorch/graft | graft test accuracy | PyTorch test accuracy "
      "| graft peak RSS | PyTorch peak RSS (main) | PyTorch tree PSS |")
print("|---|---|---|---|---|---|---|---|")
print(f"| {gb['seconds']:.1f} | {tb['seconds']:.1f} | {ratio:.2f} | {gb['accuracy']:.4f} | {tb['accuracy']:.4f} "
      f"| {fmt(peak(g, 'max_rss_mib'), unit=' MiB')} | {fmt(peak(t, 'max_rss_mib'), unit=' MiB')} "
      f"| {fmt(peak(t, 'tree_pss_mib'), unit=' MiB')} |")
print()
c = gb["raw"].get("cache") or {}
print(f"graft's best run: features {c.get('train', {}).get('seconds', float('nan')):.1f} s (train) + "
      f"{c.get('test', {}).get('seconds', float('nan')):.1f} s (test), logistic regression {gb['raw']['fit_seconds']:.2f} s. "
      f"PyTorch's training loss per epoch: {[round(v, 4) for v in tb['raw']['train_loss_per_epoch']]}")
print(f"seconds per repeat: graft {[round(r['seconds'], 1) for r in g]}, PyTorch {[round(r['seconds'], 1) for r in t]}; "
      f"tree RSS sum PyTorch {fmt(peak(t, 'tree_rss_mib'), unit=' MiB')}")
print("ratio = PyTorch seconds / graft seconds (> 1: graft faster), each side's own clock from before the model")
print("is built to the test accuracy (process start-up and library loading outside). Peak RSS = /usr/bin/time -v's")
print("largest single process; tree PSS = PyTorch's main process + DataLoader workers, shared pages split.")
summary = {"graft": g, "torch": t, "ratio": ratio}
tmp = run / "summary.json.tmp"
tmp.write_text(json.dumps(summary, indent=1))
tmp.rename(run / "summary.json")
EOF
[ -n "$TIME" ] || echo "(peak RSS per process skipped: /usr/bin/time not found; 'apt-get install time' provides it)"
