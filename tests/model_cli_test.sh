#!/usr/bin/env bash
# Checkpoint interop and model commands of the `speakernet` program, against PyTorch:
#  - import: Python writes speaker-net-style checkpoints with torch.save(OrderedDict) (names and
#    shapes from speaker-net's state-dict listings, random values, DDP "module." prefix,
#    extract_fbank.* buffers, _metadata) -> import -> torch.load(model.pt) has equal tensors;
#  - export -> plain torch.load -> equal tensors, and load_state_dict into a module built from
#    the listing accepts it;
#  - errors (missing, unexpected, mis-shaped key; legacy non-zip file) name the key / the file;
#  - convert --deploy (RepVGG-B1): extract before and after, embeddings within rel. L2 1e-5;
#  - train --init-from an imported checkpoint fine-tunes from its weights;
#  - model-info prints parameter counts with/without classifier and MACs per second, and the
#    re-parameterised RepVGG-B1 count with --deploy.
#
#   bash tests/model_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init model_cli "$@"
cli_test_require_python torch
export OMP_NUM_THREADS=1

listings=$src/src/speakernet/models/testdata
conf=$src/recipes/voxceleb/conf

# make_ckpt.py LISTING OUT [--prefix P] [--drop KEY] [--extra KEY] [--reshape KEY] [--legacy]
#              [--classes ROWS]
# A speaker-net checkpoint as torch.save(model.state_dict()) writes it: an OrderedDict with
# _metadata, in the listing's order. Values are random but well scaled (He-init convs, BN
# variances in [0.5, 1.5]) so that a forward pass through a deep trunk stays finite.
cat >"$work/make_ckpt.py" <<'EOF'
import argparse, collections, math, torch
p = argparse.ArgumentParser()
p.add_argument("listing"); p.add_argument("out"); p.add_argument("--prefix", default="")
p.add_argument("--drop"); p.add_argument("--extra"); p.add_argument("--reshape")
p.add_argument("--legacy", action="store_true"); p.add_argument("--seed", type=int, default=0)
p.add_argument("--classes", type=int, help="rows of loss.weight (classes x K)")
a = p.parse_args()
g = torch.Generator().manual_seed(a.seed)
sd = collections.OrderedDict()
for line in open(a.listing):
    if not line.strip() or line.startswith("#"):
        continue
    name, shape, dtype = line.rstrip("\n").split("\t")
    shape = tuple(eval(shape))
    if name == a.drop:
        continue
    if name == "loss.weight" and a.classes:
        shape = (a.classes,) + shape[1:]
    if name == a.reshape:
        shape = (shape[0] + 1,) + shape[1:]
    if dtype == "int64":
        t = torch.randint(0, 1000, shape, generator=g, dtype=torch.int64)
    elif name.endswith("running_var"):
        t = 0.5 + torch.rand(shape, generator=g)
    elif name.endswith("running_mean") or name.endswith(".bias"):
        t = 0.1 * torch.randn(shape, generator=g)
    elif len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        t = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)
    else:  # BN weights
        t = 0.5 + torch.rand(shape, generator=g)
    sd[a.prefix + name] = t
if a.extra:
    sd[a.prefix + a.extra] = torch.zeros(3)
sd._metadata = collections.OrderedDict([("", {"version": 1})])
torch.save(sd, a.out, _use_new_zipfile_serialization=not a.legacy)
EOF

# compare.py A B [--strip P] [--skip PREFIX] [--only-in-a-ok]: every entry of A (minus the
# skipped prefixes, with P stripped) equals B's, and B has no other key.
cat >"$work/compare.py" <<'EOF'
import sys, torch
a_path, b_path = sys.argv[1], sys.argv[2]
strip = sys.argv[3] if len(sys.argv) > 3 else ""
skip = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else []
a, b = torch.load(a_path), torch.load(b_path)
assert isinstance(b, dict), type(b)
want = {}
for k, v in a.items():
    k = k[len(strip):] if strip and k.startswith(strip) else k
    if any(k.startswith(s) for s in skip):
        continue
    want[k] = v
missing = sorted(set(want) - set(b)); extra = sorted(set(b) - set(want))
assert not missing and not extra, f"missing {missing[:5]} extra {extra[:5]}"
for k, v in want.items():
    assert b[k].dtype == v.dtype and b[k].shape == v.shape, (k, b[k].dtype, b[k].shape, v.shape)
    assert torch.equal(b[k], v), f"{k} differs"
print(f"{len(want)} tensors equal")
EOF

