"""PyTorch reference of the InternVLA-A1 (3B, `qwena1`) policy, written from shared/reference/architecture.md.

Functions over a flat dict `W` of official checkpoint names (weight-names.md), so the fixture weights are saved
exactly as the official `model.safetensors` would hold them. Every function can record intermediates into a
`trace` dict (llm.c style), which scripts/ref/model.py writes next to the inputs. Float32 throughout; the odd
parts of the official code are reproduced on purpose (mask constant, loss over padded dims, time-slot average).
"""
import math

import torch
import torch.nn.functional as F

MASK_VALUE = -2.3819763e38  # OPENPI_ATTENTION_MASK_VALUE, finite (not -inf)
Q = "model.qwen3_vl_with_expert."
VIS = Q + "und_expert.model.visual."
LM = Q + "und_expert.model.language_model."
TOWERS = {"und": LM, "gen": Q + "gen_expert.", "act": Q + "act_expert."}
EMBED = Q + "und_expert.lm_head.weight"  # tied: the stored copy of embed_tokens
ENC = "model.cosmos._enc_model."
DEC = "model.cosmos._dec_model."


# The 2B (`interna1`) module paths: InternA1.internvl_with_expert holds und_expert (HF
# InternVLForConditionalGeneration) and gen/act_expert (HF Qwen2ForCausalLM, layers under `.model.`); the Cosmos
# tokenizer is InternA1.cosmos_tokenizer (official InternVLA_A1_2B/modeling_internvla_a1.py).
I2 = "model.internvl_with_expert."
TOWERS_2B = {"und": I2 + "und_expert.model.language_model.", "gen": I2 + "gen_expert.model.", "act": I2 + "act_expert.model."}


def towers(cfg):
    return TOWERS_2B if cfg["model_type"] == "interna1" else TOWERS


def cosmos_prefix(cfg):
    return "model.cosmos_tokenizer." if cfg["model_type"] == "interna1" else "model.cosmos."


def rec(trace, name, t):
    if trace is not None:
        trace[name] = t.detach().clone().float().contiguous()


# ---------------------------------------------------------------- text towers (Qwen3 blocks)

def rms_norm(x, w, eps):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def mrope_cos_sin(pos, head_dim, theta, section):
    """Qwen3-VL interleaved M-RoPE tables from positions [3, B, L] -> cos, sin [B, L, head_dim]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = pos.float()[..., None] * inv_freq  # [3, B, L, hd/2]
    f = freqs[0].clone()
    for row, offset in ((1, 1), (2, 2)):
        idx = slice(offset, section[row] * 3, 3)
        f[..., idx] = freqs[row][..., idx]
    emb = torch.cat((f, f), dim=-1)
    return emb.cos(), emb.sin()


def attention(q, k, v, mask, scale):
    """Eager attention with GQA (repeat_kv), additive mask, fp32 softmax. q [B,H,Lq,hd], k/v [B,KV,Lk,hd]."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = torch.matmul(q, k.transpose(2, 3)) * scale
    if mask is not None:
        s = s + mask
    p = torch.softmax(s.float(), dim=-1)
    return torch.matmul(p, v)


def qkv(W, prefix, x, tcfg):
    """input_layernorm, q/k/v projections, per-head q/k RMSNorm (or qkv bias for Qwen2). Returns heads-first."""
    B, L, _ = x.shape
    hd = tcfg["head_dim"]
    h = rms_norm(x, W[prefix + "input_layernorm.weight"], tcfg["rms_norm_eps"])
    a = prefix + "self_attn."
    bias = tcfg["attention_bias"]
    q = F.linear(h, W[a + "q_proj.weight"], W[a + "q_proj.bias"] if bias else None).view(B, L, -1, hd)
    k = F.linear(h, W[a + "k_proj.weight"], W[a + "k_proj.bias"] if bias else None).view(B, L, -1, hd)
    v = F.linear(h, W[a + "v_proj.weight"], W[a + "v_proj.bias"] if bias else None).view(B, L, -1, hd)
    if tcfg["use_qk_norm"]:
        q = rms_norm(q, W[a + "q_norm.weight"], tcfg["rms_norm_eps"])
        k = rms_norm(k, W[a + "k_norm.weight"], tcfg["rms_norm_eps"])
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)


