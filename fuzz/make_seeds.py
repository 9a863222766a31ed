#!/usr/bin/python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (small valid and edge-case inputs).

Run from the repository root with Debian's python3 (numpy, torch) and sox installed:
    /usr/bin/python3 fuzz/make_seeds.py
The model_package seed is a real .snm made by the speakernet binary: fuzz/make_snm_seed.sh.
"""
import io
import os
import struct
import subprocess
import tempfile

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sections(*parts):
    return "\n@@\n".join(parts)


def trials():
    put("trials", "voxceleb", sections("1 a b\n0 a c\n1 b c\n", "a b 0.5\na c -0.25\nb c 1e-3\n"))
    put("trials", "kaldi", sections("a b target\na c nontarget\n\n", "a b 0.5 target\na c 0.1 nontarget\n"))
    put("trials", "unlabelled", sections("a b\nc d\n", "a b nan\nc d -inf\n"))
    put("trials", "errors", sections("2 a b\nx\n", "a b notanumber\na b 1\na b 2\n"))


def ark_entry_vector(key, values, double=False):
    token = b"DV " if double else b"FV "
    fmt = "<%d%s" % (len(values), "d" if double else "f")
    return key.encode() + b" \0B" + token + b"\4" + struct.pack("<i", len(values)) + struct.pack(fmt, *values)


def ark_entry_matrix(key, rows, cols, double=False):
    token = b"DM " if double else b"FM "
    n = rows * cols
    fmt = "<%d%s" % (n, "d" if double else "f")
    return (key.encode() + b" \0B" + token + b"\4" + struct.pack("<i", rows) + b"\4" +
            struct.pack("<i", cols) + struct.pack(fmt, *[0.25 * i for i in range(n)]))


def kaldi():
    a = ark_entry_vector("u1", [1.0, 2.0, 3.0])
    b = ark_entry_vector("u2", [0.5, -1.0, 2.5], double=True)
    c = ark_entry_matrix("u3", 1, 3)
    ark = a + b + c
    scp = "u1 @ARK:3\nu2 @ARK:%d\nu3 @ARK:%d\n" % (len(a) + 3, len(a) + len(b) + 3)
    put("kaldi", "binary", ark + b"\n@@\n" + scp.encode())
    put("kaldi", "matrix", ark_entry_matrix("m", 2, 2, double=True))
    put("kaldi", "text", "t1  [ 1 2 3 ]\nt2 [\n 1 2\n 3 4 ]\n")
    put("kaldi", "keyless", b"\0BFV \4" + struct.pack("<i", 2) + struct.pack("<2f", 1, 2))


def npy():
    def save(arr):
        buf = io.BytesIO()
        np.save(buf, arr)
        return buf.getvalue()
    put("npy", "f4_2d", save(np.arange(6, dtype="<f4").reshape(2, 3)) + b"\n@@\nu1\nu2 x\n")
    put("npy", "f8_1d", save(np.array([1.0, -2.0, 3.5], dtype="<f8")))
    put("npy", "fortran", save(np.asfortranarray(np.arange(6, dtype="<f4").reshape(3, 2))))
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones((2, 2), dtype="<f4"), version=(2, 0))
    put("npy", "v2", buf.getvalue())
    put("npy", "scalar", save(np.float32(1.5)))


def config():
    put("config", "basic", "epochs: 3\nsteps: 12\nmargin: 0.3\namp: true\nmethod: sgd\n"
        "milestones: [0.1, 0.2]\nnames: [a, b]\ninner: {rate: 0.25, sizes: [1, 2], name: x}\n"
        "@@\n--inner.rate=0.5\n--other.sizes=[7]\n--names\n[c]\n")
    put("config", "nested", "other:\n  rate: 1\n  sizes: []\n# comment\nepochs: 0x10\n")
    put("config", "anchors", "inner: &i {rate: 0.5}\nother: *i\nnames: !!seq [a]\n")
    put("config", "errors", "unknown: 1\ninner: [1, 2]\n? [a, b]\n: 3\n")


def audio():
    tmp = tempfile.mkdtemp()
    specs = [("wav16", ["-r", "16000", "-b", "16", "-c", "1"], "wav", "0.01"),
             ("wav8k_stereo_float", ["-r", "8000", "-e", "floating-point", "-b", "32", "-c", "2"], "wav", "0.01"),
             ("flac", ["-r", "16000", "-b", "16", "-c", "1"], "flac", "0.01"),
             ("ogg", ["-r", "16000", "-c", "1"], "ogg", "0.05"),
             ("wav24_44k", ["-r", "44100", "-b", "24", "-c", "1"], "wav", "0.005")]
    for name, opts, ext, dur in specs:
        out = os.path.join(tmp, name + "." + ext)
        subprocess.run(["sox", "-n"] + opts + [out, "synth", dur, "sine", "440"], check=True)
        with open(out, "rb") as f:
            put("audio", name, f.read())


def data_dir():
    put("data_dir", "plain", sections("u1 a.wav\nu2 b.flac\n", "", "u1 s1\nu2 s2\n", "", "u1 1.5\nu2 2\n", "u1 en\nu2 de\n"))
    put("data_dir", "segments", sections("r1 r1.wav\nr2 sox x.wav y.wav -t wav - |\n",
                                         "s1 r1 0.0 1.5\ns2 r1 1.5 3\ns3 r2 0 0.5\n",
                                         "", "spkA s1 s2\nspkB s3\n"))
    put("data_dir", "ranges", sections("u1 a.wav 0 16000\nu2 a.wav 16000 32000\n", "", "u1 s\nu2 s\n"))
    put("data_dir", "errors", sections("u1 a.wav\nu1 b.wav\n", "s1 r9 2 1\n", "u1\n", "", "u1 -1\n"))


def torch_save():
    def save(obj, **kw):
        buf = io.BytesIO()
        torch.save(obj, buf, **kw)
        return buf.getvalue()
    sd = torch.nn.Linear(3, 2).state_dict()
    put("torch_save", "state_dict", save(sd))
    put("torch_save", "wrapped", save({"state_dict": {"w": torch.arange(4.0)}, "epoch": 3}))
    put("torch_save", "dtypes", save({"h": torch.ones(2, dtype=torch.float16), "i": torch.arange(3),
                                      "b": torch.tensor([True]), "v": torch.arange(6.0).view(2, 3)[:, 1]}))
    put("torch_save", "shared", save({"a": torch.arange(4.0), "b": torch.arange(4.0)[1:]}))


def wespeaker_release():
    """config.yaml @@ avg_model.pt. The weights are a few small tensors with a release's names
    (the reader maps names; it does not build the model), so the seeds stay small."""
    def release(name, model, model_args, fbank=None, projection="arc_margin", extra=""):
        fbank = fbank or "    num_mel_bins: 80\n    frame_shift: 10\n    frame_length: 25\n    dither: 1.0\n"
        args = "".join("  %s: %s\n" % kv for kv in model_args.items())
        text = ("exp_dir: exp/x\ngpus: '[0,1]'\nmodel: %s\nmodel_init: null\nmodel_args:\n%s"
                "dataset_args:\n  num_frms: 200\n  resample_rate: 16000\n  fbank_args:\n%s"
                "projection_args:\n  project_type: %s\n  scale: 32.0\n  embed_dim: 256\n"
                "margin_update:\n  initial_margin: 0.0\n  final_margin: 0.2\n%s"
                % (model, args, fbank, projection, extra))
        weights = {"module.front.conv1.weight": torch.ones(2, 1, 3, 3),
                   "module.front.bn1.running_mean": torch.zeros(2),
                   "module.conv.weight": torch.ones(4, 2, 1),
                   "module.projection.weight": torch.ones(3, 256)}
        buf = io.BytesIO()
        torch.save(weights, buf)
        put("wespeaker_release", name, text.encode() + b"@@\n" + buf.getvalue())
    release("resnet34", "ResNet34", {"feat_dim": 80, "embed_dim": 256, "pooling_func": "TSTP",
                                     "two_emb_layer": "false"})
    release("ecapa", "ECAPA_TDNN_GLOB_c512", {"feat_dim": 80, "embed_dim": 192,
                                              "pooling_func": "ASTP", "emb_bn": "false"},
            projection="add_margin")
    release("campplus", "CAMPPlus", {"feat_dim": 80, "embed_dim": 512, "growth_rate": 32,
                                     "bn_size": 4, "init_channels": 128,
                                     "config_str": "batchnorm-relu"},
            fbank="    num_mel_bins: 80\n", projection="softmax")
    put("wespeaker_release", "config_only", "model: ResNet293\nmodel_args: {feat_dim: 40}\n"
        "dataset_args: {fbank_args: {num_mel_bins: 40}}\n")


if __name__ == "__main__":
    for fn in (trials, kaldi, npy, config, audio, data_dir, torch_save, wespeaker_release):
        fn()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print("seeds written under %s (%d bytes)" % (ROOT, total))
