#!/usr/bin/env python3
"""Test-time reference for `speakernet import --wespeaker` (tests/wespeaker_import_test.sh).

Builds a WeSpeaker architecture in PyTorch, written for this test from reading WeSpeaker's model
definitions (wespeaker/models/resnet.py, ecapa_tdnn.py, campplus.py, pooling_layers.py), with
random weights and random BatchNorm statistics, saves it as a WeSpeaker release does
(DIR/config.yaml: the training config; DIR/avg_model.pt: torch.save of the state dict, the
projection head included), and writes the embedding WeSpeaker's recipe extraction computes for
each wav: torchaudio.compliance.kaldi.fbank of int16-scale samples (80 bins, 25/10 ms, hamming
window, no energy, dither 0), minus its mean over time, through the model in eval mode; the
last output of a model that returns two (ResNet with two_emb_layer).

  wespeaker_reference.py ARCH DIR OUT.npy WAV... [--embed-dim N] [--two-emb-layer] [--seed S]

ARCH: a WeSpeaker model name (ResNet34, ECAPA_TDNN_GLOB_c512, ECAPA_TDNN_GLOB_c1024, CAMPPlus,
...). Prints the encoder's parameter count (projection excluded).
"""
import argparse
import os
import wave

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio.compliance.kaldi as kaldi
import yaml


# --- poolings --------------------------------------------------------------------------------
def time_std(x, keepdim=False):
    return torch.sqrt(torch.var(x, dim=-1, keepdim=keepdim) + 1e-7)


class StatsPool(nn.Module):  # TSTP / TAP / TSDP
    def __init__(self, kind, in_dim):
        super().__init__()
        self.kind, self.out_dim = kind, in_dim * (2 if kind == "TSTP" else 1)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1, x.shape[-1])
        parts = []
        if self.kind in ("TSTP", "TAP"):
            parts.append(x.mean(dim=-1))
        if self.kind in ("TSTP", "TSDP"):
            parts.append(time_std(x))
        return torch.cat(parts, dim=1)


class AttentivePool(nn.Module):  # ASTP
    def __init__(self, in_dim, glob, bottleneck=128):
        super().__init__()
        self.glob, self.out_dim = glob, 2 * in_dim
        self.linear1 = nn.Conv1d(in_dim * (3 if glob else 1), bottleneck, 1)
        self.linear2 = nn.Conv1d(bottleneck, in_dim, 1)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1, x.shape[-1])
        h = x
        if self.glob:
            h = torch.cat([x, x.mean(-1, keepdim=True).expand_as(x),
                           time_std(x, True).expand_as(x)], dim=1)
        w = torch.softmax(self.linear2(torch.tanh(self.linear1(h))), dim=2)
        mu = (w * x).sum(2)
        var = (w * x * x).sum(2) - mu * mu
        return torch.cat([mu, var.clamp(min=1e-7).sqrt()], dim=1)


def make_pool(kind, in_dim, glob=False):
    return AttentivePool(in_dim, glob) if kind == "ASTP" else StatsPool(kind, in_dim)


