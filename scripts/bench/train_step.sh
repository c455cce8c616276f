#!/usr/bin/env bash
# Side-by-side training step: graft's engine (crates/graft-nn/examples/train_step.rs) vs the
# idiomatic PyTorch loop (train_step_torch.py), same model, batch, input size, optimiser and
# threads, on one fixed random batch.
#
# Two modes per model: `full` (every parameter trained, BatchNorm in train mode) and `last`
# (every stage but the last frozen and run without autograd: graft's GroupSpec::freeze_until,
# PyTorch's torch.no_grad() prefix in eval mode). Each side warms up, then times each step;
# the table shows median and mean ms/step, images/s, the ratio PyTorch/graft (> 1: graft
# faster) and, per side, how much cheaper a last-stage-only step is than a full one.
#
# Environment:
#   GRAFT_BENCH_PYTHON   Python with torch 2.13 + torchvision 0.28 (default .bench/venv/bin/python,
#                        created and filled on first use)
#   BENCH_MODELS         default "resnet18 efficientnet_lite0"
#   BENCH_MODES          default "full last"
#   BENCH_RUNS           repeats per side (default 1; the table shows the best median)
#   BENCH_STEPS, BENCH_WARMUP, BENCH_BATCH, BENCH_SIZE, BENCH_THREADS   (10, 3, 16, 224, 2)
#   GRAFT_TRAIN_STEP_BIN use this train_step binary instead of building it
#   OMP_WAIT_POLICY      passed to both sides (libgomp); `passive` stops idle OpenMP threads from
#                        spin-waiting, which on a loaded machine steadies the timings
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/scripts/bench
BENCH=$REPO/.bench
MODELS=${BENCH_MODELS:-"resnet18 efficientnet_lite0"}
MODES=${BENCH_MODES:-"full last"}
RUNS=${BENCH_RUNS:-1}
STEPS=${BENCH_STEPS:-10}
WARMUP=${BENCH_WARMUP:-3}
BATCH=${BENCH_BATCH:-16}
SIZE=${BENCH_SIZE:-224}
THREADS=${BENCH_THREADS:-2}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'train_step.sh: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/bench/common.sh
. "$HERE/common.sh"

for mode in $MODES; do
    case $mode in full | last) ;; *) die "BENCH_MODES: unknown mode '$mode' (full or last)" ;; esac
done

PY=$(bench_python)
if [ -n "${GRAFT_TRAIN_STEP_BIN:-}" ]; then
    [ -x "$GRAFT_TRAIN_STEP_BIN" ] || die "GRAFT_TRAIN_STEP_BIN=$GRAFT_TRAIN_STEP_BIN is not an executable"
    GRAFT=$GRAFT_TRAIN_STEP_BIN
else
    say "cargo build --release -p graft-nn --example train_step"
    (cd "$REPO" && cargo build --release -p graft-nn --example train_step >&2) \
        || die "cargo build --release -p graft-nn --example train_step failed"
    GRAFT=${CARGO_TARGET_DIR:-$REPO/target}/release/examples/train_step
    [ -x "$GRAFT" ] || die "built train_step not found at $GRAFT"
fi