# --- import: ResNet34-c32, DDP-prefixed ----------------------------------------------------
run "make resnet34-32 checkpoint" $py "$work/make_ckpt.py" "$listings/resnet34-32.txt" \
  "$work/r34.ckpt" --prefix module.
run "import resnet34-32" "$bin" import --config "$conf/resnet34-32.yaml" --in "$work/r34.ckpt" \
  --out "$work/exp_r34"
[[ -f $work/exp_r34/config.yaml && -f $work/exp_r34/checkpoints/imported/model.pt &&
  -f $work/exp_r34/checkpoints/imported/state.yaml ]] || fail "import outputs"
pass
run "imported tensors equal (torch.load)" $py "$work/compare.py" "$work/r34.ckpt" \
  "$work/exp_r34/checkpoints/imported/model.pt" module. extract_fbank.
expect_failure "import into an existing experiment" "--force" \
  "$bin" import --config "$conf/resnet34-32.yaml" --in "$work/r34.ckpt" --out "$work/exp_r34"

# --- export ----------------------------------------------------------------------------------
run "export" "$bin" export --exp "$work/exp_r34" --out "$work/r34_export.ckpt"
run "exported tensors equal (torch.load)" $py "$work/compare.py" "$work/r34.ckpt" \
  "$work/r34_export.ckpt" module. extract_fbank.
cat >"$work/load_state_dict.py" <<'EOF'
# A torch.nn.Module with exactly the listing's parameters/buffers (minus extract_fbank.*
# unless --with-fbank) must accept the exported dict with strict load_state_dict.
import sys, torch
listing, path = sys.argv[1], sys.argv[2]
with_fbank = len(sys.argv) > 3 and sys.argv[3] == "--with-fbank"
root = torch.nn.Module()
for line in open(listing):
    if not line.strip() or line.startswith("#"):
        continue
    if line.startswith("extract_fbank.") and not with_fbank:
        continue
    name, shape, dtype = line.rstrip("\n").split("\t")
    *parents, leaf = name.split(".")
    m = root
    for part in parents:
        if not hasattr(m, part):
            m.add_module(part, torch.nn.Module())
        m = getattr(m, part)
    t = torch.zeros(eval(shape), dtype=torch.int64 if dtype == "int64" else torch.float32)
    m.register_buffer(leaf, t)
root.load_state_dict(torch.load(path), strict=True)
print("load_state_dict(strict=True) ok")
EOF
run "export loads with load_state_dict(strict=True)" $py "$work/load_state_dict.py" \
  "$listings/resnet34-32.txt" "$work/r34_export.ckpt"
run "export --fbank-buffers" "$bin" export --exp "$work/exp_r34" --out "$work/r34_fbank.ckpt" \
  --fbank-buffers
run "fbank buffers equal torchaudio's MelSpectrogram (spec §1.5)" $py -c "
import sys, torch, torchaudio
sd = torch.load(sys.argv[1])
ref = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400,
    hop_length=160, f_min=0.0, f_max=None, n_mels=80, window_fn=torch.hamming_window).state_dict()
assert len(ref) == 2, sorted(ref)
for k, v in ref.items():
    got = sd['extract_fbank.mel_spec_extractor.' + k]
    assert got.shape == v.shape and torch.allclose(got, v, atol=1e-6), k
" "$work/r34_fbank.ckpt"
run "export --fbank-buffers loads with strict=True incl. extract_fbank.*" $py \
  "$work/load_state_dict.py" "$listings/resnet34-32.txt" "$work/r34_fbank.ckpt" --with-fbank
run "export --no-classifier --ddp-prefix" "$bin" export --exp "$work/exp_r34" \
  --out "$work/r34_export_ddp.ckpt" --no-classifier --ddp-prefix
run "export --ddp-prefix keys" $py -c "
import sys, torch
sd = torch.load(sys.argv[1])
assert all(k.startswith('module.') for k in sd), 'prefix'
assert 'module.loss.weight' not in sd and 'module.fc2.affine.weight' in sd
" "$work/r34_export_ddp.ckpt"

# --- import: ECAPA-c512 without prefix ------------------------------------------------------
run "make ecapa-c512 checkpoint" $py "$work/make_ckpt.py" \
  "$listings/ecapa-tdnn-c512_sgd.txt" "$work/ecapa.ckpt" --seed 1
run "import ecapa-c512" "$bin" import --config "$conf/ecapa-tdnn-c512.yaml" \
  --in "$work/ecapa.ckpt" --out "$work/exp_ecapa"
