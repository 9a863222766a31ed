#!/usr/bin/env bash
# Command-line test of `speakernet import --wespeaker DIR`: for each supported WeSpeaker
# architecture (real sizes: ResNet34, ECAPA_TDNN_GLOB_c512 and _c1024, CAM++; plus ResNet18 with
# two_emb_layer) tests/lib/wespeaker_reference.py builds the model in PyTorch from our reading
# of WeSpeaker's definitions (random weights and BN statistics), saves config.yaml + avg_model.pt
# as a release does, and computes the embeddings WeSpeaker's recipe extraction gives for 3 wavs
# of 1.5 s
# (torchaudio Kaldi fbank, hamming, int16 scale, CMN) and a 3.3 s one. The imported experiment's
# `speakernet extract` must give them to 1e-4 relative (|a - b| / |b| per embedding). Then, on
# the imported ResNet34: scoring, packaging (the package extracts the same embeddings),
# fine-tuning with a fresh classifier (train --init-from, 2 iterations on a tone corpus), and
# error messages naming an unknown architecture or key.
#
#   bash tests/wespeaker_import_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs /usr/bin/python3 with numpy, torch, torchaudio and yaml; exit 77 (skip) without.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init wespeaker_import "$@"
cli_test_require_python numpy torch torchaudio yaml

cli_test_tone_corpus "$work/tones"  # 3 speakers x 4 utterances of 1.5 s
data=$work/data
mkdir -p "$data"
grep -E '^(spk0-u0|spk1-u1|spk2-u2) ' "$work/tones/wav.scp" >"$data/wav.scp"
# and one of 3.3 s (CAM++'s 100-frame segment means: two segments after its stride 2, the last
# one partial)
run "long wav" "$py" - "$work/long.wav" <<'PY'
import sys, wave, numpy as np
t = np.arange(52800) / 16000.0
x = 0.3 * np.sin(2 * np.pi * 170 * t * (1 + 0.05 * t)) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
x += np.random.default_rng(3).normal(0, 0.02, t.size)
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
PY
echo "long $work/long.wav" >>"$data/wav.scp"
mapfile -t wavs < <(awk '{print $2}' "$data/wav.scp")

# compare_rel REF.npy OUT_DIR WHAT: OUT_DIR/embeddings.npy (rows in OUT_DIR/utts.txt order, the
# wav.scp order here) equals REF.npy to 1e-4 relative.
compare_rel() {
  run "$3 matches" "$py" - "$1" "$2" "$3" <<'PY'
import sys, numpy as np
ref, out = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2] + "/embeddings.npy")
assert ref.shape == out.shape, (ref.shape, out.shape)
rel = np.linalg.norm(out - ref, axis=1) / np.linalg.norm(ref, axis=1)
print(f"{sys.argv[3]}: max |speakernet - pytorch| / |pytorch| = {rel.max():.3g} "
      f"(dim {ref.shape[1]}, |emb| ~ {np.linalg.norm(ref, axis=1).mean():.3g})")
sys.exit(0 if rel.max() <= 1e-4 else 1)
PY
  cat "$work/last.out"
}

# import_and_compare NAME ARCH [REFERENCE OPTIONS...]
import_and_compare() {
  local name=$1 arch=$2
  shift 2
  run "$name: PyTorch release + reference" "$py" "$src/tests/lib/wespeaker_reference.py" "$arch" \
    "$work/rel_$name" "$work/ref_$name.npy" "${wavs[@]}" "$@"
  echo "   $(cat "$work/last.out")"
  run "$name: import" "$bin" import --wespeaker "$work/rel_$name" --out "$work/exp_$name"
  contains "$work/last.err" "WeSpeaker $arch" "import names the architecture"
  run "$name: extract" "$bin" extract --exp "$work/exp_$name" --data "$data" \
    --out "$work/emb_$name" --npy --threads 1
  compare_rel "$work/ref_$name.npy" "$work/emb_$name" "$name"
}

import_and_compare resnet34 ResNet34
contains "$work/exp_resnet34/config.yaml" "window_type: hamming" "WeSpeaker's window"
contains "$work/exp_resnet34/config.yaml" "type: wespeaker_resnet" "the model type"
import_and_compare resnet18_two_emb ResNet18 --two-emb-layer --embed-dim 128
import_and_compare ecapa_c512 ECAPA_TDNN_GLOB_c512
import_and_compare ecapa_c1024 ECAPA_TDNN_GLOB_c1024
import_and_compare campplus CAMPPlus

