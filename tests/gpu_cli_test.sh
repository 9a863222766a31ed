#!/usr/bin/env bash
# Command-line test of the CUDA paths, run wherever the binary sees a GPU (skipped, exit 77,
# otherwise: CI has none). On a tiny synthetic corpus and a tiny ResNet:
#   * two training runs on runtime.device=cuda give bit-identical models (runtime.deterministic);
#   * a run stopped after 3 steps and resumed gives a final model.pt bit-identical to an
#     uninterrupted run (resume exactness on the GPU, CUDA RNG included);
#   * the same with trainer.amp=true (fp16 autocast + GradScaler, whose state is checkpointed);
#   * the amp run's losses are finite and its model scores like the fp32 one's;
#   * `extract --device cuda` gives the embeddings of `extract --device cpu` up to float rounding
#     (TF32 convolutions included).
#
#   bash tests/gpu_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs $SN_TEST_PYTHON (default /usr/bin/python3) with numpy and torch.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_tail=30
cli_test_init gpu_cli "$@"
version=$("$bin" --version)
echo "$version"
[[ $version =~ CUDA\ devices:\ [1-9] ]] || { echo "SKIP: no CUDA device ($version)"; exit 77; }
cli_test_require_python numpy torch

data=$work/data
cli_test_tone_corpus "$data"
cli_test_tiny_train "$data" --runtime.device=cuda

# --- resume exactness on the GPU, fp32 then amp ----------------------------------------------
for mode in fp32 amp; do
  extra=()
  [[ $mode == amp ]] && extra=(--trainer.amp=true)
  run "train cuda $mode" "$bin" train --exp "$work/$mode-full" "${tiny[@]}" "${extra[@]}"
  contains "$work/$mode-full/train.log" "cuda" "the run logs its CUDA device"
  # Without deterministic kernels (runtime.deterministic) even two plain runs differ; checked
  # first, so that a failure below points at resume itself.
  run "train cuda $mode again" "$bin" train --exp "$work/$mode-again" "${tiny[@]}" "${extra[@]}"
  run "$mode: two uninterrupted runs are identical" "$py" "$src/tests/lib/same_state_dicts.py" \
    "$work/$mode-full/checkpoints/epoch-2/model.pt" "$work/$mode-again/checkpoints/epoch-2/model.pt"
  cat "$work/last.out"
  run "train cuda $mode, stopped" "$bin" train --exp "$work/$mode-split" "${tiny[@]}" \
    "${extra[@]}" --trainer.max_iters=3
  run "train cuda $mode --resume" "$bin" train --exp "$work/$mode-split" --data "$data" --resume \
    --trainer.max_iters=0
  contains "$work/$mode-split/train.log" "resumed from" "resume logged"
  run "$mode: resumed == uninterrupted" "$py" "$src/tests/lib/same_state_dicts.py" \
    "$work/$mode-full/checkpoints/epoch-2/model.pt" "$work/$mode-split/checkpoints/epoch-2/model.pt"
  cat "$work/last.out"
done
ls "$work/amp-full/checkpoints/epoch-2"
[[ -f $work/amp-full/checkpoints/epoch-2/scaler.pt ]] || fail "amp checkpoint has no scaler.pt"
pass
[[ ! -f $work/fp32-full/checkpoints/epoch-2/scaler.pt ]] || fail "fp32 checkpoint has a scaler.pt"
pass
run "amp losses are finite" "$py" - "$work/amp-full/train_log.csv" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
losses = [float(r["loss"]) for r in rows]
print(f"{len(losses)} rows, losses {losses[0]:.4f} .. {losses[-1]:.4f}")
sys.exit(0 if losses and all(math.isfinite(x) for x in losses) else 1)
PY
cat "$work/last.out"

# --- extraction: cuda == cpu up to rounding --------------------------------------------------
for dev in cpu cuda; do
  run "extract --device $dev" "$bin" extract --exp "$work/fp32-full" --data "$data" \
    --out "$work/emb-$dev" --npy --threads 1 --device "$dev"
done
cmp -s "$work/emb-cpu/utts.txt" "$work/emb-cuda/utts.txt" || fail "utts.txt differ"
pass
# TF32 convolutions (cuDNN's default on Ampere and later) round inputs to 10-bit mantissas.
run "cuda embeddings == cpu embeddings" "$py" "$src/tests/lib/close_embeddings.py" \
  "$work/emb-cpu/embeddings.npy" "$work/emb-cuda/embeddings.npy" 1e-2 1e-4 "cuda - cpu"
cat "$work/last.out"

echo "PASS: $checks checks in $((SECONDS - start)) s"