run "imported ECAPA tensors equal" $py "$work/compare.py" "$work/ecapa.ckpt" \
  "$work/exp_ecapa/checkpoints/imported/model.pt" "" extract_fbank.

# --- import errors name the key ---------------------------------------------------------------
run "make checkpoint without a key" $py "$work/make_ckpt.py" "$listings/resnet34-32.txt" \
  "$work/missing.ckpt" --drop resnet.layer3.2.conv1.weight
expect_failure "missing key" "missing key 'resnet.layer3.2.conv1.weight'" \
  "$bin" import --config "$conf/resnet34-32.yaml" --in "$work/missing.ckpt" --out "$work/e1"
run "make checkpoint with an extra key" $py "$work/make_ckpt.py" "$listings/resnet34-32.txt" \
  "$work/extra.ckpt" --extra stats.attention.bogus
expect_failure "unexpected key" "unexpected key 'stats.attention.bogus'" \
  "$bin" import --config "$conf/resnet34-32.yaml" --in "$work/extra.ckpt" --out "$work/e2"
run "make checkpoint with a mis-shaped key" $py "$work/make_ckpt.py" \
  "$listings/resnet34-32.txt" "$work/shape.ckpt" --reshape fc2.affine.weight
expect_failure "mis-shaped key" "key 'fc2.affine.weight' has shape (257, 5120, 1)" \
  "$bin" import --config "$conf/resnet34-32.yaml" --in "$work/shape.ckpt" --out "$work/e3"
run "make legacy checkpoint" $py "$work/make_ckpt.py" "$listings/resnet34-32.txt" \
  "$work/legacy.ckpt" --legacy
expect_failure "legacy (non-zip) file" "legacy.ckpt" \
  "$bin" import --config "$conf/resnet34-32.yaml" --in "$work/legacy.ckpt" --out "$work/e4"
expect_failure "wrong model for the checkpoint" "the model expects (512, 10240, 1)" \
  "$bin" import --config "$conf/resnet34-64.yaml" --in "$work/r34.ckpt" --out "$work/e5"
[[ ! -e $work/e1/config.yaml && ! -e $work/e5/config.yaml ]] || fail "a failed import wrote output"
pass

# --- convert --deploy (RepVGG-B1): embeddings before and after -------------------------------
mkdir -p "$work/data"
$py - "$work/data" <<'EOF' || fail "writing test audio"
import math, random, struct, sys, wave
d = sys.argv[1]
random.seed(5)
with open(f"{d}/wav.scp", "w") as scp:
    for u in range(2):
        path = f"{d}/utt{u}.wav"
        n = 16000 * (2 + u)
        with wave.open(path, "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
            f0 = 120 + 60 * u
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * f0 * i / 16000 * (1 + 0.1 * math.sin(i / 4000))) + random.gauss(0, 300))) for i in range(n)))
        scp.write(f"utt{u} {path}\n")
EOF
run "make repvgg-B1 checkpoint" $py "$work/make_ckpt.py" "$listings/repvgg-B1.txt" \
  "$work/repvgg.ckpt" --seed 2
run "import repvgg-B1" "$bin" import --config "$conf/repvgg-B1.yaml" --in "$work/repvgg.ckpt" \
  --out "$work/exp_repvgg"
run "extract (train-time graph)" "$bin" extract --exp "$work/exp_repvgg" --data "$work/data" \
  --out "$work/emb_train" --npy --device cpu --threads 1
run "convert --deploy" "$bin" convert --deploy --exp "$work/exp_repvgg" \
  --out "$work/exp_repvgg_deploy"
contains "$work/exp_repvgg_deploy/config.yaml" "deploy: true" "deployed config"
run "model-info of the deployed config" "$bin" model-info \
  --config "$work/exp_repvgg_deploy/config.yaml"
contains "$work/last.out" "25,053,248" "deployed parameter count (spec §3.8)"
run "extract (deployed graph)" "$bin" extract --exp "$work/exp_repvgg_deploy" \
  --data "$work/data" --out "$work/emb_deploy" --npy --device cpu --threads 1
run "deployed embeddings match (rel. L2 <= 1e-5)" $py -c "
import sys, numpy as np
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
assert a.shape == b.shape and a.shape[0] == 2, (a.shape, b.shape)
assert np.all(np.isfinite(a)) and np.linalg.norm(a) > 0
for i in range(a.shape[0]):
    rel = np.linalg.norm(a[i] - b[i]) / np.linalg.norm(a[i])
    print(f'utt{i}: rel L2 {rel:.2e}')
    assert rel <= 1e-5, rel
