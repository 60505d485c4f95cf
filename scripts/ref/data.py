#!/usr/bin/python3
"""Reference values for src/data: LeRobot's histogram statistics, the official delta-action statistics and
the PIL-style antialiased bilinear resize used by openpi's resize_with_pad.

Writes test/fixtures/data/reference.safetensors. Each case stores its inputs and expected outputs as float32;
the maths is computed in float64 from the float32-rounded inputs, written from the upstream algorithms:
- LeRobot `RunningQuantileStats` (src/lerobot/datasets/compute_stats.py): running mean / mean of squares,
  5000-bin histograms whose edges are re-made (and old bin centres re-binned) whenever min or max grows,
  quantiles interpolated inside the bin where the cumulative count reaches q * count;
- InternVLA-A1 `util_scripts/compute_norm_stats_multi.py`: delta actions a[t + k] - mask * state[t] over
  every full chunk (torch.unfold), episodes shorter than the chunk skipped;
- torch.nn.functional.interpolate(mode="bilinear", antialias=True), which reproduces PIL's resize.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/data.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_safetensors import save  # noqa: E402

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "data", "reference.safetensors")
QUANTILES = [0.01, 0.10, 0.50, 0.90, 0.99]
BINS = 5000


class HistogramStats:
    """LeRobot's running statistics with histogram quantiles, in float64."""

    def __init__(self):
        self.count = 0

    def update(self, batch):
        batch = batch.reshape(-1, batch.shape[-1]).astype(np.float64)
        n, d = batch.shape
        if self.count == 0:
            self.mean = batch.mean(0)
            self.sq = (batch ** 2).mean(0)
            self.lo = batch.min(0)
            self.hi = batch.max(0)
            self.hist = [np.zeros(BINS) for _ in range(d)]
            self.edges = [np.linspace(self.lo[j] - 1e-10, self.hi[j] + 1e-10, BINS + 1) for j in range(d)]
        else:
            grew = np.any(batch.max(0) > self.hi) or np.any(batch.min(0) < self.lo)
            self.hi = np.maximum(self.hi, batch.max(0))
            self.lo = np.minimum(self.lo, batch.min(0))
            if grew:
                self.rebin()
        self.count += n
        self.mean += (batch.mean(0) - self.mean) * (n / self.count)
        self.sq += ((batch ** 2).mean(0) - self.sq) * (n / self.count)
        for j in range(d):
            self.hist[j] += np.histogram(batch[:, j], bins=self.edges[j])[0]

    def rebin(self):
        for j in range(len(self.hist)):
            pad = (self.hi[j] - self.lo[j]) * 1e-10
            edges = np.linspace(self.lo[j] - pad, self.hi[j] + pad, BINS + 1)
            centres = (self.edges[j][:-1] + self.edges[j][1:]) / 2
            hist = np.zeros(BINS)
            for c, k in zip(centres, self.hist[j]):
                if k > 0:
                    hist[max(0, min(np.searchsorted(edges, c) - 1, BINS - 1))] += k
            self.hist[j] = hist
            self.edges[j] = edges

    def quantile(self, j, q):
        target = q * self.count
        cum = np.cumsum(self.hist[j])
        i = np.searchsorted(cum, target)
        e = self.edges[j]
        if i == 0:
            return e[0]
        if i >= len(cum):
            return e[-1]
        before = cum[i - 1]
        inside = cum[i] - before
        if inside == 0:
            return e[i]
        return e[i] + (target - before) / inside * (e[i + 1] - e[i])

    def result(self):
        out = {"min": self.lo, "max": self.hi, "mean": self.mean, "std": np.sqrt(np.maximum(0, self.sq - self.mean ** 2))}
        for q in QUANTILES:
            out[f"q{int(q * 100):02d}"] = np.array([self.quantile(j, q) for j in range(len(self.hist))])
        return out


def f32(a):
    return torch.tensor(np.asarray(a), dtype=torch.float32)


def stats_cases(t, rng):
    """Batches fed in order; later batches widen the range so the histograms are re-binned."""
    batches = [rng.normal(0, 1, (400, 3)), rng.normal(0.5, 2, (300, 3)), rng.uniform(-1, 1, (5, 3)), rng.standard_t(3, (600, 3))]
    batches = [np.asarray(b, dtype=np.float32) for b in batches]
    s = HistogramStats()
    for i, b in enumerate(batches):
        t[f"hist/in.{i}"] = f32(b)
        s.update(b)
    for k, v in s.result().items():
        t[f"hist/out.{k}"] = f32(v)


def delta_cases(t, rng):
    """Two episodes (one shorter than the chunk, skipped) of state 4 and action 5; mask [T, T, F, T]."""
    chunk = 6
    mask = torch.tensor([True, True, False, True])
    s = HistogramStats()
    for e, n in enumerate([23, 4, 17]):
        state = np.cumsum(rng.normal(0, 0.1, (n, 4)), 0).astype(np.float32)
        action = (np.concatenate([state, rng.uniform(0, 1, (n, 1))], 1) + rng.normal(0, 0.05, (n, 5))).astype(np.float32)
        t[f"delta/in.state.{e}"] = f32(state)
        t[f"delta/in.action.{e}"] = f32(action)
        if n < chunk:
            continue
        st = torch.tensor(state, dtype=torch.float64)
        ac = torch.tensor(action, dtype=torch.float64)
        chunks = ac.unfold(0, chunk, 1).permute(0, 2, 1)
        sub = torch.where(mask, st[: n - chunk + 1], torch.zeros(1, dtype=torch.float64))
        sub = torch.cat([sub, torch.zeros(sub.shape[0], 1, dtype=torch.float64)], 1)
        s.update((chunks - sub[:, None]).numpy())
    for k, v in s.result().items():
        t[f"delta/out.{k}"] = f32(v)
    return {"chunk": chunk, "mask": mask.tolist(), "episodes": 3}


def resize_cases(t, rng):
    """Antialiased bilinear resizes of uint8-valued RGB images [H, W, 3] (down, up, odd sizes)."""
    cases = {"down": (48, 64, 18, 30), "up": (12, 10, 31, 23), "odd": (37, 100, 20, 33), "wide": (30, 40, 84, 112)}
    for name, (h, w, oh, ow) in cases.items():
        img = rng.integers(0, 256, (h, w, 3)).astype(np.float32)
        x = torch.tensor(img, dtype=torch.float64).permute(2, 0, 1)[None]
        y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False, antialias=True)[0].permute(1, 2, 0)
        t[f"resize/{name}.in"] = f32(img)
        t[f"resize/{name}.out"] = f32(y.numpy())
    return {k: list(v) for k, v in cases.items()}


def main():
    rng = np.random.default_rng(20261124)
    t = {}
    stats_cases(t, rng)
    delta = delta_cases(t, rng)
    resize = resize_cases(t, rng)
    meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/data.py", "torch": torch.__version__, "numpy": np.__version__,
            "delta": json.dumps(delta), "resize": json.dumps(resize)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save(OUT, t, meta)
    print(f"wrote {OUT} ({len(t)} arrays)")


if __name__ == "__main__":
    main()
