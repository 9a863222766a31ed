#!/usr/bin/env bash
# Configures and builds speakernet into ./build (Release, Ninja, ccache and PCH when available).
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SPEAKERNET_JOBS:-$(nproc)}
start=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs"
echo "build: done in $(( $(date +%s) - start )) s; binary: build/bin/speakernet"
