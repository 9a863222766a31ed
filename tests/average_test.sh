#!/usr/bin/env bash
# CLI test of `speakernet average` (speaker-net's average_checkpoints) on a tiny trained model:
#  - the averaged model.pt equals, tensor for tensor and bit for bit, speaker-net's
#    average_state_dicts computed by torch in Python on the epoch checkpoints (running sum in
#    checkpoint order, then / float(n)); num_batches_tracked stays int64 and equals the value
#    speaker-net's float mean takes once loaded into the int64 buffer (truncated);
#  - the averaged experiment extracts, with the same embeddings as the torch-averaged state dict
#    imported with `speakernet import`;
#  - a missing epoch, a bad range and --out == --exp are errors naming what is wrong.
#
#   bash tests/average_test.sh SPEAKERNET_BINARY [SOURCE_DIR]      (exit 77 = skipped)
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init average "$@"
cli_test_require_python numpy torch

data=$work/data
cli_test_tone_corpus "$data"
cli_test_tiny_train "$data" --trainer.epochs=3
run "train 3 epochs" "$bin" train --exp "$work/exp" "${tiny[@]}"
run "average epochs 1-3" "$bin" average --exp "$work/exp" --epochs 1-3 --out "$work/avg"
avg_pt=$work/avg/checkpoints/avg-1-3/model.pt
[[ -f $avg_pt && -f $work/avg/config.yaml && -f $work/avg/speakers.txt ]] ||
  fail "average did not write model.pt, config.yaml and speakers.txt"
pass

run "averaged tensors equal torch's average_state_dicts" "$py" - "$work/exp/checkpoints" "$avg_pt" \
  "$work/ref.pt" << 'PY'
import collections, sys, torch
ckpts, ours_path, ref_path = sys.argv[1:]
sds = [torch.load(f"{ckpts}/epoch-{e}/model.pt") for e in (1, 2, 3)]
dtypes = {k: v.dtype for k, v in sds[0].items()}
# speaker-net training/checkpointer.py average_state_dicts, written out again
running = sds[0]
for sd in sds[1:]:
    for k, v in sd.items():
        running[k] += v.data
ref = {k: v.data / float(len(sds)) for k, v in running.items()}
# what load_state_dict makes of it: the float mean of an int64 buffer is copied (truncated)
ref = collections.OrderedDict((k, v.to(dtypes[k])) for k, v in ref.items())
ours = torch.load(ours_path)
assert list(ours) == list(ref), (list(ours)[:5], list(ref)[:5])
ints = 0
for k in ref:
    assert ours[k].dtype == dtypes[k], (k, ours[k].dtype, dtypes[k])
    assert torch.equal(ours[k], ref[k]), (k, (ours[k].double() - ref[k].double()).abs().max())
    ints += not ours[k].is_floating_point()
assert ints > 0, "no num_batches_tracked buffer compared"
w = "loss.weight"
assert not torch.equal(ours[w], torch.load(f"{ckpts}/epoch-3/model.pt")[w]), "average == last epoch"
torch.save(ref, ref_path)
print(f"{len(ref)} tensors equal ({ints} integer buffers)")
PY

run "extract the averaged experiment" "$bin" extract --exp "$work/avg" --data "$data" \
  --out "$work/emb_avg" --npy --device cpu --threads 1
run "import the torch average" "$bin" import --config "$work/avg/config.yaml" --in "$work/ref.pt" \
  --out "$work/ref_exp"
run "extract the imported torch average" "$bin" extract --exp "$work/ref_exp" --data "$data" \
  --out "$work/emb_ref" --npy --device cpu --threads 1
run "same embeddings" "$py" -c "
import sys, numpy as np
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
assert a.shape == (12, 16) and np.array_equal(a, b), (a.shape, np.abs(a - b).max())
" "$work/emb_avg/embeddings.npy" "$work/emb_ref/embeddings.npy"

expect_error "missing epoch" "epoch-4/model.pt is missing" \
  "$bin" average --exp "$work/exp" --epochs 2-4 --out "$work/avg2"
expect_error "reversed range" "1 <= A <= B" \
  "$bin" average --exp "$work/exp" --epochs 3-1 --out "$work/avg2"
expect_error "bad range" "--epochs must be A-B" \
  "$bin" average --exp "$work/exp" --epochs last --out "$work/avg2"
expect_error "--out == --exp" "--out must differ from --exp" \
  "$bin" average --exp "$work/exp" --epochs 1-2 --out "$work/exp"
expect_error "existing output" "pass --force" \
  "$bin" average --exp "$work/exp" --epochs 1-2 --out "$work/avg"
[[ ! -e $work/avg2 ]] || fail "a failed average wrote $work/avg2"
pass

echo "PASS: $checks checks in $((SECONDS - start)) s"