def post_attention(W, prefix, x, att, tcfg):
    """o_proj, residual, post_attention_layernorm, SwiGLU MLP, residual."""
    out = F.linear(att, W[prefix + "self_attn.o_proj.weight"]) + x
    h = rms_norm(out, W[prefix + "post_attention_layernorm.weight"], tcfg["rms_norm_eps"])
    m = prefix + "mlp."
    h = F.linear(F.silu(F.linear(h, W[m + "gate_proj.weight"])) * F.linear(h, W[m + "up_proj.weight"]), W[m + "down_proj.weight"])
    return h + out


def mot_layer(W, cfg, layer, names, xs, mask, cos, sin, past=None):
    """One Mixture-of-Transformers layer (compute_layer_complete) over the experts in `names`.

    With `past` = (K, V) of earlier tokens, those are put in front of this call's keys (the cached path).
    Returns the new hidden states per expert and this call's post-RoPE (K, V).
    """
    qs, ks, vs = [], [], []
    for name, x in zip(names, xs):
        tcfg = cfg["text_config"] if name == "und" else cfg["expert_config"]
        q, k, v = qkv(W, f"{towers(cfg)[name]}layers.{layer}.", x, tcfg)
        qs.append(q), ks.append(k), vs.append(v)
    q, k, v = torch.cat(qs, 2), torch.cat(ks, 2), torch.cat(vs, 2)
    q = q * cos[:, None] + rotate_half(q) * sin[:, None]
    k = k * cos[:, None] + rotate_half(k) * sin[:, None]
    kv_new = (k, v)
    if past is not None:
        k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
    hd = cfg["text_config"]["head_dim"]
    att = attention(q, k, v, mask, hd ** -0.5)
    B, H, Lq, _ = att.shape
    att = att.transpose(1, 2).reshape(B, Lq, H * hd)
    outs, start = [], 0
    for name, x in zip(names, xs):
        tcfg = cfg["text_config"] if name == "und" else cfg["expert_config"]
        end = start + x.shape[1]
        outs.append(post_attention(W, f"{towers(cfg)[name]}layers.{layer}.", x, att[:, start:end], tcfg))
        start = end
    return outs, kv_new


def final_norm(W, cfg, name, x):
    tcfg = cfg["text_config"] if name == "und" else cfg["expert_config"]
    return rms_norm(x, W[towers(cfg)[name] + "norm.weight"], tcfg["rms_norm_eps"])


# ---------------------------------------------------------------- masks and positions (host logic)

def make_att_2d_masks(pad, ar):
    cumsum = torch.cumsum(ar, dim=1)
    att = cumsum[:, None, :] <= cumsum[:, :, None]
    return att & (pad[:, None, :] & pad[:, :, None])


def additive(mask2d):
    return torch.where(mask2d[:, None], torch.tensor(0.0), torch.tensor(MASK_VALUE))


def get_rope_index(ids, mask, cfg, grid):
    """HF Qwen3-VL get_rope_index for images only: [3, B, L]; masked tokens get 1 and do not count."""
    m = cfg["vision_config"]["spatial_merge_size"]
    gh, gw = grid[0] // m, grid[1] // m
    img, vstart = cfg["image_token_id"], cfg["vision_start_token_id"]
    B, L = ids.shape
    pos = torch.ones(3, B, L, dtype=torch.int64)
    for b in range(B):
        toks = ids[b][mask[b] == 1].tolist()
        n_img = sum(1 for i, t in enumerate(toks[:-1]) if t == vstart and toks[i + 1] == img)
        parts, st = [], 0
        for _ in range(n_img):
            ed = toks.index(img, st)
            st_idx = parts[-1].max().item() + 1 if parts else 0
            parts.append(torch.arange(ed - st).view(1, -1).expand(3, -1) + st_idx)
            t_i = torch.zeros(gh * gw, dtype=torch.int64)
            h_i = torch.arange(gh).view(-1, 1).expand(gh, gw).flatten()
            w_i = torch.arange(gw).view(1, -1).expand(gh, gw).flatten()
            parts.append(torch.stack([t_i, h_i, w_i]) + (ed - st) + st_idx)
            st = ed + gh * gw
        if st < len(toks):
            st_idx = parts[-1].max().item() + 1 if parts else 0
            parts.append(torch.arange(len(toks) - st).view(1, -1).expand(3, -1) + st_idx)
        pos[:, b, mask[b] == 1] = torch.cat(parts, dim=1)
    return pos


