#!/usr/bin/env bash
# Command-line test of the training front end (`features.type: kaldi_fbank`) and the classifier
# loss (`loss.method: softmax`) on a tiny synthetic corpus (3 speakers x 4 tones in noise) and a
# tiny ResNet:
#   * kaldi_fbank with speaker-net's resnet101.yaml options (80 mel bins + log energy = 81-d
#     input): a run stopped after 3 steps and resumed gives a final model.pt bit-identical to an
#     uninterrupted run; `extract` uses the experiment's Kaldi front end: its embeddings equal
#     those of an independent PyTorch model (src/speakernet/models/testdata/resnet_reference.py)
#     loaded from `export` and fed torchaudio.compliance.kaldi.fbank features (+ CMN);
#   * the same with an 80-d Kaldi front end (no energy, Hamming window, low_freq 60): both front
#     ends give 80 rows here, so only the values tell them apart; the extracted embeddings equal
#     the Kaldi reference and are far from those of the same model fed speaker-net's default
#     fbank (torchaudio MelSpectrogram), so an extractor that silently used the other front end
#     (or default Kaldi options) fails;
#   * softmax with label smoothing: resume is bit-identical, the checkpoint holds speaker-net's
#     loss.affine.weight [3, 16] / loss.affine.bias [3], the logged margin is 0, validation runs,
#     training reduces the loss, `extract` works, `--init-from` fine-tunes from it, and an
#     am-loss run refuses it naming loss.weight;
#   * model-info names the front end and counts the softmax classifier.
#
#   bash tests/frontend_loss_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs /usr/bin/python3 with numpy, torch and torchaudio; exit 77 (skip) without.
set -uo pipefail
export LC_ALL=C
export OMP_NUM_THREADS=1

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_tail=30
cli_test_init frontend_loss_cli "$@"
cli_test_require_python numpy torch torchaudio

data=$work/data
cli_test_tone_corpus "$data"
cli_test_tiny_train "$data"

# train_resume NAME EXTRA...: NAME/full uninterrupted; NAME/split stopped after 3 steps, then
# resumed; their final model.pt must be bit-identical (compared with torch).
train_resume() {
  local name=$1
  shift
  run "$name: train" "$bin" train --exp "$work/$name/full" "${tiny[@]}" "$@"
  run "$name: train, stopped after 3 steps" "$bin" train --exp "$work/$name/split" "${tiny[@]}" \
    "$@" --trainer.max_iters=3
  run "$name: train --resume" "$bin" train --exp "$work/$name/split" --data "$data" --resume \
    --trainer.max_iters=0
  contains "$work/$name/split/train.log" "resumed from" "$name: resume logged"
  run "$name: resumed == uninterrupted" $py "$src/tests/lib/same_state_dicts.py" \
    "$work/$name/full/checkpoints/epoch-2/model.pt" "$work/$name/split/checkpoints/epoch-2/model.pt"
}

# extract_export NAME FEATURES: embeddings (.npy) of the whole corpus with NAME/full, whose log
# must name FEATURES, and its model as a state dict without the classifier.
extract_export() {
  local name=$1
  run "$name: extract" "$bin" extract --exp "$work/$name/full" --data "$data" \
    --out "$work/$name/emb" --npy --threads 1 --workers 0
  contains "$work/last.err" "features $2" "$name: extract logs its front end"
  run "$name: export" "$bin" export --exp "$work/$name/full" --out "$work/$name/model.pt" \
    --no-classifier
}

# --- kaldi_fbank, speaker-net's resnet101.yaml options (81-d) ----------------------------------
kaldi81=(--features.type=kaldi_fbank --model.feat_dim=81)
expect_error "kaldi_fbank without the model dimension" "must equal the front end's feature dimension 81" \
  "$bin" train --exp "$work/bad" "${tiny[@]}" --features.type=kaldi_fbank
train_resume kaldi81 "${kaldi81[@]}"
contains "$work/kaldi81/full/config.yaml" "type: kaldi_fbank" "the experiment remembers its front end"
extract_export kaldi81 "kaldi_fbank (81-d)"

# --- kaldi_fbank, 80-d (no energy), non-default options --------------------------------------
kaldi80=(--features.type=kaldi_fbank --features.kaldi.use_energy=false
  --features.kaldi.window_type=hamming --features.kaldi.low_freq=60 --trainer.epochs=1)
run "kaldi80: train" "$bin" train --exp "$work/kaldi80/full" "${tiny[@]}" "${kaldi80[@]}"
extract_export kaldi80 "kaldi_fbank (80-d)"

# Reference embeddings: torchaudio features -> the independent PyTorch ResNet.
cat >"$work/reference.py" <<'EOF'
import sys, wave
import numpy as np, torch, torchaudio
sys.path.insert(0, sys.argv[1])
import resnet_reference as ref

work, data = sys.argv[2], sys.argv[3]
torch.set_num_threads(1)
wavs = dict(line.split() for line in open(f"{data}/wav.scp"))

def read(path):
    with wave.open(path) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return torch.from_numpy(x).unsqueeze(0)

def kaldi(x, **opts):  # [dim, frames], CMN
    f = torchaudio.compliance.kaldi.fbank(x * 32768, num_mel_bins=80, dither=0.0,
                                          energy_floor=0.0, sample_frequency=16000,
                                          snip_edges=True, **opts)
    return (f - f.mean(0)).t()

mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=512, win_length=400, hop_length=160,
                                           n_mels=80, window_fn=torch.hamming_window)
