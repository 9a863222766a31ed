"""Independent PyTorch reference of speaker-net's attentive statistics pooling and
multi-resolution multi-head attention pooling (written from the spec §3.2 and the Okabe et al. /
Wang et al. definitions, not from the C++ code).

usage: pooling_reference.py TYPE DIR BATCH DIM FRAMES NUM_HEAD HIDDEN
  TYPE: attentive | multi_resolution. DIR holds <state key>.bin (raw float32, one file per
  state-dict entry) and input.bin ([BATCH, DIM, FRAMES]); writes out.bin ([BATCH, OUT, 1]) and
  prints the number of state-dict entries it read (each must exist, so a naming mismatch fails).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Affine(nn.Module):
    def __init__(self, cin, cout, groups=1):
        super().__init__()
        self.affine = nn.Conv1d(cin, cout, 1, groups=groups, bias=True)


class Attention(nn.Module):
    def __init__(self, dim, hidden_total, out, last_groups, heads=None):
        super().__init__()
        self.first_affine = Affine(dim, hidden_total)
        self.last_affine = Affine(hidden_total, out, last_groups)
        if heads is not None:
            self.register_buffer(
                "t", torch.tensor([[[[max(1, (i // 2) * 5)]] for i in range(heads)]]))


class Attentive(nn.Module):
    """Okabe et al. 2018: e_t = v^T relu(W x_t + b) + k, alpha = softmax_t(e)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.attention = Attention(dim, hidden, 1, 1)

    def forward(self, x):
        a = self.attention
        e = a.last_affine.affine(F.relu(a.first_affine.affine(x)))  # [B, 1, T]
        alpha = torch.softmax(e, dim=2)
        mu = (alpha * x).sum(2)
        var = (alpha * x * x).sum(2) - mu * mu
        return torch.cat([mu, var.clamp(min=1e-10).sqrt()], 1).unsqueeze(2)


class MultiResolution(nn.Module):
    """Wang et al. 2020: heads over all channels, head h with temperature max(1, (h//2)*5)."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.heads = heads
        self.attention = Attention(dim, hidden * heads, heads, heads, heads)

    def forward(self, x):
        a = self.attention
        B, D, T = x.shape
        mus, sigmas = [], []
        e = a.last_affine.affine(F.relu(a.first_affine.affine(x)))  # [B, H, T]
        for h in range(self.heads):
            alpha = torch.softmax(e[:, h:h + 1, :] / float(a.t[0, h, 0, 0]), dim=2)  # [B, 1, T]
            mu = (alpha * x).sum(2)
            var = (alpha * x.pow(2)).sum(2) - mu.pow(2)
            mus.append(mu)
            sigmas.append(var.clamp(min=1e-10).sqrt())
        return torch.cat(mus + sigmas, 1).unsqueeze(2)


def main():
    kind, d = sys.argv[1], sys.argv[2]
    batch, dim, frames, heads, hidden = map(int, sys.argv[3:8])
    model = Attentive(dim, hidden) if kind == "attentive" else MultiResolution(dim, heads, hidden)
    state = model.state_dict()
    for name, t in state.items():
        raw = np.fromfile(os.path.join(d, name + ".bin"), dtype=np.float32)
        given = torch.from_numpy(raw.reshape(tuple(t.shape))).to(t.dtype)
        if name == "attention.t":  # fixed temperatures: must equal ours, not be taken over
            assert torch.equal(given, t), f"temperatures {given.flatten()} != {t.flatten()}"
        state[name] = given
    model.load_state_dict(state)
    x = torch.from_numpy(
        np.fromfile(os.path.join(d, "input.bin"), dtype=np.float32).reshape(batch, dim, frames))
    with torch.no_grad():
        out = model(x)
    out.numpy().astype(np.float32).tofile(os.path.join(d, "out.bin"))
    print(len(state))


if __name__ == "__main__":
    main()
