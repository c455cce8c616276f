#!/usr/bin/env bash
# Installs libtorch 2.13 (from the PyTorch 2.13.0 wheel) into .libtorch/ unless a usable one is
# already configured. Idempotent: a second call returns at once.
#
#   LIBTORCH=/path/to/libtorch   use that libtorch instead (nothing is installed)
#   GRAFT_CUDA=1                 install the CUDA dependencies too (~4.8 GB instead of ~1.25 GB);
#                                the default is on when `nvidia-smi` sees a GPU
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
# The CUDA runtime pieces the CPU code of the CUDA-built wheel cannot load without.
MIN_DEPS=(nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85)
DEST=.libtorch/site-packages

if [[ -n "${LIBTORCH:-}" ]]; then
  if [[ -e "$LIBTORCH/lib/libtorch_cpu.so" ]]; then
    exit 0
  fi
  echo "setup-libtorch: LIBTORCH=$LIBTORCH has no lib/libtorch_cpu.so" >&2
  exit 1
fi

cuda=${GRAFT_CUDA:-}
if [[ -z "$cuda" ]] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  cuda=1
fi
stamp=".libtorch/installed-$TORCH_VERSION${cuda:+-cuda}"
[[ -e "$stamp" ]] && exit 0

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "setup-libtorch: needs python3 with pip" >&2; exit 1; }
echo "setup-libtorch: installing torch $TORCH_VERSION${cuda:+ with CUDA} into $DEST (one time)" >&2
tmp=$(mktemp -d .libtorch-tmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [[ -n "$cuda" ]]; then
  "$python" -m pip install --quiet --disable-pip-version-check --target "$tmp" "torch==$TORCH_VERSION"
else
  "$python" -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" \
    "torch==$TORCH_VERSION" "${MIN_DEPS[@]}"
fi
[[ -e "$tmp/torch/lib/libtorch_cpu.so" ]] || { echo "setup-libtorch: torch wheel has no lib/libtorch_cpu.so" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p .libtorch
mv "$tmp" "$DEST"
trap - EXIT
rm -f .libtorch/installed-*
touch "$stamp"
echo "setup-libtorch: done ($(du -sh .libtorch | cut -f1))" >&2