# --- the imported model is used like any other ----------------------------------------------
exp=$work/exp_resnet34
printf '%s\n' "spk0-u0 spk1-u1 nontarget" "spk1-u1 spk2-u2 nontarget" \
  "spk0-u0 spk0-u0 target" >"$work/trials"
run "score" "$bin" score --trials "$work/trials" --emb "$work/emb_resnet34/embeddings.npy" \
  --out "$work/scores"
equal "$(lines "$work/scores")" 3 "score lines"
run "score values" "$py" - "$work/scores" "$work/emb_resnet34" <<'PY'
import sys, numpy as np
e = np.load(sys.argv[2] + "/embeddings.npy"); e /= np.linalg.norm(e, axis=1, keepdims=True)
idx = {u: i for i, u in enumerate(open(sys.argv[2] + "/utts.txt").read().split())}
for line in open(sys.argv[1]):
    a, b, *rest = line.split()
    s = float(rest[-1])
    assert abs(s - e[idx[a]] @ e[idx[b]]) < 1e-4, line
PY
run "package" "$bin" package --exp "$exp" --out "$work/resnet34.snm"
run "extract with the package" "$bin" extract --exp "$work/resnet34.snm" --data "$data" \
  --out "$work/emb_pkg" --npy --threads 1
compare_rel "$work/ref_resnet34.npy" "$work/emb_pkg" "packaged resnet34"

# --- fine-tuning: the imported encoder, a fresh classifier for the tone corpus' 3 speakers ---
ft=(train --config "$exp/config.yaml" --data "$work/tones" --init-from "$exp/checkpoints/imported"
  --trainer.max_iters=2 --trainer.epochs=1 --trainer.ckpt_interval_minutes=0
  --loader.batch_size=4 --loader.chunk_seconds=0.5 --loader.num_workers=1 --runtime.threads=1
  --margin_schedule.enabled=false --lr_schedule.warmup_epoch=0 --optimizer.lr=0.01)
expect_failure "fine-tune, release classifier requested" "trainer.init_classifier=false" \
  "$bin" "${ft[@]}" --exp "$work/ft_bad" --trainer.init_classifier=true
run "fine-tune 2 iterations" "$bin" "${ft[@]}" --exp "$work/ft"
contains "$work/last.err" "fresh classifier" "fine-tuning starts a fresh classifier"
run "fine-tuned weights" "$py" - "$exp/checkpoints/imported/model.pt" "$work/ft" <<'PY'
import glob, sys, torch
imported = torch.load(sys.argv[1])
ckpts = sorted(glob.glob(sys.argv[2] + "/checkpoints/*/model.pt"))
assert ckpts, "no checkpoint"
tuned = torch.load(ckpts[-1])
assert tuned["loss.weight"].shape[0] == 3, tuned["loss.weight"].shape  # 3 new speakers
moved = [k for k in imported if not torch.equal(imported[k], tuned[k])]
assert "seg_1.weight" in moved and "conv1.weight" in moved, moved[:5]
print(f"{len(moved)} of {len(imported)} encoder tensors changed")
PY
cat "$work/last.out"

# --- errors name the culprit -----------------------------------------------------------------
cp -r "$work/rel_resnet34" "$work/rel_bad"
sed -i 's/^model: ResNet34/model: ERes2Net34/' "$work/rel_bad/config.yaml"
expect_error "unknown architecture" "model 'ERes2Net34' is not a supported" \
  "$bin" import --wespeaker "$work/rel_bad" --out "$work/exp_bad"
sed -i 's/^model: ERes2Net34/model: ResNet50/' "$work/rel_bad/config.yaml"
expect_error "weights of another architecture" "does not fit WeSpeaker's ResNet50" \
  "$bin" import --wespeaker "$work/rel_bad" --out "$work/exp_bad"
sed -i 's/^model: ResNet50/model: ResNet34/; s/^  two_emb_layer: false/  m_channels: 64/' \
  "$work/rel_bad/config.yaml"
expect_error "unknown model_args key" "unknown key 'model_args.m_channels'" \
  "$bin" import --wespeaker "$work/rel_bad" --out "$work/exp_bad"
expect_error "--wespeaker with --config" "drop --config/--in" \
  "$bin" import --wespeaker "$work/rel_resnet34" --config "$exp/config.yaml" --out "$work/x"
expect_error "nothing to import" "--wespeaker DIR" "$bin" import --out "$work/x"

echo "PASS: $checks checks in $((SECONDS - start)) s"
