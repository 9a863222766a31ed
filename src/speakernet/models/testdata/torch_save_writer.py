"""Writes torch.save files for torch_save_reader_test.cpp into DIR (test-time only).

plain.pt    OrderedDict (with _metadata, as model.state_dict() returns) of: a = arange(12)
            float32 [3, 4]; a_t = a.t() (non-contiguous); row = a[1] (a view at storage offset
            4); half, double, bool and int64 tensors; a 0-dim int64 (num_batches_tracked); an
            empty [0, 3] tensor.
p4.pt       the same dict saved with pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE).
ddp.pt      {"state_dict": OrderedDict(module.w), "epoch": 3} (a training checkpoint).
module.pt   torch.save(nn.Linear) (a pickled module, not a state dict).
legacy.pt   plain.pt's dict in the pre-1.6 (non-zip) format.
param.pt    OrderedDict with an nn.Parameter (keep_vars=True state dict).
hostile_*.pt  files found by fuzz/torch_save_fuzzer, each an Error now: views with fewer strides
            than sizes, overflowing or negative sizes/offsets, a 2^40-element expansion of a
            1-element storage; damaged.pt has a corrupt zip header on its tensor data record.
"""
import collections
import os
import sys
import zipfile

import torch

d = sys.argv[1]
a = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd = collections.OrderedDict()
sd["a"] = a
sd["a_t"] = a.t()
sd["row"] = a[1]
sd["half"] = torch.tensor([0.5, -2.0], dtype=torch.float16)
sd["double"] = torch.tensor([1.25, 3.0], dtype=torch.float64)
sd["flags"] = torch.tensor([True, False, True])
sd["long"] = torch.tensor([-5, 7, 1 << 40], dtype=torch.int64)
sd["bn.num_batches_tracked"] = torch.tensor(123456789012)
sd["empty"] = torch.zeros(0, 3)
sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])
torch.save(sd, os.path.join(d, "plain.pt"))
torch.save(sd, os.path.join(d, "p4.pt"), pickle_protocol=4)
torch.save({"state_dict": collections.OrderedDict([("module.w", torch.ones(2))]), "epoch": 3},
           os.path.join(d, "ddp.pt"))
torch.save(torch.nn.Linear(2, 2), os.path.join(d, "module.pt"))
torch.save(sd, os.path.join(d, "legacy.pt"), _use_new_zipfile_serialization=False)
torch.save(torch.nn.Linear(2, 3).state_dict(keep_vars=True), os.path.join(d, "param.pt"))


class View:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = torch.ones(4).storage(), offset, size, stride

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


hostile = {"short_stride": View(0, (2, 3), (1,)), "overflow": View(0, (1 << 62, 4), (4, 1)),
           "negative": View(-1, (2,), (1,)), "expand": View(0, (1 << 20, 1 << 20), (0, 0))}
for name, view in hostile.items():
    torch.save({"w": view}, os.path.join(d, "hostile_%s.pt" % name))
with open(os.path.join(d, "plain.pt"), "rb") as f:
    data = bytearray(f.read())
at = [i for i in zipfile.ZipFile(os.path.join(d, "plain.pt")).infolist()
      if i.filename.endswith("/data/0")][0].header_offset  # the first tensor record's header
assert data[at:at + 4] == b"PK\x03\x04"
data[at:at + 4] = b"XXXX"
with open(os.path.join(d, "damaged.pt"), "wb") as f:
    f.write(data)
print("ok")
