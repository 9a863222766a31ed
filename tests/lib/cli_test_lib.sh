# Shared pieces of the command-line tests tests/*_test.sh. Sourced, not run (its name does not
# match tests/*_test.sh, so CMake does not register it):
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
#   cli_test_init NAME "$@"              # bin, src, py, work (+ cleanup trap), start, checks
#   cli_test_require espeak-ng sox       # exit 77 (skip) when a tool is missing
#   cli_test_require_python numpy torch  # exit 77 (skip) when $py lacks a module
#
# Helpers: fail, pass, run, expect_error, expect_failure, contains, equal, lines,
# cli_test_demo_corpus. Commands run by `run` / `expect_*` write $work/last.out and
# $work/last.err; `fail` prints the last $cli_test_tail lines (default 20) of both.
# KEEP=1 (or SN_TEST_KEEP=1) in the environment keeps $work for a look afterwards.

# cli_test_init NAME SPEAKERNET_BINARY [SOURCE_DIR]: sets
#   bin    the binary, as an absolute path (must be executable);
#   src    the source tree (default: the one holding this file), absolute;
#   py     $SN_TEST_PYTHON, default /usr/bin/python3 (the Debian python with numpy/torch, not a
#          virtualenv's; a machine whose torch lives elsewhere sets SN_TEST_PYTHON);
#   work   a fresh temporary directory, removed on exit unless KEEP is set;
#   start  $SECONDS now; checks 0.
cli_test_init() {
  local name=$1
  shift
  bin=${1:?usage: $(basename "$0") SPEAKERNET_BINARY [SOURCE_DIR]}
  src=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  src=$(cd "$src" && pwd)
  py=${SN_TEST_PYTHON:-/usr/bin/python3}
  work=$(mktemp -d "${TMPDIR:-/tmp}/sn_$name.XXXXXX")
  if [[ -n ${KEEP:-}${SN_TEST_KEEP:-} ]]; then
    echo "keeping $work"
  else
    trap 'rm -rf "$work"' EXIT
  fi
  start=$SECONDS
  checks=0
  cli_test_tail=${cli_test_tail:-20}
  [[ -x $bin ]] || fail "$bin is not an executable"
}

# cli_test_require TOOL...: skip (exit 77) unless every TOOL is on PATH.
cli_test_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
  done
}

# cli_test_require_python MODULE...: skip (exit 77) unless $py imports every MODULE.
cli_test_require_python() {
  local IFS=,
  "$py" -c "import $*" 2>/dev/null || { IFS=/; echo "SKIP: $py has no $*"; exit 77; }
}

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$work"/last.out "$work"/last.err; do
    [[ -s $f ]] && { echo "--- ${f##*/} (tail)" >&2; tail -n "$cli_test_tail" "$f" >&2; }
  done
  exit 1
}
pass() { checks=$((checks + 1)); }

# cli_test_exec CMD...: CMD's status, its stdout in $work/last.out and stderr in $work/last.err.
cli_test_exec() { "$@" >"$work/last.out" 2>"$work/last.err"; }

# run NAME CMD...: CMD must exit 0.
run() {
  local name=$1
  shift
  echo "== $name (at $((SECONDS - start)) s)"
  cli_test_exec "$@" || fail "$name: exit status $? (expected 0): $*"
  pass
}

# cli_test_must_fail NAME CMD...: CMD must exit non-zero.
cli_test_must_fail() {
  local name=$1
  shift
  echo "== error case: $name"
  cli_test_exec "$@" && fail "$name: exit status 0, expected a failure: $*"
  return 0
}

# expect_error NAME PATTERN CMD...: CMD must exit non-zero with an "error: " line on stderr that
# contains PATTERN (a fixed string). The CLI reports every failure that way.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  cli_test_must_fail "$name" "$@"
  grep -q '^error: ' "$work/last.err" || fail "$name: no 'error:' line on stderr"
  grep '^error: ' "$work/last.err" | grep -qF -- "$pattern" ||
    fail "$name: no 'error:' line naming '$pattern'"
  pass
}

# expect_failure NAME PATTERN CMD...: CMD must exit non-zero with PATTERN (a fixed string)
# anywhere on stderr (for messages that are not "error: " lines, e.g. the training launcher's).
expect_failure() {
  local name=$1 pattern=$2
  shift 2
  cli_test_must_fail "$name" "$@"
  grep -qF -- "$pattern" "$work/last.err" || fail "$name: stderr does not name '$pattern'"
  pass
}

