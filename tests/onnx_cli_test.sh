#!/usr/bin/env bash
# ONNX export (`speakernet export --onnx`, docs/onnx.md) against real runtimes:
#   * waveform form: for every model family (SE-ResNet, bottleneck ResNet, ECAPA-TDNN, x-vector,
#     RepVGG deployed) and every pooling, with both front ends (fbank and kaldi_fbank, several of
#     their options), onnxruntime (onnxruntime-node) on wavs of several lengths gives `speakernet
#     extract`'s embeddings to 1e-4 relative (L2);
#   * features form: a model trained with sherpa-onnx's own fbank settings, run through
#     sherpa-onnx's SpeakerEmbeddingExtractor (sherpa-onnx-node, which computes the fbank
#     itself), gives speakernet extract's embeddings to 1e-3 relative;
#   * the features form of a model whose front end differs from sherpa-onnx's is refused with
#     the differences named.
# Models are tiny and trained for one epoch on a synthetic tone corpus (non-trivial BatchNorm
# statistics). The runtimes are npm packages installed into tests/node by tools/setup.sh.
#
#   bash tests/onnx_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs node with tests/node/node_modules and /usr/bin/python3 with numpy: exit 77 (skip)
# without them, but under CI=true a missing runtime is a failure.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init onnx_cli "$@"
cli_test_require_python numpy
export OMP_NUM_THREADS=1

cli_test_require_onnx_runtimes  # sets node_dir

# --- data: a training corpus and test wavs of several lengths ----------------------------------
cli_test_tone_corpus "$work/train"
run "test wavs" "$py" - "$work/test" <<'PY'
import os, sys, wave, numpy as np
d = sys.argv[1]; os.makedirs(d)
rng = np.random.default_rng(3)
with open(f"{d}/wav.scp", "w") as scp:
    for i, n in enumerate([4000, 9999, 16000, 24321, 40000]):
        t = np.arange(n) / 16000.0
        f0 = 120.0 + 40 * i
        x = 0.3 * np.sin(2 * np.pi * f0 * t * (1 + 0.05 * np.sin(3 * t))) + rng.normal(0, 0.03, n)
        path = f"{d}/len{n}.wav"
        with wave.open(path, "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
        scp.write(f"len{n} {path}\n")
PY

cli_test_tiny_train "$work/train" --trainer.epochs=1
sherpa_fbank=(--features.type=kaldi_fbank --features.kaldi.use_energy=false
  --features.kaldi.snip_edges=false --features.kaldi.high_freq=-400)
# name | training options
models=(
  "se_resnet|--model.resnet.se_ratio=4"
  "bottleneck_mrha|--model.resnet.block=bottleneck --model.pooling.type=multi_resolution --model.pooling.hidden_size=4 --features.type=kaldi_fbank --model.feat_dim=81"
  "ecapa|--model.type=ecapa --model.ecapa.channels=16 --model.ecapa.scale=4 --model.pooling.type=channel_context --model.pooling.hidden_size=8 --features.norm_var=true"
  "xvector|--model.type=xvector --model.pooling.type=statistics --features.type=kaldi_fbank --features.kaldi.use_energy=false --features.kaldi.window_type=hamming"
  "repvgg_sherpa|--model.type=repvgg --model.repvgg.name=RepVGG-A0 --model.repvgg.num_blocks=[1,1,1,1] --model.repvgg.planes=[4,8,8,8] --model.pooling.type=attentive --model.pooling.hidden_size=8 ${sherpa_fbank[*]}"
)

for entry in "${models[@]}"; do
  name=${entry%%|*}
  read -r -a extra <<<"${entry#*|}"
  exp=$work/exp_$name
  run "train $name" "$bin" train "${tiny[@]}" --exp "$exp" "${extra[@]}"
  run "extract $name" "$bin" extract --exp "$exp" --data "$work/test" --out "$work/ref_$name" \
    --npy --threads 1 --workers 0
  run "export $name (waveform)" "$bin" export --exp "$exp" --onnx "$work/$name.onnx"
  run "onnxruntime $name" node "$node_dir/embed.js" onnxruntime "$work/$name.onnx" \
    "$work/test/wav.scp" "$work/ort_$name.txt"
  run "onnxruntime == extract ($name)" "$py" "$src/tests/lib/compare_runtime_embeddings.py" \
    "$work/ref_$name" "$work/ort_$name.txt" 1e-4 "onnxruntime $name" "$work/test/wav.scp"
  cat "$work/last.out"
done

# --- features form through sherpa-onnx ---------------------------------------------------------
exp=$work/exp_repvgg_sherpa
run "export features form" "$bin" export --exp "$exp" --onnx "$work/sherpa.onnx" \
  --onnx-input features
contains "$work/last.err" "metadata feature_normalize_type: global-mean" "sherpa metadata"
run "sherpa-onnx" node "$node_dir/embed.js" sherpa-onnx "$work/sherpa.onnx" \
  "$work/test/wav.scp" "$work/sherpa.txt"
run "sherpa-onnx == extract" "$py" "$src/tests/lib/compare_runtime_embeddings.py" \
  "$work/ref_repvgg_sherpa" "$work/sherpa.txt" 1e-3 "sherpa-onnx repvgg" "$work/test/wav.scp"
cat "$work/last.out"

# A packaged model (.snm) exports the same graph: the same embeddings from onnxruntime.
run "package" "$bin" package --exp "$exp" --out "$work/repvgg.snm"
run "export from the package" "$bin" export --exp "$work/repvgg.snm" --onnx "$work/snm.onnx"
run "onnxruntime (package)" node "$node_dir/embed.js" onnxruntime "$work/snm.onnx" \
  "$work/test/wav.scp" "$work/ort_snm.txt"
cmp -s "$work/ort_snm.txt" "$work/ort_repvgg_sherpa.txt" || fail "the package's ONNX differs"
pass

# --- refusals ----------------------------------------------------------------------------------
expect_error "features form of a torchaudio-fbank model" "not the one sherpa-onnx computes" \
  "$bin" export --exp "$work/exp_se_resnet" --onnx "$work/no.onnx" --onnx-input features
contains "$work/last.err" "features.type is fbank" "the difference is named"
expect_failure "features form, Kaldi defaults" "features.kaldi.snip_edges is true" \
  "$bin" export --exp "$work/exp_bottleneck_mrha" --onnx "$work/no.onnx" --onnx-input features
[[ ! -e $work/no.onnx ]] || fail "a refused export left a file"
pass
run "features form forced" "$bin" export --exp "$work/exp_se_resnet" --onnx "$work/forced.onnx" \
  --onnx-input features --allow-frontend-mismatch
# ... and then sherpa-onnx feeds it other features: far from extract (the comparison can fail).
run "sherpa-onnx, mismatched front end" node "$node_dir/embed.js" sherpa-onnx "$work/forced.onnx" \
  "$work/test/wav.scp" "$work/forced.txt"
cli_test_exec "$py" "$src/tests/lib/compare_runtime_embeddings.py" "$work/ref_se_resnet" \
  "$work/forced.txt" 0.05 "sherpa-onnx, torchaudio-fbank model" &&
  fail "sherpa-onnx agreed with a model trained on another front end: $(cat "$work/last.out")"
pass
cat "$work/last.out"
expect_error "neither --out nor --onnx" "give --out (state dict) or --onnx" \
  "$bin" export --exp "$work/exp_se_resnet"

echo "onnx_cli_test: all $checks checks passed in $((SECONDS - start)) s"
