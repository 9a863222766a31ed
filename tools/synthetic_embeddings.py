#!/usr/bin/env python3
"""Synthetic speaker embeddings with a common offset, for checking the scoring back end.

    python3 tools/synthetic_embeddings.py OUT [--dim 256] [--offset 0.5] [--noise 2] [--seed 1]

Every embedding is offset + c_speaker + s_u * noise: c ~ N(0, I), noise ~ N(0, I), the per-
utterance noise scale s_u ~ NOISE * U(0.5, 1.5) (utterances of varying quality), offset a constant in
every dimension (|m| = offset * sqrt(dim)). Writes OUT/train (the cohort / submean set) and
OUT/test (held-out speakers), each with embeddings.npy, utts.txt, utt2spk, and OUT/test/trials
('enroll test target|nontarget': every target pair, plus 10 random non-target pairs per
utterance). Needs numpy.
"""
import argparse
import os

import numpy as np


def make(rng, out, name, speakers, utts, dim, offset, noise):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    keys, spk, embs = [], [], []
    for s in range(speakers):
        c = rng.normal(size=dim)
        for u in range(utts):
            keys.append("%s-s%04d-u%02d" % (name, s, u))
            spk.append("%s-s%04d" % (name, s))
            embs.append(offset + c + noise * rng.uniform(0.5, 1.5) * rng.normal(size=dim))
    np.save(os.path.join(d, "embeddings.npy"), np.array(embs, dtype=np.float32))
    with open(os.path.join(d, "utts.txt"), "w") as f:
        f.writelines(k + "\n" for k in keys)
    with open(os.path.join(d, "utt2spk"), "w") as f:
        f.writelines("%s %s\n" % p for p in zip(keys, spk))
    return keys, spk


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--offset", type=float, default=0.5)
    p.add_argument("--noise", type=float, default=2.0)
    p.add_argument("--train-speakers", type=int, default=400)
    p.add_argument("--train-utts", type=int, default=6)
    p.add_argument("--test-speakers", type=int, default=100)
    p.add_argument("--test-utts", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    make(rng, a.out, "train", a.train_speakers, a.train_utts, a.dim, a.offset, a.noise)
    keys, spk = make(rng, a.out, "test", a.test_speakers, a.test_utts, a.dim, a.offset, a.noise)
    lines = []
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if spk[i] == spk[j]:
                lines.append("%s %s target\n" % (keys[i], keys[j]))
        for j in rng.choice(len(keys), 10, replace=False):
            if spk[j] != spk[i]:
                lines.append("%s %s nontarget\n" % (keys[i], keys[j]))
    with open(os.path.join(a.out, "test", "trials"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
