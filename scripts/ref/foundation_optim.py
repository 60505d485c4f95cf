#!/usr/bin/python3
"""PyTorch reference for src/train/optim.ts and src/train/schedule.ts.

Writes test/fixtures/nn/optim.safetensors:
- `adamw/*`: a small parameter set stepped 6 times by torch.optim.AdamW after torch.nn.utils.clip_grad_norm_,
  with a per-step learning rate (some steps clip, some do not): initial params `p0.<name>`, per-step gradients
  `step<k>.grad.<name>`, norms `step<k>.norm`, params after the step `step<k>.<name>`, final moments.
- metadata `schedule/<case>`: JSON {cfg, total, steps, lrs} where lrs are the optimizer's lr recorded through
  torch's LambdaLR driven by a transcription of LeRobot's CosineDecayWithWarmupSchedulerConfig.build.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/foundation_optim.py
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_safetensors import save  # noqa: E402

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "nn", "optim.safetensors")


def lerobot_cosine_lambda(num_warmup_steps, num_decay_steps, peak_lr, decay_lr, num_training_steps):
    """LeRobot CosineDecayWithWarmupSchedulerConfig.build's lr_lambda, auto-scaling included."""
    warmup, decay = num_warmup_steps, num_decay_steps
    if num_training_steps < num_decay_steps:
        scale = num_training_steps / num_decay_steps
        warmup = int(num_warmup_steps * scale)
        decay = num_training_steps

    def lr_lambda(step):
        if step < warmup:
            if step <= 0:
                return 1 / (warmup + 1)
            frac = 1 - step / warmup
            return (1 / (warmup + 1) - 1) * frac + 1
        s = min(step, decay)
        cosine = 0.5 * (1 + math.cos(math.pi * s / decay))
        alpha = decay_lr / peak_lr
        return (1 - alpha) * cosine + alpha

    return lr_lambda


def schedule_case(cfg, total, every):
    """Drives a throwaway optimizer through LambdaLR for `total` steps, recording lr at every `every`-th step."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg["peakLr"])
    lam = lerobot_cosine_lambda(cfg["numWarmupSteps"], cfg["numDecaySteps"], cfg["peakLr"], cfg["decayLr"], total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    steps, lrs = [], []
    for step in range(total):
        if step % every == 0 or step == total - 1:
            steps.append(step)
            lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"cfg": cfg, "total": total, "steps": steps, "lrs": lrs}


def schedules():
    default = {"numWarmupSteps": 1000, "numDecaySteps": 30000, "peakLr": 2.5e-5, "decayLr": 2.5e-6}
    return {
        "default_full": schedule_case(default, 30000, 97),
        "default_autoscaled": schedule_case(default, 3000, 7),
        "finetune": schedule_case({"numWarmupSteps": 2000, "numDecaySteps": 60000, "peakLr": 5e-5, "decayLr": 5e-6}, 60000, 331),
        "pretrain_constant": schedule_case({"numWarmupSteps": 0, "numDecaySteps": 7000000, "peakLr": 5e-5, "decayLr": 5e-5}, 50, 1),
        "past_decay": schedule_case({"numWarmupSteps": 10, "numDecaySteps": 50, "peakLr": 1e-3, "decayLr": 1e-4}, 80, 1),
        "autoscaled_fraction": schedule_case({"numWarmupSteps": 7, "numDecaySteps": 20, "peakLr": 1e-3, "decayLr": 0.0}, 13, 1),
    }


def adamw_case(tensors, meta):
    shapes = {"w1": (4, 3), "b1": (3,), "w2": (3, 2)}
    params = {k: torch.randn(*s, requires_grad=True) for k, s in shapes.items()}
    for k, p in params.items():
        tensors[f"adamw/p0.{k}"] = p.detach().clone()
    cfg = {"b1": 0.9, "b2": 0.95, "eps": 1e-8, "weightDecay": 0.01, "maxNorm": 1.0}
    opt = torch.optim.AdamW(params.values(), lr=1.0, betas=(cfg["b1"], cfg["b2"]), eps=cfg["eps"], weight_decay=cfg["weightDecay"])
    lrs = [1e-3, 5e-3, 2e-2, 2e-2, 1e-2, 3e-3]
    scales = [0.1, 3.0, 0.05, 2.0, 0.3, 10.0]  # gradient sizes: global norms below and above maxNorm
    for k, (lr, sc) in enumerate(zip(lrs, scales)):
        for name, p in params.items():
            p.grad = torch.randn(p.shape) * sc
            tensors[f"adamw/step{k}.grad.{name}"] = p.grad.clone()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), cfg["maxNorm"])
        tensors[f"adamw/step{k}.norm"] = norm.reshape(1)
        opt.param_groups[0]["lr"] = lr
        opt.step()
        for name, p in params.items():
            tensors[f"adamw/step{k}.{name}"] = p.detach().clone()
    for name, p in params.items():
        tensors[f"adamw/mu.{name}"] = opt.state[p]["exp_avg"].clone()
        tensors[f"adamw/nu.{name}"] = opt.state[p]["exp_avg_sq"].clone()
    meta["adamw/opts"] = json.dumps({**cfg, "lrs": lrs, "steps": len(lrs)})


if __name__ == "__main__":
    torch.manual_seed(99)
    tensors = {}
    meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/foundation_optim.py", "torch": torch.__version__}
    adamw_case(tensors, meta)
    for name, case in schedules().items():
        meta[f"schedule/{name}"] = json.dumps(case)
    save(OUT, tensors, meta)
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