# ---------------------------------------------------------------- vision tower (Qwen3-VL ViT, no DeepStack)

def layer_norm(x, prefix, W, eps):
    return F.layer_norm(x, (x.shape[-1],), W[prefix + "weight"], W[prefix + "bias"], eps)


def vision_patches(frames, vcfg):
    """The Qwen2-VL processor's flattening: frame repeated over the temporal patch, merge-blocked order."""
    N, C, H, Wd = frames.shape
    P, Tp, m = vcfg["patch_size"], vcfg["temporal_patch_size"], vcfg["spatial_merge_size"]
    x = (frames - 0.5) / 0.5
    x = x[:, None].expand(N, Tp, C, H, Wd)
    gh, gw = H // P, Wd // P
    x = x.reshape(N, Tp, C, gh // m, m, P, gw // m, m, P).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape(N, gh * gw, C * Tp * P * P), (gh, gw)


def pos_interp(W, vcfg, gh, gw):
    """fast_pos_embed_interpolate for one image, returned in merge-blocked order [gh*gw, Dv]."""
    n = int(vcfg["num_position_embeddings"] ** 0.5)
    table = W[VIS + "pos_embed.weight"]
    hi, wi = torch.linspace(0, n - 1, gh), torch.linspace(0, n - 1, gw)
    hf, wf = hi.int(), wi.int()
    hc, wc = (hf + 1).clip(max=n - 1), (wf + 1).clip(max=n - 1)
    dh, dw = hi - hf, wi - wf
    idx = [(hf[:, None] * n + wf[None]), (hf[:, None] * n + wc[None]), (hc[:, None] * n + wf[None]), (hc[:, None] * n + wc[None])]
    wts = [(1 - dh)[:, None] * (1 - dw)[None], (1 - dh)[:, None] * dw[None], dh[:, None] * (1 - dw)[None], dh[:, None] * dw[None]]
    pe = sum(table[i.flatten().long()] * w.flatten()[:, None] for i, w in zip(idx, wts))
    m = vcfg["spatial_merge_size"]
    return pe.view(gh // m, m, gw // m, m, -1).permute(0, 2, 1, 3, 4).reshape(gh * gw, -1)


def vision_rotary(vcfg, gh, gw):
    hd = vcfg["hidden_size"] // vcfg["num_heads"]
    dim = hd // 2
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
    table = torch.outer(torch.arange(max(gh, gw), dtype=torch.float), inv_freq)
    m = vcfg["spatial_merge_size"]
    rows = (torch.arange(gh // m)[:, None, None, None] * m + torch.arange(m)[None, None, :, None]).expand(gh // m, gw // m, m, m)
    cols = (torch.arange(gw // m)[None, :, None, None] * m + torch.arange(m)[None, None, None, :]).expand(gh // m, gw // m, m, m)
    emb = torch.cat([table[rows.reshape(-1)], table[cols.reshape(-1)]], dim=-1)
    emb = torch.cat([emb, emb], dim=-1)
    return emb.cos(), emb.sin()


def vision_tower(W, cfg, frames, trace=None):
    """frames [N, 3, H, W] in [0, 1] (one image each) -> merged features [N, (H/P/m)*(W/P/m), D_und]."""
    vcfg = cfg["vision_config"]
    Dv, heads = vcfg["hidden_size"], vcfg["num_heads"]
    patches, (gh, gw) = vision_patches(frames, vcfg)
    N, S, _ = patches.shape
    w = W[VIS + "patch_embed.proj.weight"]
    x = F.conv3d(patches.reshape(N * S, 3, vcfg["temporal_patch_size"], vcfg["patch_size"], vcfg["patch_size"]), w, W[VIS + "patch_embed.proj.bias"], stride=w.shape[2:])
    x = x.view(N, S, Dv)
    rec(trace, "vit.patch_embed", x)
    x = x + pos_interp(W, vcfg, gh, gw)[None]
    rec(trace, "vit.pos_added", x)
    cos, sin = vision_rotary(vcfg, gh, gw)
    hd = Dv // heads
    eps = vcfg["layer_norm_eps"]
    for i in range(vcfg["depth"]):
        p = f"{VIS}blocks.{i}."
        h = layer_norm(x, p + "norm1.", W, eps)
        qkv_ = F.linear(h, W[p + "attn.qkv.weight"], W[p + "attn.qkv.bias"]).view(N, S, 3, heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv_[0], qkv_[1], qkv_[2]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = attention(q, k, v, None, hd ** -0.5).transpose(1, 2).reshape(N, S, Dv)
        x = x + F.linear(att, W[p + "attn.proj.weight"], W[p + "attn.proj.bias"])
        h = layer_norm(x, p + "norm2.", W, eps)
        h = F.linear(F.gelu(F.linear(h, W[p + "mlp.linear_fc1.weight"], W[p + "mlp.linear_fc1.bias"]), approximate="tanh"), W[p + "mlp.linear_fc2.weight"], W[p + "mlp.linear_fc2.bias"])
        x = x + h
        rec(trace, f"vit.block{i}", x)
    m2 = vcfg["spatial_merge_size"] ** 2
    h = layer_norm(x, VIS + "merger.norm.", W, 1e-6).reshape(N, S // m2, m2 * Dv)
    h = F.linear(F.gelu(F.linear(h, W[VIS + "merger.linear_fc1.weight"], W[VIS + "merger.linear_fc1.bias"])), W[VIS + "merger.linear_fc2.weight"], W[VIS + "merger.linear_fc2.bias"])
    rec(trace, "vit.merged", h)
    return h


# ---------------------------------------------------------------- Cosmos CI tokenizer

def group_norm(x, prefix, W, groups):
    return F.group_norm(x, groups, W[prefix + "weight"], W[prefix + "bias"], 1e-6)


def conv(x, prefix, W, stride=1, padding=0):
    return F.conv2d(x, W[prefix + "weight"], W[prefix + "bias"], stride=stride, padding=padding)


def res_block(x, p, W, g):
    h = conv(F.silu(group_norm(x, p + "norm1.", W, g)), p + "conv1.", W, padding=1)
    h = conv(F.silu(group_norm(h, p + "norm2.", W, g)), p + "conv2.", W, padding=1)
    if p + "nin_shortcut.weight" in W:
        x = conv(x, p + "nin_shortcut.", W)
    return x + h


def attn_block(x, p, W, g):
    h = group_norm(x, p + "norm.", W, g)
    q, k, v = conv(h, p + "q.", W), conv(h, p + "k.", W), conv(h, p + "v.", W)
    b, c, hh, ww = q.shape
    a = torch.softmax(torch.bmm(q.reshape(b, c, -1).permute(0, 2, 1), k.reshape(b, c, -1)) * (c ** -0.5), dim=2)
    h = torch.bmm(v.reshape(b, c, -1), a.permute(0, 2, 1)).reshape(b, c, hh, ww)
    return x + conv(h, p + "proj_out.", W)


def haar_dwt(x):
    """Cosmos Patcher._dwt (haar, rescale): grouped convs along W then H, bands [LL, LH, HL, HH], / 2."""
    g = x.shape[1]
    a = 1 / math.sqrt(2)
    hl = torch.tensor([a, a]).reshape(1, 1, -1).repeat(g, 1, 1)
    hh = torch.tensor([a, -a]).reshape(1, 1, -1).repeat(g, 1, 1)
    x = F.pad(x, pad=(0, 1, 0, 1), mode="reflect")
    xl = F.conv2d(x, hl.unsqueeze(2), groups=g, stride=(1, 2))
    xh = F.conv2d(x, hh.unsqueeze(2), groups=g, stride=(1, 2))
    bands = [F.conv2d(xl, hl.unsqueeze(3), groups=g, stride=(2, 1)), F.conv2d(xl, hh.unsqueeze(3), groups=g, stride=(2, 1)),
             F.conv2d(xh, hl.unsqueeze(3), groups=g, stride=(2, 1)), F.conv2d(xh, hh.unsqueeze(3), groups=g, stride=(2, 1))]
    return torch.cat(bands, dim=1) / 2


def haar_idwt(x):
    """Cosmos UnPatcher._idwt (haar, rescale x2)."""
    g = x.shape[1] // 4
    a = 1 / math.sqrt(2)
    hl = torch.tensor([a, a]).reshape(1, 1, -1).repeat(g, 1, 1)
    hh = torch.tensor([a, -a]).reshape(1, 1, -1).repeat(g, 1, 1)
    xll, xlh, xhl, xhh = torch.chunk(x, 4, dim=1)
    yl = F.conv_transpose2d(xll, hl.unsqueeze(3), groups=g, stride=(2, 1)) + F.conv_transpose2d(xlh, hh.unsqueeze(3), groups=g, stride=(2, 1))
    yh = F.conv_transpose2d(xhl, hl.unsqueeze(3), groups=g, stride=(2, 1)) + F.conv_transpose2d(xhh, hh.unsqueeze(3), groups=g, stride=(2, 1))
    y = F.conv_transpose2d(yl, hl.unsqueeze(2), groups=g, stride=(1, 2)) + F.conv_transpose2d(yh, hh.unsqueeze(2), groups=g, stride=(1, 2))
    return y * 2


def cosmos_levels(ccfg):
    n_levels = len(ccfg["channels_mult"])
    n_down = int(math.log2(ccfg["spatial_compression"])) - int(math.log2(ccfg["patch_size"]))
    return n_levels, n_down


def cosmos_encode(W, cfg, x, trace=None, tag="cosmos"):
    """x [N, 3, S, S] in [-1, 1] -> latent [N, z, S/8, S/8] (encoder + quant_conv, identity posterior)."""
    ccfg = cfg["cosmos_config"]
    g = ccfg["num_groups"]
    n_levels, n_down = cosmos_levels(ccfg)
    for _ in range(int(math.log2(ccfg["patch_size"]))):
        x = haar_dwt(x)
    rec(trace, f"{tag}.patched", x)
    enc = cosmos_prefix(cfg) + "_enc_model."
    e = enc + "encoder."
    h = conv(x, e + "conv_in.", W, padding=1)
    for lvl in range(n_levels):
        for blk in range(ccfg["num_res_blocks"]):
            h = res_block(h, f"{e}down.{lvl}.block.{blk}.", W, g)
        if lvl < n_down:
            h = conv(F.pad(h, (0, 1, 0, 1)), f"{e}down.{lvl}.downsample.conv.", W, stride=2)
        rec(trace, f"{tag}.down{lvl}", h)
    h = res_block(h, e + "mid.block_1.", W, g)
    h = attn_block(h, e + "mid.attn_1.", W, g)
    h = res_block(h, e + "mid.block_2.", W, g)
    rec(trace, f"{tag}.mid", h)
    h = conv(F.silu(group_norm(h, e + "norm_out.", W, g)), e + "conv_out.", W, padding=1)
    return conv(h, enc + "quant_conv.", W)


def cosmos_decode(W, cfg, z, trace=None):
    """latent [N, z, h, w] -> image [N, 3, 8h, 8w] (post_quant_conv + decoder + inverse Haar)."""
    ccfg = cfg["cosmos_config"]
    g = ccfg["num_groups"]
    n_levels, n_up = cosmos_levels(ccfg)
    dec = cosmos_prefix(cfg) + "_dec_model."
    d = dec + "decoder."
    h = conv(conv(z, dec + "post_quant_conv.", W), d + "conv_in.", W, padding=1)
    h = res_block(h, d + "mid.block_1.", W, g)
    h = attn_block(h, d + "mid.attn_1.", W, g)
    h = res_block(h, d + "mid.block_2.", W, g)
    rec(trace, "decode.mid", h)
    for lvl in reversed(range(n_levels)):
        for blk in range(ccfg["num_res_blocks"] + 1):
            h = res_block(h, f"{d}up.{lvl}.block.{blk}.", W, g)
        if lvl >= n_levels - n_up:
            h = conv(h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3), f"{d}up.{lvl}.upsample.conv.", W, padding=1)
        rec(trace, f"decode.up{lvl}", h)
    h = conv(F.silu(group_norm(h, d + "norm_out.", W, g)), d + "conv_out.", W, padding=1)
    for _ in range(int(math.log2(ccfg["patch_size"]))):
        h = haar_idwt(h)
    return h


def cosmos_features(W, cfg, frames, trace=None, tag="cosmos"):
    """get_cosmos_features: bilinear resize to the Cosmos input size, map to [-1, 1], encode. frames [..., 3, H, W]."""
    lead = frames.shape[:-3]
    x = frames.reshape(-1, *frames.shape[-3:])
    s = cfg["cosmos_config"]["resolution"]
    x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False) * 2 - 1
    rec(trace, f"{tag}.input", x)
    z = cosmos_encode(W, cfg, x, trace, tag)
    return z.view(*lead, *z.shape[1:])
