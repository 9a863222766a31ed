#!/usr/bin/env bash
# Command-line test of `speakernet compute-vad` on a synthetic signal whose answer is known by
# construction: 1 s of faint noise, 1 s of a loud tone, 1 s of faint noise (16 kHz). With
# Kaldi's defaults the threshold is 5 + 0.5 * mean(log energy), about 12, between the noise
# frames' log energy (about 8.5) and the tone frames' (about 23.7), so every 25 ms frame lying
# wholly inside the tone must be voiced and every frame wholly inside the noise unvoiced.
# The ark/scp is parsed here with plain Python (Kaldi binary float-vector layout), not with
# speakernet's reader. Also checks that a bad option is an error naming it.
#
# Then speaker-net's other wav.scp forms (spec section 2.1): compute-fbank on a data dir whose
# entries are `utt path start end` (sample ranges) and `utt sox f1 f2 ... -t wav - |` (multi-file
# utterances) must write byte-identical features to the same on wavs cut and joined here in
# Python, and a range past the end of its file is an error naming wav.scp:line.
#
#   bash tests/data_cli_test.sh SPEAKERNET_BINARY [SOURCE_DIR]
# Needs /usr/bin/python3 with numpy; exit 77 (skip) without.
set -uo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib/cli_test_lib.sh"
cli_test_init data_cli "$@"
cli_test_require_python numpy

mkdir -p "$work/data"
$py - "$work" <<'PY' || fail "could not write the synthetic data"
import sys, wave, numpy as np
work = sys.argv[1]
rng = np.random.default_rng(5)
sr = 16000
t = np.arange(sr) / sr
for name, tone_amp in (("a", 0.3), ("b", 0.5)):
    x = np.concatenate([rng.normal(0, 1e-4, sr), tone_amp * np.sin(2 * np.pi * 440 * t),
                        rng.normal(0, 1e-4, sr)])
    pcm = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2")
    with wave.open(f"{work}/{name}.wav", "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr); w.writeframes(pcm.tobytes())
with open(f"{work}/data/wav.scp", "w") as f:
    for name in ("a", "b"):
        f.write(f"utt_{name} {work}/{name}.wav\n")
PY

run "compute-vad" "$bin" compute-vad --data "$work/data" --out "$work/vad"
for f in vad.ark vad.scp vad.yaml; do [[ -s $work/vad/$f ]] || fail "missing $f"; done

$py - "$work/vad" <<'PY' || fail "VAD decisions are wrong"
import struct, sys
import numpy as np
out = sys.argv[1]
lines = open(f"{out}/vad.scp").read().split("\n")
entries = [l.split() for l in lines if l.strip()]
assert [k for k, _ in entries] == ["utt_a", "utt_b"], entries
for key, spec in entries:
    path, off = spec.rsplit(":", 1)
    with open(path, "rb") as f:
        f.seek(int(off))
        assert f.read(2) == b"\0B", "binary marker"
        assert f.read(3) == b"FV ", "float vector token"
        size, dim = struct.unpack("<bi", f.read(5))
        assert size == 4
        v = np.frombuffer(f.read(4 * dim), dtype="<f4")
    # 48000 samples, 400-sample frames every 160: (48000 - 400) // 160 + 1 = 298 frames.
    assert dim == 298, dim
    assert set(np.unique(v)) <= {0.0, 1.0}, np.unique(v)
    # Frame t covers [160 t, 160 t + 400): wholly in the tone [16000, 32000) for 100 <= t <= 197,
    # wholly in noise for t <= 97 and t >= 200.
    assert v[100:198].all(), (key, np.nonzero(v[100:198] == 0))
    assert not v[:98].any() and not v[200:].any(), (key, np.nonzero(v)[0])
print("vad ok")
PY

expect_failure "a proportion threshold of 1.5" "vad_proportion_threshold" \
  "$bin" compute-vad --data "$work/data" --out "$work/vad2" --vad-proportion-threshold 1.5

# ---- `path start end` and `sox f1 f2 ... -t wav - |` entries equal pre-cut / pre-joined wavs.
cli_test_tone_corpus "$work/tones"
$py - "$work" <<'PY' || fail "could not write the range / multi-file data dirs"
import os, sys, wave, numpy as np
work = sys.argv[1]
def read(path):
    with wave.open(path, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
def write(path, x):
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(x.tobytes())
tones = f"{work}/tones"
utts = [l.split() for l in open(f"{tones}/wav.scp")]
os.makedirs(f"{work}/forms"); os.makedirs(f"{work}/plain"); os.makedirs(f"{work}/pieces")
with open(f"{work}/forms/wav.scp", "w") as forms, open(f"{work}/plain/wav.scp", "w") as plain:
    for i, (utt, path) in enumerate(utts):
        x = read(path)  # 24000 samples
        # A different range per utterance, including the whole file and one ending at its end.
        start, end = [(0, 24000), (1000, 17000), (8000, 24000), (123, 20123)][i % 4]
        forms.write(f"{utt}-r {path} {start} {end}\n")
        write(f"{work}/pieces/{utt}-r.wav", x[start:end])
        plain.write(f"{utt}-r {work}/pieces/{utt}-r.wav\n")
    for k in range(3):  # multi-file utterances of 2 or 3 tone files
        files = [p for _, p in utts[k::4]][: 2 + k % 2]
        forms.write(f"cat{k} sox {' '.join(files)} -t wav - |\n")
        write(f"{work}/pieces/cat{k}.wav", np.concatenate([read(p) for p in files]))
        plain.write(f"cat{k} {work}/pieces/cat{k}.wav\n")
PY
run "compute-fbank, range and multi-file forms" \
  "$bin" compute-fbank --data "$work/forms" --out "$work/fbank_forms"
run "compute-fbank, pre-cut wavs" "$bin" compute-fbank --data "$work/plain" --out "$work/fbank_plain"
[[ $(lines "$work/fbank_forms/feats.scp") == 15 ]] || fail "expected 15 utterances in feats.scp"
cmp -s "$work/fbank_forms/feats.ark" "$work/fbank_plain/feats.ark" ||
  fail "features of the range / multi-file entries differ from those of the pre-cut wavs"
pass

mkdir -p "$work/bad"
first=$(head -n 1 "$work/tones/wav.scp")
{ echo "$first"; echo "late ${first#* } 1000 24001"; } >"$work/bad/wav.scp"
expect_error "a sample range past the end of its file" "$work/bad/wav.scp:2" \
  "$bin" compute-fbank --data "$work/bad" --out "$work/fbank_bad"
contains "$work/last.err" "ends beyond the end of" "range error"
echo "PASS: data_cli_test"
