#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, Clang, ASan + UBSan) in ./build-sanitize and runs each one
# for a bounded time, starting from its seed corpus fuzz/corpus/<target>/ (new inputs go to
# build-sanitize/corpus/<target>/, findings to build-sanitize/artifacts/). See docs/robustness.md.
#
#   tools/fuzz.sh                  the light targets, 30 s each
#   tools/fuzz.sh --all            also the heavy targets model_package_fuzzer and
#                                  wespeaker_release_fuzzer (they link the whole library)
#   tools/fuzz.sh --time 600 --all the longer run (10 min per target)
#   tools/fuzz.sh --ci             CI: the whole sanitized build (tools/build.sh --sanitize), its
#                                  full test suite, then every target (light and heavy) 10 s each
#   tools/fuzz.sh --only npy_fuzzer --time 60
# Runs use a random seed, except --ci: seed 1, so that CI's short runs repeat what a local
# `tools/fuzz.sh --ci` did (exploring belongs to the longer runs).
# Exits non-zero on a finding (crash, sanitizer report, leak, timeout, out-of-memory) and prints
# the executions per target. SPEAKERNET_JOBS sets the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30 all=0 ci=0 only="" seed=0
while (($#)); do
  case "$1" in
    --time) seconds=$2; shift 2 ;;
    --all) all=1; shift ;;
    --ci) ci=1; all=1; seconds=10; seed=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: tools/fuzz.sh [--time SECONDS] [--all] [--ci] [--only TARGET]" >&2; exit 2 ;;
  esac
done
light=(trials_fuzzer kaldi_fuzzer npy_fuzzer config_fuzzer audio_fuzzer data_dir_fuzzer torch_save_fuzzer)
heavy=(model_package_fuzzer wespeaker_release_fuzzer)
targets=("${light[@]}")
((all)) && targets+=("${heavy[@]}")
[[ -n $only ]] && targets=("$only")

start=$(date +%s)
if ((ci)); then
  bash tools/build.sh --sanitize  # everything: library, CLI, tests, fuzz targets
else
  # Only the fuzz targets (and what they link) of the sanitized build.
  SPEAKERNET_TARGETS="${targets[*]}" bash tools/build.sh --sanitize
fi
echo "fuzz: built in $(( $(date +%s) - start )) s"

if ((ci)); then
  # Leak checking is off for the tests: LibTorch keeps global allocations alive until exit.
  ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-sanitize --output-on-failure -j 2
  echo "fuzz: sanitized build and tests done in $(( $(date +%s) - start )) s"
fi

mkdir -p build-sanitize/artifacts
# Leaks inside system libraries that speakernet cannot free (fuzz/lsan.supp says which and why).
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
total=0 failed=()
for t in "${targets[@]}"; do
  name=${t%_fuzzer}
  work=build-sanitize/corpus/$name
  # CI starts from the seeds alone, every time (a clean clone has no corpus of its own either).
  ((ci)) && work=build-sanitize/corpus-ci/$name && rm -rf "$work"
  mkdir -p "$work"
  log=build-sanitize/$t.log
  # -rss_limit_mb/-malloc_limit_mb: a reader that trusts a size field and allocates gigabytes is
  # a finding. -timeout: one input may not take longer than 10 s.
  if build-sanitize/fuzz/$t "$work" "fuzz/corpus/$name" -max_total_time="$seconds" \
      -seed="$seed" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="build-sanitize/artifacts/$name-" > "$log" 2>&1; then
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
  for t in "${failed[@]}"; do tail -40 "build-sanitize/$t.log"; done
  echo "fuzz: FINDINGS in ${failed[*]} (inputs under build-sanitize/artifacts/)" >&2
  exit 1
fi