RUN_DIR=$(bench_run_dir train_step)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# run_one MODEL MODE SIDE I: one process, warm-up plus timed steps, one JSON line.
run_one() {
    local model=$1 mode=$2 side=$3 i=$4 cmd
    local base=$RUN_DIR/$model.$mode.$side.$i
    local common=(--model "$model" --mode "$mode" --steps "$STEPS" --warmup "$WARMUP"
                  --batch "$BATCH" --size "$SIZE" --threads "$THREADS")
    if [ "$side" = graft ]; then
        cmd=("$GRAFT" "${common[@]}")
    else
        cmd=("$PY" "$HERE/train_step_torch.py" "${common[@]}")
    fi
    if ! "${cmd[@]}" >"$base.json" 2>"$base.err"; then
        cat "$base.err" >&2
        die "$side failed on $model/$mode (command: ${cmd[*]})"
    fi
    say "$(printf '%-18s %-4s %-5s #%s  %s' "$model" "$mode" "$side" "$i" \
        "$("$PY" -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("%6.0f ms/step median, %6.0f mean, %6.0f CPU ms" % (r["ms_median"], r["ms_mean"], r.get("cpu_ms_mean") or float("nan")))' "$base.json")")"
}

for model in $MODELS; do
    for mode in $MODES; do
        for i in $(seq 1 "$RUNS"); do
            run_one "$model" "$mode" graft "$i"
            run_one "$model" "$mode" torch "$i"
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Training step, batch $BATCH x 3 x $SIZE x $SIZE, threads $THREADS, SGD momentum 0.9, cross-entropy" \
     "(1000 classes), warm-up $WARMUP, $STEPS timed steps, best of $RUNS; $(nproc) cores;" \
     "OMP_WAIT_POLICY ${OMP_WAIT_POLICY:-unset}; load average before $LOAD_BEFORE, after $LOAD_AFTER."
# shellcheck disable=SC2086 # MODELS is a word list
"$PY" - "$RUN_DIR" $MODELS <<'EOF'
import json, sys
from pathlib import Path

run = Path(sys.argv[1])
rows = {}
for f in sorted(run.glob("*.json")):
    if f.name == "summary.json":
        continue
    r = json.loads(f.read_text().splitlines()[-1])
    key = (r["model"], r["mode"], r["side"])
    if key not in rows or r["ms_median"] < rows[key]["ms_median"]:
        rows[key] = r

models = [m for m in sys.argv[2:] if any(k[0] == m for k in rows)]
modes = [m for m in ("full", "last") if any(k[1] == m for k in rows)]
print()
print("| model | mode | trained | graft ms/step median (mean) | PyTorch ms/step median (mean) "
      "| graft img/s | PyTorch img/s | ratio PyTorch/graft | CPU ms/step graft / PyTorch |")
print("|---|---|---|---|---|---|---|---|---|")
summary = []
cpu = lambda r: "-" if r.get("cpu_ms_mean") is None else f"{r['cpu_ms_mean']:.0f}"
for model in models:
    for mode in modes:
        g, t = rows.get((model, mode, "graft")), rows.get((model, mode, "torch"))
        if not g or not t:
            continue
        trained = "all" if mode == "full" else f"stage {g['trainable_stage']} + classifier"
        ratio = t["ms_median"] / g["ms_median"]
        print(f"| {model} | {mode} | {trained} ({g['trainable_params'] / 1e6:.2f}M) "
              f"| {g['ms_median']:.0f} ({g['ms_mean']:.0f}) | {t['ms_median']:.0f} ({t['ms_mean']:.0f}) "
              f"| {g['images_per_second']:.1f} | {t['images_per_second']:.1f} | {ratio:.2f} "
              f"| {cpu(g)} / {cpu(t)} |")
        summary.append({"model": model, "mode": mode, "graft": g, "torch": t, "ratio": ratio})
if "full" in modes and "last" in modes:
    print()
    print("| model | graft full / last | PyTorch full / last |")
    print("|---|---|---|")
    for model in models:
        cells = []
        for side in ("graft", "torch"):
            f, l = rows.get((model, "full", side)), rows.get((model, "last", side))
            cells.append(f"{f['ms_median'] / l['ms_median']:.2f}x" if f and l else "-")
        print(f"| {model} | {cells[0]} | {cells[1]} |")
print()
print("ms/step: median and mean of the timed steps; img/s = batch / mean step; ratio = PyTorch median /")
print("graft median (> 1: graft faster); full / last = how many times cheaper a last-stage-only step is;")
print("CPU ms/step = process CPU time (all threads) per timed step, spin-waiting included.")
tmp = run / "summary.json.tmp"
tmp.write_text(json.dumps(summary, indent=1))
tmp.rename(run / "summary.json")
EOF
