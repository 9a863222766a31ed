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
"""
import collections
import os
import sys

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
print("ok")
