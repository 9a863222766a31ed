#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, Clang, ASan + UBSan) in ./build-fuzz and runs each one for
# a bounded time, starting from its seed corpus fuzz/corpus/<target>/ (new inputs go to
# build-fuzz/corpus/<target>/, findings to build-fuzz/artifacts/). See docs/robustness.md.
#
#   tools/fuzz.sh                  light targets (all but model_package), 30 s each
#   tools/fuzz.sh --all            also model_package_fuzzer (builds the whole library with Clang)
#   tools/fuzz.sh --time 600 --all the longer run (10 min per target)
#   tools/fuzz.sh --ci             CI: light targets 10 s each + the sanitized unit tests of the
#                                  torch-free layers (common, kaldi_io, audio, scoring_core)
#   tools/fuzz.sh --only npy_fuzzer --time 60
# Exits non-zero on a finding (crash, sanitizer report, leak, timeout, out-of-memory) and prints
# the executions per target. SPEAKERNET_JOBS sets the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30 all=0 ci=0 only=""
while (($#)); do
  case "$1" in
    --time) seconds=$2; shift 2 ;;
    --all) all=1; shift ;;
    --ci) ci=1; seconds=10; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: tools/fuzz.sh [--time SECONDS] [--all] [--ci] [--only TARGET]" >&2; exit 2 ;;
  esac
done
jobs=${SPEAKERNET_JOBS:-$(nproc)}
light=(trials_fuzzer kaldi_fuzzer npy_fuzzer config_fuzzer audio_fuzzer data_dir_fuzzer torch_save_fuzzer)
targets=("${light[@]}")
((all)) && targets+=(model_package_fuzzer)
[[ -n $only ]] && targets=("$only")
tests=(common_test kaldi_io_test audio_test scoring_core_test)

start=$(date +%s)
mkdir -p build-fuzz
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DSPEAKERNET_FUZZ=ON \
  -DSPEAKERNET_BUILD_BENCH=OFF > build-fuzz/cmake.log
build_targets=("${targets[@]}")
((ci)) && build_targets+=("${tests[@]}")
cmake --build build-fuzz -j "$jobs" --target "${build_targets[@]}"
echo "fuzz: built in $(( $(date +%s) - start )) s"

if ((ci)); then
  regex="^($(IFS='|'; echo "${tests[*]}"))\$"
  ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-fuzz -R "$regex" --output-on-failure -j 2
fi

mkdir -p build-fuzz/artifacts
# Leaks inside system libraries that speakernet cannot free (fuzz/lsan.supp says which and why).
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
total=0 failed=()
for t in "${targets[@]}"; do
  name=${t%_fuzzer}
  work=build-fuzz/corpus/$name
  mkdir -p "$work"
  log=build-fuzz/$t.log
  # -rss_limit_mb/-malloc_limit_mb: a reader that trusts a size field and allocates gigabytes is
  # a finding. -timeout: one input may not take longer than 10 s.
  if build-fuzz/fuzz/$t "$work" "fuzz/corpus/$name" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$name-" > "$log" 2>&1; then
    status=ok
  else
    status=FINDING
    failed+=("$t")
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + runs))
  printf 'fuzz: %-22s %-8s %10s executions in %s s (log %s)\n' "$t" "$status" "$runs" "$seconds" "$log"
done
echo "fuzz: $total executions in total"
if ((${#failed[@]})); then
  for t in "${failed[@]}"; do tail -40 "build-fuzz/$t.log"; done
  echo "fuzz: FINDINGS in ${failed[*]} (inputs under build-fuzz/artifacts/)" >&2
  exit 1
fi
