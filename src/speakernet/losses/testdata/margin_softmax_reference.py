"""Independent float64 NumPy reference of speaker-net's margin softmax loss (from the spec, §4.1).

usage: margin_softmax_reference.py DIR B D N K METHOD M S TOPK TOPK_M EASY LAMBDA TRAIN
  DIR holds emb.bin [B, D], weight.bin [N*K, D] (row = class*K + k) and labels.bin [B], all raw
  float32. Prints the mean loss; writes logits.bin (s*cos without margin, [B, N], float32).
"""
import math
import os
import sys

import numpy as np


def main():
    d = sys.argv[1]
    b, dim, n, k = (int(v) for v in sys.argv[2:6])
    method = sys.argv[6]
    m, s = float(sys.argv[7]), float(sys.argv[8])
    topk, topk_m = int(sys.argv[9]), float(sys.argv[10])
    easy, lam, train = sys.argv[11] == "1", float(sys.argv[12]), sys.argv[13] == "1"

    emb = np.fromfile(os.path.join(d, "emb.bin"), dtype=np.float32).astype(np.float64).reshape(b, dim)
    w = np.fromfile(os.path.join(d, "weight.bin"), dtype=np.float32).astype(np.float64).reshape(n * k, dim)
    y = np.fromfile(os.path.join(d, "labels.bin"), dtype=np.float32).astype(np.int64)

    xn = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    wn = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    cos_all = xn @ wn.T
    cos = np.empty((b, n))
    for i in range(b):
        for c in range(n):
            cos[i, c] = max(cos_all[i, c * k + j] for j in range(k))
    logits = s * cos

    z = cos.copy()
    if train:
        a1, a2 = 1.0 / (1.0 + lam), lam / (1.0 + lam)
        for i in range(b):
            c = cos[i, y[i]]
            if method == "am":
                phi = c - m
            else:
                theta_phi = c * math.cos(m) - math.sin(m) * math.sqrt(min(max(1 - c * c, 0.0), 1.0))
                if easy:
                    phi = theta_phi if c > 0 else c
                else:
                    th = math.cos(math.pi - m)
                    phi = theta_phi if c > th else c - (1 + math.cos(math.pi - m))
            if topk_m > 0:
                others = [j for j in range(n) if j != y[i]]
                others.sort(key=lambda j: -cos[i, j])
                for j in others[:topk]:
                    cj = cos[i, j]
                    if method == "am":
                        pen = cj + topk_m
                    else:
                        pen = cj * math.cos(topk_m) + math.sin(topk_m) * math.sqrt(
                            min(max(1 - cj * cj, 0.0), 1.0))
                    z[i, j] = a1 * pen + a2 * cj
            z[i, y[i]] = a1 * phi + a2 * c
    z = s * z
    zmax = z.max(axis=1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    loss = np.mean(lse - z[np.arange(b), y])
    logits.astype(np.float32).tofile(os.path.join(d, "logits.bin"))
    print("%.17g" % loss)


if __name__ == "__main__":
    main()
