#!/usr/bin/python3
"""PyTorch reference for src/nn: forward outputs and gradients of every building block.

Writes test/fixtures/nn/<topic>.safetensors. Each case `c` stores its inputs (`c/in.<name>`), parameters
(`c/p.<name>`), the output (`c/out`), a fixed random cotangent `c/R` and the gradients of sum(out * R) with
respect to every float input and parameter (`c/grad.<name>`); `c/opts` in the metadata holds the call options.
Each block is written from the upstream maths it mirrors (HF transformers Qwen3 / Qwen3-VL, torch.nn,
NVIDIA Cosmos-Tokenizer `modules/patching.py`), not from our TypeScript.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/nn.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_safetensors import save  # noqa: E402

FORMAT_VERSION = "1"
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "nn")
MASK_MIN = -2.3819763e38  # the additive mask value of InternVLA-A1 (bf16 min as float32)


class Fixture:
    """Collects cases for one fixture file."""

    def __init__(self, topic: str):
        self.topic = topic
        self.tensors = {}
        self.meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/nn.py", "torch": torch.__version__}

    def case(self, name, fn, inputs, params=None, opts=None, no_grad=()):
        """Runs fn(**inputs, **params, **opts) and stores everything under `name/`."""
        params = params or {}
        opts = opts or {}
        leaves = {}
        for kind, group in (("in", inputs), ("p", params)):
            for k, v in group.items():
                if v.is_floating_point() and k not in no_grad:
                    v = v.clone().requires_grad_(True)
                leaves[k] = v
                self.tensors[f"{name}/{kind}.{k}"] = v.detach().clone()
        out = fn(**leaves, **opts)
        r = torch.randn(out.shape)
        (out * r).sum().backward()
        self.tensors[f"{name}/out"] = out.detach()
        self.tensors[f"{name}/R"] = r
        for k, v in leaves.items():
            if v.requires_grad:
                self.tensors[f"{name}/grad.{k}"] = v.grad.detach()
        self.meta[f"{name}/opts"] = json.dumps(opts)

    def write(self):
        path = os.path.join(OUT_DIR, f"{self.topic}.safetensors")
        save(path, self.tensors, self.meta)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes, {len(self.tensors)} tensors)")


# ---- linear, embedding ------------------------------------------------------------------------------------


def linear(x, weight, bias=None):
    return F.linear(x, weight, bias)


def embedding(table, ids):
    return F.embedding(ids, table)


def fixture_linear():
    f = Fixture("linear")
    f.case("bias", linear, {"x": torch.randn(2, 3, 8)}, {"weight": torch.randn(6, 8) * 0.3, "bias": torch.randn(6)})
    f.case("nobias", linear, {"x": torch.randn(5, 7)}, {"weight": torch.randn(4, 7) * 0.3})
    ids = torch.tensor([[3, 1, 3, 0], [9, 9, 2, 5]], dtype=torch.int64)  # repeats: the gradient accumulates
    f.case("embedding", embedding, {"ids": ids}, {"table": torch.randn(10, 6)})
    f.write()


# ---- norms, activations -------------------------------------------------------------------------------------


def rms_norm(x, weight, eps):
    # Qwen3 RMSNorm as patched by InternVLA-A1: float32 statistics, then weight * normed.
    variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
    normed = x * torch.rsqrt(variance + eps)
    return weight * normed


def layer_norm(x, weight, bias, eps):
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def group_norm(x, weight, bias, groups, eps):
    return F.group_norm(x, groups, weight, bias, eps)


def fixture_norm():
    f = Fixture("norm")
    f.case("rms", rms_norm, {"x": torch.randn(2, 3, 16) * 2 + 0.5}, {"weight": 1 + 0.1 * torch.randn(16)}, {"eps": 1e-6})
    f.case("layer", layer_norm, {"x": torch.randn(4, 12) * 3 - 1}, {"weight": 1 + 0.1 * torch.randn(12), "bias": 0.1 * torch.randn(12)}, {"eps": 1e-6})
    gn_p = {"weight": 1 + 0.1 * torch.randn(8), "bias": 0.1 * torch.randn(8)}
    f.case("group", group_norm, {"x": torch.randn(2, 8, 5, 6) + 0.3}, gn_p, {"groups": 4, "eps": 1e-6})
    f.write()


def fixture_activation():
    f = Fixture("activation")
    x = torch.cat([torch.linspace(-12, 12, 97), torch.randn(63) * 3])
    f.case("silu", lambda x: F.silu(x), {"x": x.clone()})
    f.case("gelu_exact", lambda x: F.gelu(x), {"x": x.clone()})
    f.case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), {"x": x.clone()})
    f.write()


# ---- attention ------------------------------------------------------------------------------------------------


def repeat_kv(h, n_rep):
    # HF repeat_kv: [B, Hkv, L, hd] -> [B, Hkv * n_rep, L, hd], kv head j serving query heads j*n_rep..
    b, hkv, l, hd = h.shape
    return h[:, :, None, :, :].expand(b, hkv, n_rep, l, hd).reshape(b, hkv * n_rep, l, hd)


def eager_attention(q, k, v, scale, mask=None):
    # HF eager_attention_forward: matmul, scale, additive mask, float32 softmax, matmul.
    n_rep = q.shape[1] // k.shape[1]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    w = torch.matmul(q, k.transpose(2, 3)) * scale
    if mask is not None:
        w = w + mask
    w = torch.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(w, v)


def pi0_mask(b, lq, lk):
    """A block-causal additive mask with one fully masked query row (softmax must stay finite: uniform)."""
    allowed = torch.rand(b, 1, lq, lk) > 0.3
    allowed[:, :, :, 0] = True
    allowed[1, 0, 2, :] = False
    return torch.where(allowed, torch.tensor(0.0), torch.tensor(MASK_MIN))


def fixture_attention():
    f = Fixture("attention")
    b, hq, hkv, lq, lk, hd = 2, 4, 2, 5, 7, 8
    qkv = lambda h, l: torch.randn(b, h, l, hd)  # noqa: E731
    scale = 1 / math.sqrt(hd)
    f.case("gqa_mask", eager_attention, {"q": qkv(hq, lq), "k": qkv(hkv, lk), "v": qkv(hkv, lk), "mask": pi0_mask(b, lq, lk)},
           opts={"scale": scale}, no_grad=("mask",))
    f.case("mha_nomask", eager_attention, {"q": qkv(hq, lq), "k": qkv(hq, lk), "v": qkv(hq, lk)}, opts={"scale": 0.3})
    head_mask = torch.where(torch.rand(b, hq, lq, lk) > 0.5, 0.0, MASK_MIN)
    head_mask[..., 0] = 0.0
    f.case("gqa_headmask", eager_attention, {"q": qkv(hq, lq), "k": qkv(1, lk), "v": qkv(1, lk), "mask": head_mask},
           opts={"scale": scale}, no_grad=("mask",))
    f.write()


# ---- RoPE ---------------------------------------------------------------------------------------------------


def inv_freq(rot_dim, theta):
    # HF _compute_default_rope_parameters
    return 1.0 / (theta ** (torch.arange(0, rot_dim, 2, dtype=torch.int64).to(dtype=torch.float) / rot_dim))


def rope_cos_sin(positions, rot_dim, theta):
    # HF LlamaRotaryEmbedding.forward (attention_scaling 1): freqs = inv_freq outer positions, cat(freqs, freqs)
    inv = inv_freq(rot_dim, theta)[None, :, None].expand(positions.shape[0], -1, 1)
    freqs = (inv @ positions[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def mrope_cos_sin(positions, rot_dim, theta, section):
    # HF Qwen3VLTextRotaryEmbedding.forward + apply_interleaved_mrope
    inv = inv_freq(rot_dim, theta)[None, None, :, None].expand(3, positions.shape[1], -1, 1)
    freqs = (inv @ positions[:, :, None, :].float()).transpose(2, 3)  # [3, B, L, rot/2]
    freqs_t = freqs[0].clone()
    for row, offset in ((1, 1), (2, 2)):
        idx = slice(offset, section[row] * 3, 3)
        freqs_t[..., idx] = freqs[row, ..., idx]
    emb = torch.cat((freqs_t, freqs_t), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):
    # HF apply_rotary_pos_emb with unsqueeze_dim=1
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return (x * cos) + (rotate_half(x) * sin)


def fixture_rope():
    f = Fixture("rope")
    # Positions up to ~3000 exercise the float32 range reduction of large angles.
    pos = torch.tensor([[0, 1, 2, 3, 57, 390], [1000, 1001, 2047, 2999, 5, 0]], dtype=torch.float32)
    for name, rot, theta in (("rope64_1e6", 64, 1e6), ("rope128_5e6", 128, 5e6)):
        cos, sin = rope_cos_sin(pos, rot, theta)
        f.tensors[f"{name}/in.positions"] = pos
        f.tensors[f"{name}/out.cos"] = cos
        f.tensors[f"{name}/out.sin"] = sin
        f.meta[f"{name}/opts"] = json.dumps({"rotDim": rot, "theta": theta})
    t = torch.arange(12, dtype=torch.float32) + 40
    mpos = torch.stack([t, t + torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 7, 8, 9]), t + torch.arange(12) % 3 * 5])[:, None, :]
    mpos = torch.cat([mpos, mpos + 300], dim=1)  # [3, 2, 12]
    for name, rot, section in (("mrope128", 128, [24, 20, 20]), ("mrope16", 16, [3, 3, 2])):
        cos, sin = mrope_cos_sin(mpos, rot, 5e6, section)
        f.tensors[f"{name}/in.positions"] = mpos
        f.tensors[f"{name}/out.cos"] = cos
        f.tensors[f"{name}/out.sin"] = sin
        f.meta[f"{name}/opts"] = json.dumps({"rotDim": rot, "theta": 5e6, "section": section})
    cos, sin = rope_cos_sin(pos[:, :5], 16, 1e4)
    f.case("apply", apply_rope, {"x": torch.randn(2, 3, 5, 16), "cos": cos, "sin": sin})
    f.write()


# ---- MLP, convs, upsampling ----------------------------------------------------------------------------------


def swiglu(x, gate, up, down):
    # Qwen3MLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = silu
    return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)


def fixture_mlp():
    f = Fixture("mlp")
    d, h = 8, 12
    params = {"gate": torch.randn(h, d) * 0.3, "up": torch.randn(h, d) * 0.3, "down": torch.randn(d, h) * 0.3}
    f.case("swiglu", swiglu, {"x": torch.randn(2, 3, d)}, params)
    f.write()


def conv2d(x, weight, bias=None, stride=1, padding=(0, 0, 0, 0)):
    top, bottom, left, right = padding
    return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride=stride)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0):
    return F.conv_transpose2d(x, weight, bias, stride=stride, padding=padding)


def fixture_conv():
    f = Fixture("conv")
    x = lambda *s: torch.randn(*s)  # noqa: E731
    f.case("k3s1p1", conv2d, {"x": x(2, 3, 7, 6)}, {"weight": x(5, 3, 3, 3) * 0.3, "bias": x(5)}, {"stride": 1, "padding": [1, 1, 1, 1]})
    # Cosmos Downsample: zero pad right/bottom by 1, conv3x3 stride 2
    f.case("k3s2_down", conv2d, {"x": x(1, 4, 8, 8)}, {"weight": x(3, 4, 3, 3) * 0.3, "bias": x(3)}, {"stride": 2, "padding": [0, 1, 0, 1]})
    f.case("k1", conv2d, {"x": x(2, 6, 3, 4)}, {"weight": x(5, 6, 1, 1) * 0.3, "bias": x(5)}, {"stride": 1, "padding": [0, 0, 0, 0]})
    f.case("k4s4_patch", conv2d, {"x": x(2, 3, 8, 12)}, {"weight": x(4, 3, 4, 4) * 0.3}, {"stride": 4, "padding": [0, 0, 0, 0]})
    f.case("t_k4s2p1", conv_transpose2d, {"x": x(2, 3, 4, 5)}, {"weight": x(3, 4, 4, 4) * 0.3, "bias": x(4)}, {"stride": 2, "padding": 1})
    f.case("t_k2s2", conv_transpose2d, {"x": x(2, 5, 3, 4)}, {"weight": x(5, 3, 2, 2) * 0.3, "bias": x(3)}, {"stride": 2, "padding": 0})
    f.case("t_k3s1", conv_transpose2d, {"x": x(1, 2, 4, 4)}, {"weight": x(2, 3, 3, 3) * 0.3}, {"stride": 1, "padding": 0})
    f.case("upsample", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), {"x": x(2, 3, 3, 4)})
    f.write()


# ---- Cosmos Haar wavelet -------------------------------------------------------------------------------------

HAAR = torch.tensor([1 / math.sqrt(2), 1 / math.sqrt(2)])


def haar_dwt(x):
    """One level of Cosmos `Patcher._dwt` (rescale=True): grouped stride-2 convs along W then H."""
    g = x.shape[1]
    lo = HAAR.flip(0).reshape(1, 1, -1).repeat(g, 1, 1)
    hi = (HAAR * torch.tensor([1.0, -1.0])).reshape(1, 1, -1).repeat(g, 1, 1)
    x = F.pad(x, (0, 1, 0, 1), mode="reflect")
    xl = F.conv2d(x, lo.unsqueeze(2), groups=g, stride=(1, 2))
    xh = F.conv2d(x, hi.unsqueeze(2), groups=g, stride=(1, 2))
    bands = [F.conv2d(s, f.unsqueeze(3), groups=g, stride=(2, 1)) for s in (xl, xh) for f in (lo, hi)]
    return torch.cat(bands, dim=1) / 2  # [LL, LH, HL, HH]


def haar_idwt(x):
    """One level of Cosmos `UnPatcher._idwt` (rescale=True): grouped stride-2 transposed convs along H then W."""
    g = x.shape[1] // 4
    lo = HAAR.flip(0).reshape(1, 1, -1).repeat(g, 1, 1)
    hi = (HAAR * torch.tensor([1.0, -1.0])).reshape(1, 1, -1).repeat(g, 1, 1)
    ll, lh, hl, hh = torch.chunk(x, 4, dim=1)
    up_h = lambda a, f: F.conv_transpose2d(a, f.unsqueeze(3), groups=g, stride=(2, 1))  # noqa: E731
    up_w = lambda a, f: F.conv_transpose2d(a, f.unsqueeze(2), groups=g, stride=(1, 2))  # noqa: E731
    yl = up_h(ll, lo) + up_h(lh, hi)
    yh = up_h(hl, lo) + up_h(hh, hi)
    return (up_w(yl, lo) + up_w(yh, hi)) * 2


def fixture_wavelet():
    f = Fixture("wavelet")
    f.case("patch", haar_dwt, {"x": torch.randn(2, 3, 6, 8)})
    f.case("unpatch", haar_idwt, {"x": torch.randn(2, 12, 3, 4)})
    # Cosmos applies the patcher twice for patch size 4: [3, 16, 16] -> [12, 8, 8] -> [48, 4, 4]
    f.case("patch2", lambda x: haar_dwt(haar_dwt(x)), {"x": torch.randn(1, 3, 16, 16)})
    f.case("unpatch2", lambda x: haar_idwt(haar_idwt(x)), {"x": torch.randn(1, 48, 4, 4)})
    f.write()


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    for i, make in enumerate((fixture_linear, fixture_norm, fixture_activation, fixture_attention, fixture_rope,
                              fixture_mlp, fixture_conv, fixture_wavelet)):
        torch.manual_seed(1234 + i)
        make()
