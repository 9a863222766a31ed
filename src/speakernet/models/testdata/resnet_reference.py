"""Independent PyTorch reference of speaker-net's ResNet speaker model (written from the spec).

usage: resnet_reference.py DIR LAYERS PLANES FEAT_DIM FRAMES BATCH POOLING NUM_HEAD EMB_DIM MOMENTUM FC2_MOMENTUM
  LAYERS / PLANES are comma-separated. DIR holds <state key>.bin (raw float32, one file per
  state-dict entry) and input.bin ([BATCH, FEAT_DIM, FRAMES] float32). Writes to DIR:
  out_train.bin (train-mode embeddings, which also update the BN statistics),
  out_eval.bin (eval-mode embeddings afterwards), fc2_running_mean.bin.
Every key of this model's state dict must have a file, so a naming mismatch fails loudly.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride, mom):
        super().__init__()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout, momentum=mom))
        else:
            self.downsample = None
        self.bn1 = nn.BatchNorm2d(cin, momentum=mom)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, momentum=mom)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)

    def forward(self, x):
        y = self.conv1(F.relu(self.bn1(x)))
        y = self.conv2(F.relu(self.bn2(y)))
        short = x if self.downsample is None else self.downsample(x)
        return y + short


class Trunk(nn.Module):
    def __init__(self, layers, planes, mom):
        super().__init__()
        self.conv1 = nn.Conv2d(1, planes[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes[0], momentum=mom)
        cin = planes[0]
        for i, (n, p) in enumerate(zip(layers, planes)):
            blocks = []
            for j in range(n):
                blocks.append(Block(cin, p, (1 if i == 0 else 2) if j == 0 else 1, mom))
                cin = p
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Affine(nn.Module):
    def __init__(self, cin, cout, groups, bias):
        super().__init__()
        self.affine = nn.Conv1d(cin, cout, 1, groups=groups, bias=bias)


class Alpha(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.last_affine = Affine(dim, heads, heads, False)


class MHA(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.attention = Alpha(dim, heads)

    def forward(self, x):
        b, d, t = x.shape
        a = torch.softmax(self.attention.last_affine.affine(x), dim=2)  # [b, h, t]
        mus, sds = [], []
        for h in range(self.heads):
            xh = x[:, h * d // self.heads:(h + 1) * d // self.heads, :]
            w = a[:, h:h + 1, :]
            mu = (w * xh).sum(dim=2)
            ex2 = (w * xh * xh).sum(dim=2)
            mus.append(mu)
            sds.append(torch.sqrt(torch.clamp(ex2 - mu * mu, min=1e-10)))
        return torch.cat(mus + sds, dim=1).unsqueeze(2)


class Stats(nn.Module):
    def forward(self, x):
        mu = x.mean(dim=2)
        var = ((x - mu.unsqueeze(2)) ** 2).mean(dim=2)
        return torch.cat([mu, torch.sqrt(torch.clamp(var, min=1e-10))], dim=1).unsqueeze(2)


class Fc2(nn.Module):
    def __init__(self, cin, cout, mom):
        super().__init__()
        self.affine = nn.Conv1d(cin, cout, 1)
        self.batchnorm = nn.BatchNorm1d(cout, momentum=mom, affine=False)

    def forward(self, x):
        return self.batchnorm(self.affine(x))


class Model(nn.Module):
    def __init__(self, layers, planes, feat_dim, pooling, heads, emb, mom, fc2_mom):
        super().__init__()
        self.resnet = Trunk(layers, planes, mom)
        dim = int(math.ceil(feat_dim / 8)) * planes[-1]
        self.stats = MHA(dim, heads) if pooling == "multi_head" else Stats()
        self.fc2 = Fc2(2 * dim, emb, fc2_mom)

    def forward(self, feats):
        y = self.resnet(feats.unsqueeze(1))
        b, c, f, t = y.shape
        y = y.reshape(b, c * f, t)
        return self.fc2(self.stats(y)).squeeze(2)


def main():
    d = sys.argv[1]
    layers = [int(v) for v in sys.argv[2].split(",")]
    planes = [int(v) for v in sys.argv[3].split(",")]
    feat_dim, frames, batch = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    pooling, heads, emb = sys.argv[7], int(sys.argv[8]), int(sys.argv[9])
    mom, fc2_mom = float(sys.argv[10]), float(sys.argv[11])
    torch.set_num_threads(1)
    model = Model(layers, planes, feat_dim, pooling, heads, emb, mom, fc2_mom)
    state = model.state_dict()
    loaded = {}
    for key, ref in state.items():
        raw = np.fromfile(os.path.join(d, key + ".bin"), dtype=np.float32)
        assert raw.size == ref.numel(), (key, raw.size, tuple(ref.shape))
        loaded[key] = torch.from_numpy(raw).reshape(ref.shape).to(ref.dtype)
    model.load_state_dict(loaded)
    x = torch.from_numpy(np.fromfile(os.path.join(d, "input.bin"), dtype=np.float32))
    x = x.reshape(batch, feat_dim, frames)
    with torch.no_grad():
        model.train()
        out_train = model(x)
        model.eval()
        out_eval = model(x)
    out_train.numpy().astype(np.float32).tofile(os.path.join(d, "out_train.bin"))
    out_eval.numpy().astype(np.float32).tofile(os.path.join(d, "out_eval.bin"))
    model.fc2.batchnorm.running_mean.numpy().astype(np.float32).tofile(
        os.path.join(d, "fc2_running_mean.bin"))
    print(len(state))


if __name__ == "__main__":
    main()
