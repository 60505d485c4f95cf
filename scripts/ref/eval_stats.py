#!/usr/bin/python3
"""Reference values for src/train/eval: normal quantiles, Wilson intervals, Newcombe differences, mean intervals.

Writes test/fixtures/eval/stats.json. Quantiles come from Python's statistics.NormalDist (AS 241) and are
cross-checked against torch.special.ndtri; the intervals are the textbook formulas evaluated in float64 (the
mean interval with statistics.mean / statistics.stdev).
Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/eval_stats.py
"""
import json
import math
import os
from statistics import NormalDist

import torch

FORMAT = "internvla-eval-stats-fixture/1"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "eval", "stats.json")


def quantile(p):
    z = NormalDist().inv_cdf(p)
    t = torch.special.ndtri(torch.tensor(p, dtype=torch.float64)).item()
    assert abs(z - t) <= 1e-12 * max(1.0, abs(z)), (p, z, t)
    return z


def wilson(k, n, conf):
    z = quantile(1 - (1 - conf) / 2)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if k == 0 else max(0.0, c - h)
    hi = 1.0 if k == n else min(1.0, c + h)
    return lo, hi


def newcombe(a, m, b, n, conf):
    l1, u1 = wilson(a, m, conf)
    l2, u2 = wilson(b, n, conf)
    p1, p2 = a / m, b / n
    d = p1 - p2
    return max(-1.0, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)), min(1.0, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def mean_interval(values, conf):
    from statistics import mean, stdev
    z = quantile(1 - (1 - conf) / 2)
    m = mean(values)
    h = z * stdev(values) / math.sqrt(len(values))
    return m, m - h, m + h


def main():
    ps = [1e-300, 1e-20, 1e-9, 1e-4, 0.001, 0.01, 0.025, 0.05, 0.1, 0.3, 0.425, 0.5, 0.6, 0.9, 0.95, 0.975, 0.995, 0.999999, 1 - 1e-12]
    quantiles = [{"p": p, "z": quantile(p)} for p in ps]
    cases = [(k, n, c) for n in (1, 2, 5, 10, 20, 29, 50, 100, 263) for k in sorted({0, 1, n // 3, n // 2, n - 1, n}) if 0 <= k <= n for c in (0.9, 0.95, 0.99)]
    wilson_rows = [{"k": k, "n": n, "confidence": c, "lo": wilson(k, n, c)[0], "hi": wilson(k, n, c)[1]} for k, n, c in cases]
    pairs = [(56, 70, 48, 80), (9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29), (0, 10, 0, 20), (10, 10, 0, 20), (13, 50, 31, 50), (50, 50, 0, 50)]
    diffs = [{"a": a, "m": m, "b": b, "n": n, "lo": newcombe(a, m, b, n, 0.95)[0], "hi": newcombe(a, m, b, n, 0.95)[1]} for a, m, b, n in pairs]
    samples = [[0.31, 0.27, 0.45, 0.22, 0.39, 0.3], [1.0, 2.0, 3.0, 4.0, 5.0], [0.05 * k * k % 0.7 for k in range(1, 41)]]
    means = [{"values": v, "confidence": c, "mean": mean_interval(v, c)[0], "lo": mean_interval(v, c)[1], "hi": mean_interval(v, c)[2]} for v in samples for c in (0.9, 0.95)]
    with open(OUT, "w") as f:
        json.dump({"format": FORMAT, "quantiles": quantiles, "wilson": wilson_rows, "differences": diffs, "means": means}, f, indent=1)
    print(f"wrote {os.path.normpath(OUT)}: {len(quantiles)} quantiles, {len(wilson_rows)} intervals, {len(diffs)} differences, {len(means)} means")


if __name__ == "__main__":
    main()
