#!/usr/bin/python3
"""PyTorch side of bench/engine.ts: matmul GFLOP/s and the same small-transformer train step, printed as JSON.

The model mirrors BENCH_MODEL in bench/engine.ts: pre-norm RMSNorm blocks, RoPE (rotate_half), causal softmax
attention, SwiGLU MLP, final RMSNorm, linear head, MSE, global-norm clip 1.0, AdamW(0.9, 0.95, 1e-8, wd 0.01).
Run by bench/engine.ts with OMP_WAIT_POLICY=PASSIVE (and OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

MATMULS = [(512, 512, 512), (1024, 1024, 1024), (256, 896, 4864)]


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(torch.nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.Parameter(torch.ones(d)), torch.nn.Parameter(torch.ones(d))
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = torch.nn.Linear(d, f, bias=False), torch.nn.Linear(d, f, bias=False)
        self.down = torch.nn.Linear(f, d, bias=False)

    def forward(self, x, mask, cos, sin, heads, eps):
        b, l, d = x.shape
        split = lambda t: t.view(b, l, heads, d // heads).transpose(1, 2)  # noqa: E731
        n = rms_norm(x, self.ln1, eps)
        q, k, v = split(self.q(n)), split(self.k(n)), split(self.v(n))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        w = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(d // heads) + mask, dim=-1)
        x = x + self.o((w @ v).transpose(1, 2).reshape(b, l, d))
        n = rms_norm(x, self.ln2, eps)
        return x + self.down(F.silu(self.gate(n)) * self.up(n))


def train_step_ms(cfg, steps):
    torch.manual_seed(0)
    d, l, b = cfg["hidden"], cfg["seq"], cfg["batch"]
    blocks = torch.nn.ModuleList(Block(d, cfg["mlp"]) for _ in range(cfg["layers"]))
    norm, head = torch.nn.Parameter(torch.ones(d)), torch.nn.Linear(d, d, bias=False)
    for p in list(blocks.parameters()) + [head.weight]:
        if p.dim() == 2:
            torch.nn.init.normal_(p, std=0.02)
    params = list(blocks.parameters()) + [norm, head.weight]
    opt = torch.optim.AdamW(params, lr=cfg["lr"], betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)
    x, y = torch.randn(b, l, d), torch.randn(b, l, d)
    mask = torch.triu(torch.full((l, l), -1e30), 1)
    hd = d // cfg["heads"]
    inv = 1.0 / (cfg["theta"] ** (torch.arange(0, hd, 2).float() / hd))
    freqs = torch.arange(l).float()[:, None] * inv[None, :]
    cos, sin = torch.cat((freqs, freqs), -1).cos(), torch.cat((freqs, freqs), -1).sin()
    def loss_fn():
        h = x
        for blk in blocks:
            h = blk(h, mask, cos, sin, cfg["heads"], cfg["eps"])
        return F.mse_loss(head(rms_norm(h, norm, cfg["eps"])), y)

    return timed_train_steps(loss_fn, params, opt, steps)


def timed_train_steps(loss_fn, params, opt, steps):
    """steps + 1 clipped (1.0) optimizer steps of loss_fn(); the first is a warm-up. Median ms, runs, first/last loss."""
    times, losses = [], []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if i > 0:
            times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": statistics.median(times), "runs_ms": [round(t) for t in times], "loss": [losses[0], losses[-1]]}


def loaded_blas():
    """The BLAS library this process actually mapped (Debian's python3-torch calls whatever libblas.so.3 resolves to)."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    return ", ".join(libs) or "unknown"


def matmul_gflops(m, k, n, reps=8):
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * m * k * n / statistics.median(times) / 1e9


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--model", type=str, required=True, help="BENCH_MODEL from bench/engine.ts as JSON")
    args = ap.parse_args()
    cfg = json.loads(args.model)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "matmul": {f"{m}x{k}x{n}": round(matmul_gflops(m, k, n), 1) for m, k, n in MATMULS},
        "train_step": train_step_ms(cfg, args.steps),
        "blas": loaded_blas(),
    }
    print(json.dumps(out))