assert np.linalg.norm(a[0] - a[1]) / np.linalg.norm(a[0]) > 1e-3, 'embeddings do not depend on the input'
" "$work/emb_train/embeddings.npy" "$work/emb_deploy/embeddings.npy"
expect_failure "convert a non-RepVGG experiment" "only repvgg" \
  "$bin" convert --deploy --exp "$work/exp_r34" --out "$work/e6"

# --- fine-tuning from an imported checkpoint (train --init-from) ---------------------------------
mkdir -p "$work/ft_data"
$py - "$work/ft_data" <<'EOF' || fail "writing training audio"
import math, random, struct, sys, wave
d = sys.argv[1]
random.seed(1)
with open(f"{d}/wav.scp", "w") as scp, open(f"{d}/utt2spk", "w") as u2s:
    for s in range(2):
        for u in range(2):
            utt = f"spk{s}-utt{u}"
            with wave.open(f"{d}/{utt}.wav", "wb") as w:
                w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
                f0 = 110 + 80 * s + 10 * u
                w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * f0 * i / 16000) + random.gauss(0, 500))) for i in range(32000)))
            scp.write(f"{utt} {d}/{utt}.wav\n"); u2s.write(f"{utt} spk{s}\n")
EOF
# 2 speakers x K 3 = 6 classifier rows.
run "make resnet34-32 checkpoint with 6 classes" $py "$work/make_ckpt.py" \
  "$listings/resnet34-32.txt" "$work/r34_6.ckpt" --classes 6 --seed 4
run "import for fine-tuning" "$bin" import --config "$conf/resnet34-32.yaml" \
  --in "$work/r34_6.ckpt" --out "$work/exp_r34_6"
run "train --init-from the imported checkpoint" "$bin" train --config "$conf/resnet34-32.yaml" \
  --data "$work/ft_data" --exp "$work/exp_ft" --init-from "$work/exp_r34_6/checkpoints/imported" \
  --device cpu --trainer.epochs=1 --loader.batch_size=2 --loader.chunk_seconds=1.0 \
  --loader.num_workers=1 --margin_schedule.enabled=false --lr_schedule.warmup_epoch=0 \
  --runtime.threads=1 --trainer.amp=false --loader.chunking=random --loader.validation_speakers=0 \
  --loader.augment.mode=none --loader.amp_th=0
contains "$work/last.err" "initialised model and classifier from" "train --init-from log"
run "fine-tuned weights start from the imported ones" $py -c "
import glob, sys, torch
src = torch.load(sys.argv[1])
ckpt = sorted(glob.glob(sys.argv[2] + '/checkpoints/*/model.pt'))[-1]
got = torch.load(ckpt)
for k in ['resnet.conv1.weight', 'fc2.affine.weight', 'loss.weight']:
    a, b = src['module.' + k] if 'module.' + k in src else src[k], got[k]
    rel = float((a - b).norm() / a.norm())
    print(k, 'rel change', rel)
    assert rel < 0.3, (k, rel)  # a fresh initialisation would differ by ~1.4
" "$work/r34_6.ckpt" "$work/exp_ft"

# --- model-info ------------------------------------------------------------------------------
run "model-info resnet34-32" "$bin" model-info --config "$conf/resnet34-32.yaml"
contains "$work/last.out" "parameters (without classifier): 6636448" "spec §3.8 count"
# 6,636,448 + the loss weight 17982 * 3 * 256 = 13,810,176 (spec §3.8)
contains "$work/last.out" "parameters (with classifier, 17982 classes x K 3): 20446624" \
  "count with classifier"
# Hand-derived in models/mac_count_test.cpp (ResNet34C32MatchesHandDerivedCount).
contains "$work/last.out" "MACs per 100 frames (1 s of audio): 2281024000" "ResNet34-c32 MACs"
# --deploy: the re-parameterised RepVGG graph straight from the recipe config (spec §3.6)
run "model-info --deploy repvgg-B1" "$bin" model-info --config "$conf/repvgg-B1.yaml" --deploy
contains "$work/last.out" "parameters (without classifier): 25053248" "deployed RepVGG-B1 count"
run "model-info repvgg-B1" "$bin" model-info --config "$conf/repvgg-B1.yaml"
contains "$work/last.out" "parameters (without classifier): 27291904" "train-time RepVGG-B1 count"
expect_error "model-info --deploy of a ResNet" "only repvgg is re-parameterised" \
  "$bin" model-info --config "$conf/resnet34-32.yaml" --deploy

echo "PASS: $checks checks in $((SECONDS - start)) s"
