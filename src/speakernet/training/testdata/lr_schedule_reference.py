"""Reference for lr_schedule_test.cpp: the learning rates torch.optim.lr_scheduler gives.

usage: lr_schedule_reference.py JOBS_FILE
Each line of JOBS_FILE is `SCHEDULER STEPS BASE_LR [key=value ...]`. For each, one output line
lists the lr the optimizer holds for step t = 0..STEPS-1 (read before the step; the scheduler is
stepped after it). For ReduceLROnPlateau, `metrics=a,b,c` are fed one per step and the lr after
each is listed instead.
"""
import sys

import torch

INTS = ("step_size", "step_size_up", "step_size_down", "total_steps", "patience", "cooldown")
STRINGS = ("mode", "anneal_strategy", "threshold_mode")


def lrs(name, steps, base_lr, args):
    kw = {}
    for arg in args:
        key, value = arg.split("=", 1)
        if key == "milestones":
            kw[key] = [int(x) for x in value.split(",")]
        elif key == "metrics":
            kw[key] = [float(x) for x in value.split(",")]
        elif key in STRINGS:
            kw[key] = value
        elif key in INTS:
            kw[key] = int(value)
        else:
            kw[key] = float(value)
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=base_lr)
    out = []
    if name == "ReduceLROnPlateau":
        metrics = kw.pop("metrics")
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        for m in metrics:
            sched.step(m)
            out.append(opt.param_groups[0]["lr"])
        return out
    if name in ("CyclicLR", "OneCycleLR"):
        kw["cycle_momentum"] = False
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


for line in open(sys.argv[1]):
    fields = line.split()
    if fields:
        print(" ".join(repr(x) for x in lrs(fields[0], int(fields[1]), float(fields[2]),
                                            fields[3:])))
