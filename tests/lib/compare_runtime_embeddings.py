# compare_runtime_embeddings.py EXTRACT_DIR RUNTIME_OUT.txt TOL WHAT: exit 0 when every
# utterance's embedding from another runtime (RUNTIME_OUT.txt: "utt v1 v2 ..." lines, as
# tests/node/embed.js writes them) agrees with speakernet extract's (EXTRACT_DIR/embeddings.npy
# and utts.txt, from extract --npy) to TOL relative: |a - b|_2 / |a|_2 <= TOL. Prints the worst
# relative error and the cosine, and each utterance's error with its sample count when a wav.scp
# is given as a 5th argument.
import sys
import wave

import numpy as np

ref_dir, other, tol, what = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
scp = sys.argv[5] if len(sys.argv) > 5 else None
ref = np.load(f"{ref_dir}/embeddings.npy").astype(np.float64)
utts = open(f"{ref_dir}/utts.txt").read().split()
rows = {}
for line in open(other):
    parts = line.split()
    if parts:
        rows[parts[0]] = np.array(parts[1:], dtype=np.float64)
assert set(rows) == set(utts), f"{what}: utterances differ: {sorted(set(rows) ^ set(utts))}"
lengths = {}
if scp:
    for line in open(scp):
        utt, path = line.split()
        with wave.open(path) as w:
            lengths[utt] = w.getnframes()
worst, worst_cos = 0.0, 1.0
for i, utt in enumerate(utts):
    a, b = ref[i], rows[utt]
    assert a.shape == b.shape, (utt, a.shape, b.shape)
    rel = np.linalg.norm(a - b) / np.linalg.norm(a)
    cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    worst, worst_cos = max(worst, rel), min(worst_cos, cos)
    if scp:
        print(f"  {utt}: {lengths[utt]} samples, relative L2 error {rel:.3g}")
print(f"{what}: {len(utts)} utterances, max relative L2 error {worst:.3g} (tolerance {tol:g}), "
      f"min cosine {worst_cos:.9f}")
sys.exit(0 if worst <= tol else 1)