# --- ResNet ----------------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self, bottleneck, cin, planes, stride, stride_t=True):
        super().__init__()
        st = (stride, stride if stride_t else 1)
        cout = planes * (4 if bottleneck else 1)
        self.bottleneck = bottleneck
        if bottleneck:
            self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, st, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
        else:
            self.conv1 = nn.Conv2d(cin, planes, 3, st, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, st, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.bottleneck:
            y = self.bn3(self.conv3(F.relu(y)))
        return F.relu(y + self.shortcut(x))


RESNETS = {"ResNet18": (False, [2, 2, 2, 2]), "ResNet34": (False, [3, 4, 6, 3]),
           "ResNet50": (True, [3, 4, 6, 3]), "ResNet101": (True, [3, 4, 23, 3])}


class ResNet(nn.Module):
    def __init__(self, arch, feat_dim, embed_dim, pooling_func="TSTP", two_emb_layer=False, m=32):
        super().__init__()
        bottleneck, depth = RESNETS[arch]
        self.conv1 = nn.Conv2d(1, m, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(m)
        cin = m
        for s in range(4):
            blocks = []
            for i in range(depth[s]):
                blocks.append(Block(bottleneck, cin, m << s, 2 if (i == 0 and s > 0) else 1))
                cin = (m << s) * (4 if bottleneck else 1)
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        self.pool = make_pool(pooling_func, cin * (feat_dim // 8))
        self.seg_1 = nn.Linear(self.pool.out_dim, embed_dim)
        self.two = two_emb_layer
        if two_emb_layer:
            self.seg_bn_1 = nn.BatchNorm1d(embed_dim, affine=False)
            self.seg_2 = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):  # x: (B, T, F)
        x = F.relu(self.bn1(self.conv1(x.permute(0, 2, 1).unsqueeze(1))))
        for s in range(4):
            x = getattr(self, "layer%d" % (s + 1))(x)
        a = self.seg_1(self.pool(x))
        if not self.two:
            return torch.tensor(0.0), a
        return a, self.seg_2(self.seg_bn_1(F.relu(a)))


# --- ECAPA-TDNN ------------------------------------------------------------------------------
class ConvReluBn(nn.Module):
    def __init__(self, cin, cout, k=1, pad=0):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, padding=pad)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        return self.bn(F.relu(self.conv(x)))


class Res2(nn.Module):
    def __init__(self, c, dil, scale=8):
        super().__init__()
        self.w = c // scale
        self.convs = nn.ModuleList(
            [nn.Conv1d(self.w, self.w, 3, padding=dil, dilation=dil) for _ in range(scale - 1)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(self.w) for _ in range(scale - 1)])

    def forward(self, x):
        parts = torch.split(x, self.w, 1)
        out, y = [], None
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            y = parts[0] if i == 0 else y + parts[i]
            y = bn(F.relu(conv(y)))
            out.append(y)
        return torch.cat(out + [parts[len(self.convs)]], 1)


class SE(nn.Module):
    def __init__(self, c, b=128):
        super().__init__()
        self.linear1, self.linear2 = nn.Linear(c, b), nn.Linear(b, c)

    def forward(self, x):
        return x * torch.sigmoid(self.linear2(F.relu(self.linear1(x.mean(2))))).unsqueeze(2)


class SERes2Block(nn.Module):
    def __init__(self, c, dil):
        super().__init__()
        self.se_res2block = nn.Sequential(ConvReluBn(c, c), Res2(c, dil), ConvReluBn(c, c), SE(c))

    def forward(self, x):
        return x + self.se_res2block(x)


class Ecapa(nn.Module):
    def __init__(self, channels, glob, feat_dim, embed_dim, pooling_func="ASTP", emb_bn=False):
        super().__init__()
        self.layer1 = ConvReluBn(feat_dim, channels, 5, 2)
        self.layer2, self.layer3, self.layer4 = (SERes2Block(channels, d) for d in (2, 3, 4))
        self.conv = nn.Conv1d(3 * channels, 1536, 1)
        self.pool = make_pool(pooling_func, 1536, glob)
        self.bn = nn.BatchNorm1d(self.pool.out_dim)
        self.linear = nn.Linear(self.pool.out_dim, embed_dim)
        self.emb_bn = emb_bn
        if emb_bn:
            self.bn2 = nn.BatchNorm1d(embed_dim)

    def forward(self, x):
        o1 = self.layer1(x.permute(0, 2, 1))
        o2 = self.layer2(o1)
        o3 = self.layer3(o2)
        o4 = self.layer4(o3)
        y = self.linear(self.bn(self.pool(F.relu(self.conv(torch.cat([o2, o3, o4], 1))))))
        return self.bn2(y) if self.emb_bn else y


# --- CAM++ -----------------------------------------------------------------------------------
def bn_relu(c, relu=True, affine=True):
    seq = nn.Sequential()
    seq.add_module("batchnorm", nn.BatchNorm1d(c, affine=affine))
    if relu:
        seq.add_module("relu", nn.ReLU())
    return seq


class Tdnn(nn.Module):  # linear then nonlinear (tdnn, dense) or the reverse (transit)
    def __init__(self, cin, cout, k, stride, bn_first, relu=True, affine=True):
        super().__init__()
        self.bn_first = bn_first
        if bn_first:
            self.nonlinear = bn_relu(cin, relu, affine)
        self.linear = nn.Conv1d(cin, cout, k, stride, (k - 1) // 2, bias=False)
        if not bn_first:
            self.nonlinear = bn_relu(cout, relu, affine)

    def forward(self, x):
        return self.linear(self.nonlinear(x)) if self.bn_first else self.nonlinear(self.linear(x))


class Cam(nn.Module):
    def __init__(self, cb, cout, dil):
        super().__init__()
        self.linear_local = nn.Conv1d(cb, cout, 3, padding=dil, dilation=dil, bias=False)
        self.linear1 = nn.Conv1d(cb, cb // 2, 1)
        self.linear2 = nn.Conv1d(cb // 2, cout, 1)

    def forward(self, x):
        seg = F.avg_pool1d(x, 100, 100, ceil_mode=True)
        seg = seg.unsqueeze(-1).expand(*seg.shape, 100).reshape(x.shape[0], x.shape[1], -1)
        ctx = x.mean(-1, keepdim=True) + seg[..., :x.shape[-1]]
        return self.linear_local(x) * torch.sigmoid(self.linear2(F.relu(self.linear1(ctx))))


class DenseLayer(nn.Module):
    def __init__(self, cin, cout, cb, dil):
        super().__init__()
        self.nonlinear1 = bn_relu(cin)
        self.linear1 = nn.Conv1d(cin, cb, 1, bias=False)
        self.nonlinear2 = bn_relu(cb)
        self.cam_layer = Cam(cb, cout, dil)

    def forward(self, x):
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class DenseBlock(nn.Module):
    def __init__(self, n, cin, growth, cb, dil):
        super().__init__()
        for j in range(n):
            self.add_module("tdnnd%d" % (j + 1), DenseLayer(cin + j * growth, growth, cb, dil))

    def forward(self, x):
        for layer in self.children():
            x = torch.cat([x, layer(x)], 1)
        return x


class Fcm(nn.Module):
    def __init__(self, m=32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, m, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(m)
        self.layer1 = nn.Sequential(Block(False, m, m, 2, False), Block(False, m, m, 1, False))
        self.layer2 = nn.Sequential(Block(False, m, m, 2, False), Block(False, m, m, 1, False))
        self.conv2 = nn.Conv2d(m, m, 3, (2, 1), 1, bias=False)
        self.bn2 = nn.BatchNorm2d(m)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        y = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(y)))))
        return y.reshape(y.shape[0], -1, y.shape[-1])


class CamPlus(nn.Module):
    def __init__(self, feat_dim, embed_dim, pooling_func="TSTP", growth_rate=32, bn_size=4,
                 init_channels=128):
        super().__init__()
        self.head = Fcm()
        self.xvector = nn.Sequential()
        self.xvector.add_module("tdnn", Tdnn(32 * (feat_dim // 8), init_channels, 5, 2, False))
        c = init_channels
        for i, (n, dil) in enumerate(zip((12, 24, 16), (1, 2, 2))):
            self.xvector.add_module("block%d" % (i + 1),
                                    DenseBlock(n, c, growth_rate, bn_size * growth_rate, dil))
            c += n * growth_rate
            self.xvector.add_module("transit%d" % (i + 1), Tdnn(c, c // 2, 1, 1, True))
            c //= 2
        self.xvector.add_module("out_nonlinear", bn_relu(c))
        self.pool = make_pool(pooling_func, c)
        self.xvector.add_module("dense", Tdnn(self.pool.out_dim, embed_dim, 1, 1, False,
                                              relu=False, affine=False))

    def forward(self, x):
        y = self.head(x.permute(0, 2, 1))
        for name, mod in self.xvector.named_children():
            if name == "dense":
                y = mod(self.pool(y).unsqueeze(-1)).squeeze(-1)
            else:
                y = mod(y)
        return y


# --- release ---------------------------------------------------------------------------------
def build(arch, args):
    if arch.startswith("ResNet"):
        ma = dict(feat_dim=80, embed_dim=args.embed_dim or 256, pooling_func="TSTP",
                  two_emb_layer=args.two_emb_layer)
        return ResNet(arch, **ma), ma
    if arch.startswith("ECAPA_TDNN"):
        ma = dict(feat_dim=80, embed_dim=args.embed_dim or 192, pooling_func="ASTP")
        return Ecapa(int(arch.split("_c")[-1]), "GLOB" in arch, **ma), ma
    if arch == "CAMPPlus":
        ma = dict(feat_dim=80, embed_dim=args.embed_dim or 512, pooling_func="TSTP")
        return CamPlus(**ma), ma
    raise SystemExit("unknown arch " + arch)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype != torch.float32:
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith("running_mean") or name.endswith("bias"):
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            elif name.endswith("weight") and t.dim() == 1:  # BN scale
                t.copy_(0.8 + 0.4 * torch.rand(t.shape, generator=g))
            else:  # conv / linear weights, fan-in scaled so activations stay O(1)
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) * (1.5 / fan_in) ** 0.5)


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return torch.from_numpy(pcm.astype(np.float32) / 32768.0)


def embed(model, path):
    wav = read_wav(path).unsqueeze(0) * (1 << 15)
    feats = kaldi.fbank(wav, num_mel_bins=80, frame_length=25, frame_shift=10, dither=0.0,
                        sample_frequency=16000, window_type="hamming", use_energy=False)
    feats = feats - feats.mean(0)
    with torch.no_grad():
        out = model(feats.unsqueeze(0))
    out = out[-1] if isinstance(out, tuple) else out
    return out[0].numpy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("arch")
    p.add_argument("dir")
    p.add_argument("out")
    p.add_argument("wavs", nargs="+")
    p.add_argument("--embed-dim", type=int, default=0)
    p.add_argument("--two-emb-layer", action="store_true")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--classes", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(1)
    model, model_args = build(args.arch, args)
    randomize(model, args.seed)
    model.eval()
    params = sum(t.numel() for t in model.parameters())
    state = model.state_dict()
    state["projection.weight"] = torch.randn(args.classes, model_args["embed_dim"])
    os.makedirs(args.dir, exist_ok=True)
    torch.save(state, os.path.join(args.dir, "avg_model.pt"))
    config = {
        "exp_dir": "exp/" + args.arch, "gpus": "[0,1]", "num_avg": 10, "seed": 42,
        "dataloader_args": {"batch_size": 128, "num_workers": 16, "drop_last": True},
        "dataset_args": {"shuffle": True, "speed_perturb": True, "num_frms": 200,
                         "aug_prob": 0.6, "resample_rate": 16000,
                         "fbank_args": {"num_mel_bins": 80, "frame_shift": 10,
                                        "frame_length": 25, "dither": 1.0},
                         "spec_aug": False},
        "model": args.arch, "model_init": None, "model_args": model_args,
        "projection_args": {"project_type": "arc_margin", "scale": 32.0, "easy_margin": False,
                            "embed_dim": model_args["embed_dim"], "num_class": args.classes},
        "margin_update": {"initial_margin": 0.0, "final_margin": 0.2},
        "loss": "CrossEntropyLoss", "optimizer": "SGD",
    }
    with open(os.path.join(args.dir, "config.yaml"), "w") as f:
        f.write(yaml.dump(config))
    np.save(args.out, np.stack([embed(model, w) for w in args.wavs]).astype(np.float32))
    print("parameters", params)


if __name__ == "__main__":
    main()
