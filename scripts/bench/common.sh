# Shared set-up for the benchmark scripts (sourced, not run). Expects REPO, BENCH, say, die.

# bench_python: prints the Python to use, creating .bench/venv when none is configured.
bench_python() {
    local py=${GRAFT_BENCH_PYTHON:-$BENCH/venv/bin/python}
    if [ -n "${GRAFT_BENCH_PYTHON:-}" ]; then
        py=$(command -v "$py") || die "GRAFT_BENCH_PYTHON=$GRAFT_BENCH_PYTHON is not an executable"
    elif [ ! -x "$py" ]; then
        say "creating $BENCH/venv with torch 2.13 + torchvision 0.28 (several GB, a few minutes;"
        say "set GRAFT_BENCH_PYTHON to an existing Python with them to skip this)"
        python3 -m venv "$BENCH/venv" >&2 || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
        "$BENCH/venv/bin/pip" install --quiet torch==2.13.0 'torchvision==0.28.*' pillow numpy safetensors >&2 \
            || die "pip install into $BENCH/venv failed"
    fi
    "$py" -c 'import torch, torchvision, PIL, numpy, safetensors' 2>/dev/null \
        || die "$py lacks one of torch, torchvision, pillow, numpy, safetensors"
    echo "$py"
}

# bench_graft: prints the graft binary, building it in release mode first (cargo is a no-op
# when nothing changed).
bench_graft() {
    if [ -n "${GRAFT_BIN:-}" ]; then
        [ -x "$GRAFT_BIN" ] || die "GRAFT_BIN=$GRAFT_BIN is not an executable"
        echo "$GRAFT_BIN"
        return
    fi
    say "cargo build --release -p graft-cli"
    (cd "$REPO" && cargo build --release -p graft-cli >&2) || die "cargo build --release -p graft-cli failed"
    local bin=${CARGO_TARGET_DIR:-$REPO/target}/release/graft
    [ -x "$bin" ] || die "built graft not found at $bin"
    echo "$bin"
}

# bench_time: prints /usr/bin/time if it is GNU time (has -v), else nothing.
bench_time() {
    if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then
        echo /usr/bin/time
    else
        say "/usr/bin/time (GNU) not found: peak RSS will not be measured ('apt-get install time' provides it)"
    fi
}

# bench_inputs N DIR [make_images.py flags]: makes the seeded folder of N JPEGs in DIR and the seeded random ResNet-18
# weights file shared by both sides when they are missing, and checks the Lite0 weights. Expects
# PY, HERE, LITE0_WEIGHTS and R18_WEIGHTS.
bench_inputs() {
    local n=$1 images=$2
    shift 2
    [ -d "$images" ] || { say "making $n images in $images"; "$PY" "$HERE/make_images.py" --n "$n" --out "$images" "$@"; }
    [ -f "$LITE0_WEIGHTS" ] || die "EfficientNet-Lite0 weights not found at $LITE0_WEIGHTS (set GRAFT_SHARED_DATA)"
    if [ ! -f "$R18_WEIGHTS" ]; then
        say "saving a seeded random ResNet-18 (torchvision names) to $R18_WEIGHTS, used by both sides"
        "$PY" "$HERE/extract_torch.py" --model resnet18 --seed 0 --save-weights "$R18_WEIGHTS" >/dev/null
    fi
}

# bench_weights MODEL: prints the weights file both sides load for MODEL. Expects LITE0_WEIGHTS
# and R18_WEIGHTS.
bench_weights() {
    case $1 in
        resnet18) echo "$R18_WEIGHTS" ;;
        efficientnet_lite0) echo "$LITE0_WEIGHTS" ;;
        vit_*|convnext_*)
            # timm models: seeded random weights in timm's names, saved once, used by both sides.
            local w=$BENCH/$1_seed0.safetensors
            if [ ! -f "$w" ]; then
                "$PY" -c 'import timm' 2>/dev/null || "$PY" -m pip install --quiet 'timm==1.0.31' >&2 \
                    || die "installing timm into $PY failed"
                "$PY" "$HERE/extract_torch.py" --model "$1" --seed 0 --save-weights "$w" >/dev/null
            fi
            echo "$w" ;;
        *) die "unknown model $1 (resnet18, efficientnet_lite0, or a timm vit_* / convnext_* name)" ;;
    esac
}

# bench_run_dir NAME: creates and prints a new run folder .bench/runs/NAME-<date>.
bench_run_dir() {
    local dir
    dir=$BENCH/runs/$1-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$dir"
    say "results in $dir"
    echo "$dir"
}
