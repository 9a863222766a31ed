#!/usr/bin/env bash
# Configures and builds speakernet into ./build (Release, Ninja, ccache and PCH when available).
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA LibTorch.
#   --sanitize  builds into ./build-sanitize instead, with AddressSanitizer + UndefinedBehavior-
#               Sanitizer (docs/robustness.md); run its tests with
#               ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-sanitize -j 2
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SPEAKERNET_JOBS:-$(nproc)}
dir=build
if [[ ${1:-} == --sanitize ]]; then
  shift
  dir=build-sanitize
  set -- -DSPEAKERNET_SANITIZE=ON -DSPEAKERNET_BUILD_BENCH=OFF "$@"
fi
start=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$dir" -j "$jobs"
echo "build: done in $(( $(date +%s) - start )) s; binary: $dir/bin/speakernet"
