#!/usr/bin/env bash
# Runs graft's cargo-fuzz targets (fuzz/) one after the other, SECONDS each, and prints how many
# inputs each one ran. Exits non-zero when any target crashes, hangs or runs out of memory; the
# input that did it is left in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Without TARGETs: every target of graft-data, plus the .pth / pickle / safetensors-weights
# targets of graft-nn and the recipe TOML target when libtorch is installed
# (scripts/setup-libtorch.sh). Environment:
#   FUZZ_SANITIZER   address (default) or none; none builds and runs faster, but only panics,
#                    hangs and memory blow-ups are caught, not memory errors in C code.
#   FUZZ_NN          auto (default), 1 (require the libtorch targets) or 0 (skip them).
#   FUZZ_ARGS        more libFuzzer flags, e.g. "-max_len=65536".
# cargo-fuzz needs nightly flags; on a stable toolchain RUSTC_BOOTSTRAP=1 makes rustc take them.
set -euo pipefail

usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
SECONDS_EACH=$1
shift

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DATA_TARGETS=(svmlight csv npy npz idx image features_safetensors)
NN_TARGETS=(pickle pth safetensors_weights recipe)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
export CARGO_TARGET_DIR="$ROOT/fuzz/target"

# libtorch, for the graft-nn targets: where .cargo/config.toml points unless LIBTORCH is set.
: "${LIBTORCH:=$ROOT/.libtorch/site-packages/torch}"
have_torch=0
[[ -d $LIBTORCH/lib ]] && have_torch=1
case ${FUZZ_NN:-auto} in
    0) use_nn=0 ;;
    1) use_nn=1
       [[ $have_torch == 1 ]] || { echo "FUZZ_NN=1 but no libtorch at $LIBTORCH" >&2; exit 2; } ;;
    *) use_nn=$have_torch ;;
esac
if [[ $use_nn == 1 ]]; then
    export LIBTORCH
    export LD_LIBRARY_PATH="$LIBTORCH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    TARGETS=("${DATA_TARGETS[@]}")
    if [[ $use_nn == 1 ]]; then
        TARGETS+=("${NN_TARGETS[@]}")
    elif [[ ${FUZZ_NN:-auto} == 0 ]]; then
        echo "== FUZZ_NN=0: skipping ${NN_TARGETS[*]}"
    else
        echo "== libtorch not found at $LIBTORCH: skipping ${NN_TARGETS[*]}"
    fi
fi

# The array targets write each input to a scratch file; keep those out of the shared /tmp.
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/graft-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM

sanitizer=${FUZZ_SANITIZER:-address}
failed=()
summary=()
for t in "${TARGETS[@]}"; do
    features=()
    for n in "${NN_TARGETS[@]}"; do
        [[ $t == "$n" ]] && features=(--features nn)
    done
    # svmlight densifies: a one-line file with feature index 10^9 asks for an 8 GB matrix, which
    # graft allows up to its MAX_DENSE (16 GiB, crates/graft-data/src/svmlight.rs). The zeroed
    # pages are never touched, so only the malloc limit needs raising, not the RSS limit.
    extra=()
    [[ $t == svmlight ]] && extra=(-malloc_limit_mb=16500)
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="$SCRATCH/$t.log"
    echo "== $t: ${SECONDS_EACH}s"
    set +e
    # shellcheck disable=SC2086
    TMPDIR=$SCRATCH cargo fuzz run -s "$sanitizer" "${features[@]}" "$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 "${extra[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    line="$t: ${execs:-?} execs, ${rate:-?} execs/s"
    if [[ $rc -ne 0 ]]; then
        line="$line, FAILED (exit $rc)"
        failed+=("$t")
        grep -E "^(==[0-9]+==ERROR|thread '.*' panicked|Test unit written|SUMMARY)" -A3 "$log" | head -n 30 || true
        cp "$log" "fuzz/artifacts/$t/last-run.log"
        echo "   full log: fuzz/artifacts/$t/last-run.log"
    fi
    echo "   $line"
    summary+=("$line")
done

echo "== summary"
printf '   %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== failed: ${failed[*]} (inputs in fuzz/artifacts/TARGET/)" >&2
    exit 1
fi