def fbank(x):  # speaker-net's default front end: pre-emphasis, log mel, CMN
    y = torch.cat([x[:, :1], x[:, 1:] - 0.97 * x[:, :-1]], 1)
    f = torch.log(mel(y)[0] + 1e-6)
    return f - f.mean(1, keepdim=True)

def embeddings(name, feats, feat_dim):
    model = ref.Model([1, 1, 1, 1], [4, 8, 8, 8], feat_dim, "multi_head", 2, 16, 0.5, 0.5)
    model.load_state_dict(torch.load(f"{work}/{name}/model.pt"))
    model.eval()
    utts = open(f"{work}/{name}/emb/utts.txt").read().split()
    with torch.no_grad():
        return np.stack([model(feats(read(wavs[u])).unsqueeze(0))[0].numpy() for u in utts])

np.save(f"{work}/kaldi81/ref.npy", embeddings(
    "kaldi81", lambda x: kaldi(x, use_energy=True, window_type="povey", low_freq=20,
                               high_freq=0, raw_energy=True, remove_dc_offset=True), 81))
np.save(f"{work}/kaldi80/ref.npy", embeddings(
    "kaldi80", lambda x: kaldi(x, use_energy=False, window_type="hamming", low_freq=60), 80))
np.save(f"{work}/kaldi80/ref_fbank.npy", embeddings("kaldi80", fbank, 80))
np.save(f"{work}/kaldi80/ref_default_kaldi.npy", embeddings(
    "kaldi80", lambda x: kaldi(x, use_energy=False, window_type="povey", low_freq=20), 80))
EOF
run "reference embeddings (torchaudio kaldi fbank -> PyTorch ResNet)" $py "$work/reference.py" \
  "$src/src/speakernet/models/testdata" "$work" "$data"
close=$src/tests/lib/close_embeddings.py
run "kaldi81: extracted == torchaudio kaldi reference" $py "$close" \
  "$work/kaldi81/ref.npy" "$work/kaldi81/emb/embeddings.npy" 1e-4 1e-6 "extracted - reference"
cat "$work/last.out"
run "kaldi80: extracted == torchaudio kaldi reference" $py "$close" \
  "$work/kaldi80/ref.npy" "$work/kaldi80/emb/embeddings.npy" 1e-4 1e-6 "extracted - reference"
cat "$work/last.out"
# The check can fail: the other front end, or Kaldi's default options, give other embeddings.
for other in ref_fbank ref_default_kaldi; do
  cli_test_must_fail "kaldi80: $other differs" $py "$close" \
    "$work/kaldi80/$other.npy" "$work/kaldi80/emb/embeddings.npy" 1e-2 1e-3 "$other - extracted"
  cat "$work/last.out"
  pass
done

# --- softmax with label smoothing ------------------------------------------------------------
softmax=(--loss.method=softmax --loss.label_smoothing=0.1 --loader.validation_speakers=2
  --loader.validation_chunks_per_speaker=1 --loader.validation_batch_size=2 --trainer.epochs=2)
train_resume softmax "${softmax[@]}"
cat >"$work/softmax_check.py" <<'EOF'
import csv, sys, torch
exp = sys.argv[1]
sd = torch.load(f"{exp}/checkpoints/epoch-2/model.pt")
cls = {k: tuple(v.shape) for k, v in sd.items() if k.startswith("loss.")}
assert cls == {"loss.affine.weight": (3, 16), "loss.affine.bias": (3,)}, cls
rows = list(csv.DictReader(open(f"{exp}/train_log.csv")))
assert all(float(r["margin_fraction"]) == 0 for r in rows), "softmax logged a margin"
first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
assert last < first, (first, last)
valid = list(csv.DictReader(open(f"{exp}/valid_log.csv")))
assert len(valid) == 2 and all(float(r["valid_loss"]) > 0 for r in valid), valid
print(f"classifier {cls}; train loss {first:.4f} -> {last:.4f}; valid {valid[-1]['valid_loss']}")
EOF
run "softmax: classifier names, no margin, loss falls, validation" $py "$work/softmax_check.py" \
  "$work/softmax/full"
cat "$work/last.out"
run "softmax: extract" "$bin" extract --exp "$work/softmax/full" --data "$data" \
  --out "$work/softmax/emb" --threads 1 --workers 0
equal "$(lines "$work/softmax/emb/embeddings.scp")" 12 "softmax: every utterance embedded"
ckpt=$work/softmax/full/checkpoints/epoch-2
run "softmax: train --init-from" "$bin" train --exp "$work/softmax/ft" "${tiny[@]}" \
  "${softmax[@]}" --trainer.epochs=1 --init-from "$ckpt"
contains "$work/softmax/ft/train.log" "initialised model and classifier from" "init-from logged"
expect_failure "am run from a softmax checkpoint" "missing key 'loss.weight'" \
  "$bin" train --exp "$work/softmax/ft_am" "${tiny[@]}" --trainer.epochs=1 --init-from "$ckpt"
contains "$work/last.err" "unexpected key 'loss.affine.weight'" "the softmax keys are named"

# --- model-info --------------------------------------------------------------------------------
run "model-info, kaldi_fbank + softmax" "$bin" model-info --config "$src/recipes/demo/config.yaml" \
  "${tiny[@]:4}" "${kaldi81[@]}" --loss.method=softmax --num-classes 10
contains "$work/last.out" "features: kaldi_fbank (81-d)" "model-info names the front end"
params=$(sed -n 's/^parameters (without classifier): //p' "$work/last.out")
contains "$work/last.out" "parameters (with classifier, 10 classes, softmax): $((params + 10 * 17))" \
  "softmax classifier count (10 x 16 weights + 10 biases)"

echo "PASS: $checks checks in $((SECONDS - start)) s"
