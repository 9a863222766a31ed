"""Reference for optimizer_test.cpp: runs torch.optim's optimizer over the parameters and
per-step gradients the test wrote, with the per-step learning rates it gives, and writes the
final parameters.

usage: optimizer_reference.py DIR [DIR ...]
Each DIR holds job.txt (NAME LR MOMENTUM NESTEROV WEIGHT_DECAY BETA1 BETA2 EPS STEPS),
shapes.txt, p<i>.bin (float32 raw), g<step>_<i>.bin and lrs.txt; out<i>.bin is written there.
"""
import sys

import numpy as np
import torch


def run(d):
    fields = open(f"{d}/job.txt").read().split()
    name = fields[0]
    lr, momentum, nesterov, wd, beta1, beta2, eps = map(float, fields[1:8])
    steps = int(fields[8])
    shapes = [tuple(int(x) for x in line.split()) for line in open(f"{d}/shapes.txt")]
    params = [torch.from_numpy(np.fromfile(f"{d}/p{i}.bin", dtype=np.float32).reshape(s)).clone()
              for i, s in enumerate(shapes)]
    for p in params:
        p.requires_grad_(True)
    lrs = [float(x) for x in open(f"{d}/lrs.txt").read().split()]
    if name == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=bool(nesterov),
                              weight_decay=wd)
    elif name == "adam":
        opt = torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)
    elif name == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)
    elif name == "radam":
        opt = torch.optim.RAdam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)
    else:
        raise SystemExit(f"unknown optimizer {name}")
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lrs[step]
        for i, (p, s) in enumerate(zip(params, shapes)):
            p.grad = torch.from_numpy(
                np.fromfile(f"{d}/g{step}_{i}.bin", dtype=np.float32).reshape(s))
        opt.step()
    for i, p in enumerate(params):
        p.detach().numpy().astype(np.float32).tofile(f"{d}/out{i}.bin")


for directory in sys.argv[1:]:
    run(directory)
print("ok")
