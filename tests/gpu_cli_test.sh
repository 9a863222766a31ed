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

cat >"$work/compare.py" <<'PY'
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
bad = [k for k in a if not torch.equal(a[k], b[k])]
diff = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
print(f"{len(a)} tensors, {len(bad)} differ (max |diff| {diff:.3g})", bad[:5])
sys.exit(1 if bad else 0)
PY

# --- resume exactness on the GPU, fp32 then amp ----------------------------------------------
for mode in fp32 amp; do
  extra=()
  [[ $mode == amp ]] && extra=(--trainer.amp=true)
  run "train cuda $mode" "$bin" train --exp "$work/$mode-full" "${tiny[@]}" "${extra[@]}"
  contains "$work/$mode-full/train.log" "cuda" "the run logs its CUDA device"
  # Without deterministic kernels (runtime.deterministic) even two plain runs differ; checked
  # first, so that a failure below points at resume itself.
  run "train cuda $mode again" "$bin" train --exp "$work/$mode-again" "${tiny[@]}" "${extra[@]}"
  run "$mode: two uninterrupted runs are identical" "$py" "$work/compare.py" \
    "$work/$mode-full/checkpoints/epoch-2/model.pt" "$work/$mode-again/checkpoints/epoch-2/model.pt"
  cat "$work/last.out"
  run "train cuda $mode, stopped" "$bin" train --exp "$work/$mode-split" "${tiny[@]}" \
    "${extra[@]}" --trainer.max_iters=3
  run "train cuda $mode --resume" "$bin" train --exp "$work/$mode-split" --data "$data" --resume \
    --trainer.max_iters=0
  contains "$work/$mode-split/train.log" "resumed from" "resume logged"
  run "$mode: resumed == uninterrupted" "$py" "$work/compare.py" \
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
run "cuda embeddings == cpu embeddings" "$py" - "$work/emb-cpu/embeddings.npy" \
  "$work/emb-cuda/embeddings.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
assert a.shape == b.shape, (a.shape, b.shape)
rel = np.abs(a - b).max(axis=1) / np.maximum(1.0, np.abs(a).max(axis=1))
cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print(f"max |cuda - cpu| / max |emb| = {rel.max():.3g}, min cosine {cos.min():.9f}")
# TF32 convolutions (cuDNN's default on Ampere and later) round inputs to 10-bit mantissas.
sys.exit(0 if rel.max() <= 1e-2 and cos.min() > 1 - 1e-4 else 1)
PY
cat "$work/last.out"

echo "PASS: $checks checks in $((SECONDS - start)) s"
