#!/usr/bin/python3
"""Reference values for the video side of src/data: RGB -> YUV 4:2:0 for the encoder and LeRobot's per-episode
image statistics.

Writes test/fixtures/data/video.safetensors (format version 1):
- yuv/<case>.rgb [H, W, 3] and yuv/<case>.i420 [H*W*3/2]: BT.601 limited range computed in float64 from the
  textbook formulas (Y = 16 + 219/255 (kr R + kg G + kb B); U, V = 128 + 224/255 (B or R - Y) / (2 (1 - kb or kr))
  on each 2x2 block's mean colour), rounded half up and clamped to [0, 255];
- stats/<case>.<stat>: LeRobot `compute_episode_stats` for one video feature (lerobot/datasets/compute_stats.py):
  frames picked by `sample_indices` (np.round(np.linspace(0, n - 1, estimate_num_samples(n)))), strided by
  `auto_downsample_height_width` (only when the larger side is >= 300 px), all sampled pixels fed at once to
  `RunningQuantileStats` (5000-bin histograms, the same class as scripts/ref/data.py), divided by 255. The frames
  are not stored: frame(f, y, x, c) = (3x^2 + 5y + 11f + 67c + floor(xy / 7)) mod 256, which the test recomputes.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/data_video.py
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import HistogramStats, f32  # noqa: E402
from foundation_safetensors import save  # noqa: E402

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "data", "video.safetensors")
KR, KB = 0.299, 0.114


def round_half_up(x):
    return np.clip(np.floor(x + 0.5), 0, 255)


def rgb_to_i420(rgb):
    rgb = rgb.astype(np.float64)
    kg = 1 - KR - KB
    y = 16 + 219 / 255 * (KR * rgb[..., 0] + kg * rgb[..., 1] + KB * rgb[..., 2])
    h, w, _ = rgb.shape
    mean = rgb.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    yy = KR * mean[..., 0] + kg * mean[..., 1] + KB * mean[..., 2]
    u = 128 + 224 / 255 * (mean[..., 2] - yy) / (2 * (1 - KB))
    v = 128 + 224 / 255 * (mean[..., 0] - yy) / (2 * (1 - KR))
    return np.concatenate([round_half_up(p).ravel() for p in (y, u, v)])


def yuv_cases(t, rng):
    smooth = np.stack(np.meshgrid(np.arange(24), np.arange(32), indexing="ij"), -1)
    cases = {
        "random": rng.integers(0, 256, (12, 16, 3)),
        "smooth": np.concatenate([smooth * 7 % 256, (smooth[..., :1] * 3 + 40) % 256], -1),
        "extremes": rng.choice([0, 255], (8, 8, 3)),
    }
    for name, rgb in cases.items():
        t[f"yuv/{name}.rgb"] = f32(rgb)
        t[f"yuv/{name}.i420"] = f32(rgb_to_i420(rgb))
    return list(cases)


def frame(f, h, w):
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return (3 * x * x + 5 * y + 11 * f + 67 * c + (x * y) // 7) % 256


def estimate_num_samples(n, min_num_samples=100, max_num_samples=10_000, power=0.75):
    if n < min_num_samples:
        min_num_samples = n
    return max(min_num_samples, min(int(n ** power), max_num_samples))


def episode_image_stats(n, h, w):
    picks = np.round(np.linspace(0, n - 1, estimate_num_samples(n))).astype(int)
    factor = 1 if max(w, h) < 300 else (int(w / 150) if w > h else int(h / 150))
    pixels = np.concatenate([frame(f, h, w)[::factor, ::factor].reshape(-1, 3) for f in picks])
    s = HistogramStats()
    s.update(pixels.astype(np.float64))
    out = {k: v / 255 for k, v in s.result().items()}
    out["count"] = np.array([len(picks)])
    return out


def stats_cases(t):
    cases = {"long": (130, 240, 320), "short": (40, 48, 64)}
    for name, (n, h, w) in cases.items():
        for k, v in episode_image_stats(n, h, w).items():
            t[f"stats/{name}.{k}"] = f32(v)
    return {k: list(v) for k, v in cases.items()}


def main():
    rng = np.random.default_rng(20261130)
    t = {}
    yuv = yuv_cases(t, rng)
    stats = stats_cases(t)
    meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/data_video.py", "torch": torch.__version__, "numpy": np.__version__,
            "yuv": json.dumps(yuv), "stats": json.dumps(stats)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save(OUT, t, meta)
    print(f"wrote {OUT} ({len(t)} arrays)")


if __name__ == "__main__":
    main()
