#!/usr/bin/env bash
# Configures and builds speakernet into ./build (Release, Ninja, ccache and PCH when available).
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA LibTorch.
#   --sanitize  builds into ./build-sanitize instead: Clang, AddressSanitizer + UndefinedBehavior-
#               Sanitizer, and the libFuzzer targets (docs/robustness.md); run its tests with
#               ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-sanitize -j 2
# SPEAKERNET_JOBS sets the parallelism; SPEAKERNET_TARGETS="a b" builds only those targets
# (tools/fuzz.sh uses it, so the fuzz targets and the sanitized tests share one build).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SPEAKERNET_JOBS:-$(nproc)}
dir=build build_type=Release
if [[ ${1:-} == --sanitize ]]; then
  shift
  dir=build-sanitize build_type=RelWithDebInfo
  set -- -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DSPEAKERNET_FUZZ=ON \
    -DSPEAKERNET_BUILD_BENCH=OFF "$@"
fi
targets=()
[[ -n ${SPEAKERNET_TARGETS:-} ]] && targets=(--target ${SPEAKERNET_TARGETS})
start=$(date +%s)
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=$build_type "$@"
cmake --build "$dir" -j "$jobs" "${targets[@]}"
echo "build: done in $(( $(date +%s) - start )) s; binary: $dir/bin/speakernet"