contains() {  # contains FILE FIXED_STRING WHAT
  grep -qF -- "$2" "$1" || fail "$3: '$2' not found in ${1##*/}"
  pass
}
equal() {  # equal ACTUAL EXPECTED WHAT
  [[ $1 == "$2" ]] || fail "$3: got '$1', expected '$2'"
  pass
}
lines() { wc -l <"$1" | tr -d ' '; }

# cli_test_demo_corpus DIR MAKE_CORPUS_OPTIONS...: a tiny spoken corpus (DIR/train, DIR/test with
# trials) from recipes/demo/make_corpus.sh, 2 jobs; needs espeak-ng and sox (cli_test_require).
cli_test_demo_corpus() {
  local dir=$1
  shift
  run "make_corpus.sh" bash "$src/recipes/demo/make_corpus.sh" "$dir" "$@" --jobs 2
}

# cli_test_tone_corpus DIR: a tiny synthetic corpus without any speech tools (needs $py with
# numpy): 3 "speakers" (fundamentals 140/220/330 Hz plus a third harmonic) x 4 utterances of
# 1.5 s in noise, as 16 kHz 16-bit wavs with wav.scp and utt2spk.
cli_test_tone_corpus() {
  local dir=$1
  run "tone corpus" "$py" - "$dir" <<'PY'
import os, sys, wave, numpy as np
d = sys.argv[1]; os.makedirs(d)
with open(f"{d}/wav.scp", "w") as scp, open(f"{d}/utt2spk", "w") as u2s:
    for s, f0 in enumerate([140.0, 220.0, 330.0]):
        for u in range(4):
            rng = np.random.default_rng(7 + 10 * s + u)
            t = np.arange(24000) / 16000.0
            x = 0.3 * np.sin(2 * np.pi * f0 * (1 + 0.01 * u) * t) + 0.1 * np.sin(2 * np.pi * 3 * f0 * t)
            x = x + rng.normal(0, 0.02, t.size)
            utt = f"spk{s}-u{u}"; path = f"{d}/{utt}.wav"
            with wave.open(path, "wb") as w:
                w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
                w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
            scp.write(f"{utt} {path}\n"); u2s.write(f"{utt} spk{s}\n")
PY
}

# cli_test_tiny_train DATA_DIR [EXTRA...]: sets the array `tiny` to `speakernet train` arguments
# for a tiny ResNet (4-8 channels, 16-d embedding, 2 epochs of 0.5 s chunks in batches of 4) on
# DATA_DIR (e.g. cli_test_tone_corpus), one thread, one loader worker; EXTRA is appended.
cli_test_tiny_train() {
  local data=$1
  shift
  tiny=(--config "$src/recipes/demo/config.yaml" --data "$data" '--model.resnet.layers=[1,1,1,1]'
    '--model.resnet.planes=[4,8,8,8]' --model.pooling.num_head=2 --model.emb_dim=16
    --loss.s=10 --margin_schedule.enabled=false --optimizer.lr=0.05 --lr_schedule.warmup_epoch=0.3
    '--lr_schedule.milestones=[1]' --trainer.epochs=2 --trainer.report_interval_iters=2
    --trainer.ckpt_interval_minutes=0 --loader.batch_size=4 --loader.chunk_seconds=0.5
    --loader.num_workers=1 --runtime.threads=1 "$@")
}

# cli_test_require_onnx_runtimes: node with onnxruntime-node and sherpa-onnx-node in tests/node
# (set as node_dir) and a speakernet built with libonnx-dev; exit 77 (skip) without them, but
# under CI=true a missing runtime or library is a failure.
cli_test_require_onnx_runtimes() {
  node_dir=$src/tests/node
  for package in onnxruntime-node sherpa-onnx-node; do
    if ! command -v node >/dev/null || [[ ! -d $node_dir/node_modules/$package ]]; then
      message="node or $node_dir/node_modules/$package is missing (tools/setup.sh installs them)"
      [[ ${CI:-} == true ]] && fail "$message"
      echo "SKIP: $message"
      exit 77
    fi
  done
  if "$bin" export --exp /nonexistent --onnx "$work/x.onnx" 2>&1 | grep -q "without the ONNX library"; then
    [[ ${CI:-} == true ]] && fail "speakernet was built without libonnx-dev"
    echo "SKIP: speakernet was built without libonnx-dev"
    exit 77
  fi
}
