# same_state_dicts.py A B: exit 0 when the torch.load-able state dicts A and B have the same keys
# and bit-identical tensors (resume exactness); prints how many differ and by how much.
import sys

import torch

a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
bad = [k for k in a if not torch.equal(a[k], b[k])]
diff = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
print(f"{len(a)} tensors, {len(bad)} differ (max |diff| {diff:.3g})", bad[:5])
sys.exit(1 if bad else 0)
