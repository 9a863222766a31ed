# close_embeddings.py A.npy B.npy REL COS WHAT: exit 0 when the embedding matrices agree row by
# row: max |a - b| / max(1, max |a|) <= REL and cosine(a, b) > 1 - COS. The error is relative to
# each embedding's largest element (small models' embeddings reach |x| ~ 100 and amplify float
# rounding); a padded or mixed-up utterance is off by far more.
import sys

import numpy as np

a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
rel_tol, cos_tol, what = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
assert a.shape == b.shape, (a.shape, b.shape)
rel = np.abs(a - b).max(axis=1) / np.maximum(1.0, np.abs(a).max(axis=1))
cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print(f"max |{what}| / max |emb| = {rel.max():.3g}, min cosine {cos.min():.9f}")
sys.exit(0 if rel.max() <= rel_tol and cos.min() > 1 - cos_tol else 1)
