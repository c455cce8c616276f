#!/usr/bin/env bash
# Builds a CUDA-capable `graft` here, for a GPU machine that has no Rust toolchain but does have
# PyTorch's CUDA wheel installed in a Python venv. The binary is linked against the libtorch of
# that exact wheel (same version, same C++ ABI) and loads the venv's copy at run time, so only the
# binary (~20 MB) has to travel.
#
#   scripts/gpu/build_cuda.sh            -> .gpu/graft-cuda, then prints how to run it there
#
#   TORCH_VERSION=2.11.0                 torch version installed on the GPU machine
#   DEVICE_SITE=/opt/torch/.venv/lib/python3.12/site-packages
#                                        its site-packages; baked in as the binary's rpath
#   GPU_DIR=.gpu                         cache for the wheel's headers and libraries (~1 GB)
#   CARGO_TARGET_DIR=$GPU_DIR/target     kept apart from target/, whose CPU build it would
#                                        otherwise overwrite on every switch
#
# Needs python3 with pip (only to download the wheel) and the usual Rust + C++ toolchain. No
# NVIDIA wheels are downloaded: the link only has to resolve graft's own references, which all
# live in libtorch/libc10, so the CUDA libraries libtorch_cuda.so depends on may be absent here.
set -euo pipefail
cd "$(dirname "$0")/../.."

TORCH_VERSION=${TORCH_VERSION:-2.11.0}
DEVICE_SITE=${DEVICE_SITE:-/opt/torch/.venv/lib/python3.12/site-packages}
GPU_DIR=${GPU_DIR:-.gpu}
mkdir -p "$GPU_DIR"
GPU_DIR=$(cd "$GPU_DIR" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$GPU_DIR/target}
LIBTORCH_DIR=$GPU_DIR/libtorch-$TORCH_VERSION
PYTHON=${PYTHON:-python3}
MAX_BYTES=$((60 * 1024 * 1024)) # what one call to the GPU machine may carry, with some margin

# 1. libtorch from the cp312 manylinux wheel: the same build the GPU machine's venv holds. Only
#    include/ and lib/ are unpacked (~1 GB); torch-sys needs no more.
if [[ ! -e "$LIBTORCH_DIR/.complete" ]]; then
  tmp=$(mktemp -d "$GPU_DIR/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "build_cuda: downloading torch==$TORCH_VERSION (cp312, manylinux_2_28_x86_64)" >&2
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --platform manylinux_2_28_x86_64 --dest "$tmp" "torch==$TORCH_VERSION"
  wheel=$(ls "$tmp"/torch-"$TORCH_VERSION"-*.whl)
  # libtorch_python.so is only for the Python extension; the rest of lib/ is what -ltorch pulls in.
  unzip -q "$wheel" 'torch/include/*' 'torch/lib/*' -x 'torch/lib/libtorch_python.so' -d "$tmp/x"
  [[ -e "$tmp/x/torch/lib/libtorch_cuda.so" ]] || {
    echo "build_cuda: $wheel has no lib/libtorch_cuda.so (not a CUDA build?)" >&2
    exit 1
  }
  rm -rf "$LIBTORCH_DIR"
  mv "$tmp/x/torch" "$LIBTORCH_DIR"
  rm -rf "$tmp"
  trap - EXIT
  touch "$LIBTORCH_DIR/.complete"
fi

# 2. tch 0.26's C++ wrapper is generated from libtorch 2.13; against older headers a few of the
#    ops it wraps do not exist. A force-included header supplies stand-ins (see the header), so
#    neither torch-sys nor the Cargo files need changing. Other versions: compile, then extend it.
cxxflags=${CXXFLAGS:-}
case "$TORCH_VERSION" in
  2.13.*) ;;
  2.11.*) cxxflags+=" -include $PWD/scripts/gpu/tch-shim-2.11.h" ;;
  *)
    echo "build_cuda: no shim for torch $TORCH_VERSION; trying without one" >&2
    ;;
esac

# Link arguments, given to the final binary only (RUSTFLAGS would also reach build scripts,
# which cannot find -ltorch):
# - `--no-as-needed -ltorch_cuda -ltorch`: nothing in graft names a symbol of libtorch_cuda.so,
#   so the linker would drop it and CUDA would silently be unavailable at run time.
# - `--allow-shlib-undefined`: libtorch's own dependencies (cuDNN, cuBLAS, ...) are not here.
# - rpath to the venv's torch/lib: the binary then runs there with no LD_LIBRARY_PATH. The wheel's
#   libraries carry their own rpath ($ORIGIN/../../nvidia/*/lib) to the CUDA libraries.
echo "build_cuda: building graft (release) against $LIBTORCH_DIR into $CARGO_TARGET_DIR" >&2
LIBTORCH=$LIBTORCH_DIR LIBTORCH_BYPASS_VERSION_CHECK=1 CXXFLAGS="$cxxflags" \
  cargo rustc --locked --release -p graft-cli --bin graft -- \
  -C link-arg=-Wl,--allow-shlib-undefined \
  -C link-arg=-Wl,-rpath,"$DEVICE_SITE/torch/lib" \
  -C link-arg=-Wl,--no-as-needed -C link-arg=-ltorch_cuda -C link-arg=-ltorch

bin=$CARGO_TARGET_DIR/release/graft
if ! readelf -d "$bin" | grep -q 'NEEDED.*\[libtorch_cuda\.so\]'; then
  echo "build_cuda: $bin does not load libtorch_cuda.so; CUDA would be unavailable" >&2
  exit 1
fi

# 3. The copy that travels. Symbols are kept (readable backtraces) unless the size limit says no.
out=$GPU_DIR/graft-cuda
cp "$bin" "$out"
if (($(stat -c %s "$out") >= MAX_BYTES)); then
  strip "$out"
fi
size=$(stat -c %s "$out")
if ((size >= MAX_BYTES)); then
  echo "build_cuda: $out is $size bytes even stripped; too big to carry" >&2
  exit 1
fi

rel=${out#"$PWD"/}
echo "build_cuda: $rel ($((size / 1024 / 1024)) MiB), libtorch $TORCH_VERSION"
# The rpath makes LD_LIBRARY_PATH unnecessary where the venv is at DEVICE_SITE; the line below is
# for a venv anywhere else (the nvidia dirs are only a fallback: libtorch finds them by its own
# rpath, $ORIGIN/../../nvidia/*/lib).
cat <<EOF
On the GPU machine (bring $rel along, e.g. as an ignored path the transfer carries):
  $rel --version && $rel <command> --device cuda ...
Only if the venv is not at $DEVICE_SITE (else harmless), with that path changed:
  export LD_LIBRARY_PATH=$DEVICE_SITE/torch/lib\$(printf ':%s' $DEVICE_SITE/nvidia/*/lib)
EOF
