"""PyTorch reference for real-time chunking guidance (src/serve/rtc.ts) -> test/fixtures/serve/rtc.safetensors.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/serve_rtc.py

The guidance is LeRobot's RTCProcessor.denoise_step in the pi0 time convention (t = 1 noise, x_clean = x_t - t v),
written here independently, with one deliberate difference that follows the RTC paper and the Kinetix code: the
vector-Jacobian product goes through the velocity field (autograd over v), not only through the x_t term.
Prefix weights copy LeRobot's get_prefix_weights (torch.linspace based) so the TypeScript closed form is checked.
The velocity field is an analytic nonlinear function with fixed random weights; the test rebuilds it in jax-js.
"""

import json
import math
import os
import struct

import torch

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "serve", "rtc.safetensors")

B, H, A, HID = 2, 8, 3, 16
STEPS = 10
PREV_COUNT, DELAY, EXEC_HORIZON, MAX_W = 5, 2, 4, 10.0


def linweights(start, end, total):
    skip = max(total - end, 0)
    n = total - skip - start
    if end <= start or n <= 0:
        return torch.tensor([])
    return torch.linspace(1, 0, n + 2)[1:-1]


def prefix_weights(start, end, total, schedule):
    start = min(start, end)
    if schedule == "zeros":
        w = torch.zeros(total)
        w[:start] = 1.0
        return w
    if schedule == "ones":
        w = torch.ones(total)
        w[end:] = 0.0
        return w
    lin = linweights(start, end, total)
    if schedule == "exp":
        lin = lin * torch.expm1(lin).div(math.e - 1)
    if total - end > 0:
        lin = torch.cat([lin, torch.zeros(total - end)])
    if min(start, total) > 0:
        lin = torch.cat([torch.ones(min(start, total)), lin])
    return lin


def guidance_weight(t, max_w):
    tau = torch.as_tensor(1.0 - t, dtype=torch.float64)
    inv_r2 = ((1 - tau) ** 2 + tau**2) / (1 - tau) ** 2
    c = torch.nan_to_num((1 - tau) / tau, posinf=max_w)
    return float(torch.minimum(torch.nan_to_num(c * inv_r2, posinf=max_w), torch.tensor(max_w, dtype=torch.float64)))


def make_velocity(g):
    w1 = torch.randn(A, HID, generator=g) * 0.8
    b1 = torch.randn(HID, generator=g) * 0.5
    w2 = torch.randn(HID, A, generator=g) * 0.4

    def v(x, t):
        # v(x, t) = tanh(x W1 + t b1) W2 + 0.5 t x
        return torch.tanh(x @ w1 + t * b1) @ w2 + 0.5 * t * x

    return v, {"w1": w1, "b1": b1, "w2": w2}


def guided_velocity(v, x, t, target, weights, max_w):
    x = x.detach().requires_grad_(True)
    vt = v(x, t)
    a_hat = x - t * vt
    err = ((target - a_hat) * weights).detach()
    (corr,) = torch.autograd.grad(a_hat, x, err)
    return (vt - guidance_weight(t, max_w) * corr).detach()


def euler(v, noise, guide=None):
    dt = -1.0 / STEPS
    x = noise.clone()
    for k in range(STEPS):
        t = 1.0 + k * dt
        vel = guided_velocity(v, x, t, *guide) if guide else v(x, t).detach()
        x = x + dt * vel
    return x


def save(tensors, meta, path):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    g = torch.Generator().manual_seed(7)
    v, params = make_velocity(g)
    noise = torch.randn(B, H, A, generator=g)
    prev = torch.randn(PREV_COUNT, A, generator=g)
    target = torch.cat([prev, torch.zeros(H - PREV_COUNT, A)])  # LeRobot zero-pads the leftover chunk
    out = dict(params, noise=noise, prev=prev)
    combos = [(s, e, n, sch) for sch in ("zeros", "ones", "linear", "exp") for (s, e, n) in
              [(0, 4, 8), (2, 4, 8), (2, 6, 8), (3, 3, 8), (5, 3, 8), (2, 10, 8), (0, 8, 8), (1, 2, 5)]]
    out["prefix_weights"] = torch.cat([prefix_weights(*c) for c in combos])
    times = [1.0, 0.9, 0.7, 0.5, 0.3, 0.1, 1e-3]
    out["guidance_weights"] = torch.tensor([guidance_weight(t, MAX_W) for t in times])
    for sch in ("linear", "exp"):
        w = prefix_weights(DELAY, min(EXEC_HORIZON, PREV_COUNT), H, sch).reshape(H, 1)
        for t in (1.0, 0.7, 0.3, 0.1):
            out[f"guided_{sch}_t{t}"] = guided_velocity(v, noise, t, target, w, MAX_W)
        out[f"sample_guided_{sch}"] = euler(v, noise, (target, w, MAX_W))
    out["sample_plain"] = euler(v, noise)
    meta = {
        "format_version": FORMAT_VERSION,
        "generator": "scripts/ref/serve_rtc.py",
        "combos": json.dumps(combos),
        "times": json.dumps(times),
        "config": json.dumps({"B": B, "H": H, "A": A, "steps": STEPS, "prev_count": PREV_COUNT, "delay": DELAY,
                              "execution_horizon": EXEC_HORIZON, "max_guidance_weight": MAX_W}),
    }
    save(out, meta, OUT)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
