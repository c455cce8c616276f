#!/usr/bin/env bash
# Cost of a training step with each domain loss against a plain step over the same source +
# target batch (LeNet 28x28 batch 64 + 64, ResNet-18 64x64 batch 32 + 32; best of 3), in one
# process. THREADS sets libtorch's threads (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -p graft-nn --bench adapt_step
