"""Independent PyTorch reference of speaker-net's ECAPA-TDNN speaker model (written from the spec,
§3.2 ChannelContextStatisticsPooling and §3.5).

usage: ecapa_reference.py DIR FEAT_DIM FRAMES BATCH CHANNELS SCALE DILATIONS SE_REDUCTION HIDDEN
                          EMB_DIM MOMENTUM
  DILATIONS is comma-separated. DIR holds <state key>.bin (raw float32, one file per state-dict
  entry) and input.bin ([BATCH, FEAT_DIM, FRAMES] float32). Writes to DIR: out_train.bin
  (train-mode embeddings, which also update the BN statistics), out_eval.bin (eval-mode
  embeddings afterwards), bn_pool_running_mean.bin, fc2_running_mean.bin.
Every key of this model's state dict must have a file, so a naming mismatch fails loudly.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Tdnn(nn.Module):
    """Conv1d (bias) -> ReLU -> BN."""

    def __init__(self, cin, cout, kernel, dilation, mom):
        super().__init__()
        self.affine = nn.Conv1d(cin, cout, kernel, dilation=dilation,
                                padding=dilation * (kernel - 1) // 2)
        self.batchnorm = nn.BatchNorm1d(cout, momentum=mom)

    def forward(self, x):
        return self.batchnorm(F.relu(self.affine(x)))


class Res2(nn.Module):
    def __init__(self, c, scale, dilation, mom):
        super().__init__()
        self.scale = scale
        self.blocks = nn.ModuleList(
            [Tdnn(c // scale, c // scale, 3, dilation, mom) for _ in range(scale - 1)])

    def forward(self, x):
        parts = torch.split(x, x.shape[1] // self.scale, dim=1)
        ys = []
        carry = None
        for i, conv in enumerate(self.blocks):
            inp = parts[i] if carry is None else parts[i] + carry
            carry = conv(inp)
            ys.append(carry)
        ys.append(parts[-1])  # the last split passes through untouched
        return torch.cat(ys, dim=1)


class SE(nn.Module):
    def __init__(self, c, bottleneck):
        super().__init__()
        self.linear1 = nn.Linear(c, bottleneck)
        self.linear2 = nn.Linear(bottleneck, c)

    def forward(self, x):
        g = torch.sigmoid(self.linear2(F.relu(self.linear1(x.mean(dim=2)))))
        return x * g[:, :, None]


class Block(nn.Module):
    def __init__(self, c, scale, dilation, bottleneck, mom):
        super().__init__()
        self.se_res2block = nn.Sequential(
            Tdnn(c, c, 1, 1, mom), Res2(c, scale, dilation, mom), Tdnn(c, c, 1, 1, mom),
            SE(c, bottleneck))

    def forward(self, x):
        return x + self.se_res2block(x)


class Plain(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.affine = nn.Conv1d(cin, cout, 1)


class Attention(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.first_affine = Plain(3 * d, hidden)
        self.last_affine = Plain(hidden, d)


class ContextPooling(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.attention = Attention(d, hidden)

    def forward(self, x):
        t = x.shape[2]
        mean = torch.mean(x, dim=2, keepdim=True).repeat(1, 1, t)
        std = torch.sqrt(torch.var(x, dim=2, keepdim=True, unbiased=True) + 1e-10).repeat(1, 1, t)
        h = torch.tanh(self.attention.first_affine.affine(torch.cat([x, mean, std], dim=1)))
        w = F.softmax(self.attention.last_affine.affine(h), dim=2)
        mu = torch.sum(w * x, dim=2)
        sd = torch.sqrt(torch.clamp(torch.sum(w * x ** 2, dim=2) - mu ** 2, min=1e-10))
        return torch.cat([mu, sd], dim=1)[:, :, None]


class Fc2(nn.Module):
    def __init__(self, cin, cout, mom):
        super().__init__()
        self.affine = nn.Conv1d(cin, cout, 1)
        self.batchnorm = nn.BatchNorm1d(cout, momentum=mom, affine=False)

    def forward(self, x):
        return self.batchnorm(self.affine(x))


class Model(nn.Module):
    def __init__(self, feat_dim, c, scale, dilations, se_red, hidden, emb, mom):
        super().__init__()
        self.layer1 = Tdnn(feat_dim, c, 5, 1, mom)
        n = len(dilations)
        for i, d in enumerate(dilations):
            setattr(self, "layer%d" % (i + 2), Block(c, scale, d, c // se_red, mom))
        self.n = n
        setattr(self, "layer%d" % (n + 2), Plain(n * c, n * c))
        self.pooling = ContextPooling(n * c, hidden)
        self.bn_pool = nn.BatchNorm1d(2 * n * c, momentum=mom)
        self.fc2 = Fc2(2 * n * c, emb, mom)

    def forward(self, feats):
        y = self.layer1(feats)
        outs = []
        for i in range(self.n):
            y = getattr(self, "layer%d" % (i + 2))(y)
            outs.append(y)
        y = F.relu(getattr(self, "layer%d" % (self.n + 2)).affine(torch.cat(outs, dim=1)))
        return self.fc2(self.bn_pool(self.pooling(y))).squeeze(2)


def main():
    d = sys.argv[1]
    feat_dim, frames, batch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    c, scale = int(sys.argv[5]), int(sys.argv[6])
    dilations = [int(v) for v in sys.argv[7].split(",")]
    se_red, hidden, emb = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
    mom = float(sys.argv[11])
    torch.set_num_threads(1)
    model = Model(feat_dim, c, scale, dilations, se_red, hidden, emb, mom)
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
    model.bn_pool.running_mean.numpy().astype(np.float32).tofile(
        os.path.join(d, "bn_pool_running_mean.bin"))
    model.fc2.batchnorm.running_mean.numpy().astype(np.float32).tofile(
        os.path.join(d, "fc2_running_mean.bin"))
    print(len(state))


if __name__ == "__main__":
    main()
