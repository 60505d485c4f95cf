"""PyTorch reference of the InternVLA-A1 policy entry points: training loss (QwenA1.forward) and the cached
10-step Euler sampler (QwenA1.sample_actions), over the blocks in model_ref.py. Written from architecture.md.
"""
import math

import torch
import torch.nn.functional as F

from model_ref import (
    EMBED, additive, cosmos_features, final_norm, get_rope_index, make_att_2d_masks, mot_layer, mrope_cos_sin, rec,
    vision_tower,
)

PSEUDO_TOKEN = 777  # filler id for gen/act tokens in the training position pass (get_position_ids)


def embed_prefix(W, cfg, images, token_ids, token_mask, trace=None):
    """Token embeddings with the image-pad rows replaced by the ViT features of frame t, in order."""
    B, V = images.shape[:2]
    frames = images[:, :, 1].reshape(B * V, *images.shape[-3:])
    feats = vision_tower(W, cfg, frames, trace)  # [B*V, n, D]
    embs = W[EMBED][token_ids]  # [B, L, D]
    if cfg["text_config"].get("embed_scale", False):
        embs = embs * math.sqrt(embs.shape[-1])
    flat = embs.reshape(-1, embs.shape[-1]).clone()
    flat[token_ids.reshape(-1) == cfg["image_token_id"]] = feats.reshape(-1, feats.shape[-1])
    embs = flat.view(*embs.shape)
    rec(trace, "prefix_embs", embs)
    return embs, token_mask.bool(), torch.zeros_like(token_mask, dtype=torch.int64)


def embed_middle(W, cfg, latents, image_masks, trace=None, in_proj="model.cosmos_in_proj"):
    """Gen tokens from Cosmos latents [B, V, T, z, h, w]: 1x1 in-proj, k x k stride-k conv, view-major layout.
    `in_proj`: the 1x1 conv's name (3B cosmos_in_proj, 2B gen_in_proj)."""
    B, V, T = latents.shape[:3]
    x = latents.reshape(B * V * T, *latents.shape[3:])
    x = F.conv2d(x, W[in_proj + ".weight"], W[in_proj + ".bias"])
    k = cfg["scale_factor"]
    x = F.conv2d(x, W["model.downsample_conv.weight"], W["model.downsample_conv.bias"], stride=k)
    _, D, h, w = x.shape
    embs = x.view(B, V, T, D, h, w).permute(0, 1, 2, 4, 5, 3).reshape(B, V * T * h * w, D)
    pad = image_masks.bool()[:, :, None].expand(B, V, T * h * w).reshape(B, -1)
    ar = torch.zeros(B, embs.shape[1], dtype=torch.int64)
    ar[:, 0] = 1
    rec(trace, "middle_embs", embs)
    return embs, pad, ar, (V, T, h, w)


def time_embedding(time, dim, min_period, max_period):
    """create_sinusoidal_pos_embedding: computed in float64, then cast to float32."""
    fraction = torch.linspace(0.0, 1.0, dim // 2, dtype=torch.float64)
    period = min_period * (max_period / min_period) ** fraction
    scaling = 1.0 / period * 2 * math.pi
    arg = scaling[None, :] * time.double()[:, None]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1).float()


def embed_suffix(W, cfg, state, x_t, time, trace=None, tag="suffix"):
    """[state token | chunk action tokens fused with the time embedding through the 2-layer SiLU MLP]."""
    s = F.linear(state, W["model.state_proj.weight"], W["model.state_proj.bias"])[:, None]
    a = F.linear(x_t, W["model.action_in_proj.weight"], W["model.action_in_proj.bias"])
    te = time_embedding(time, a.shape[-1], cfg["min_period"], cfg["max_period"])
    rec(trace, f"{tag}.time_emb", te)
    at = torch.cat([a, te[:, None].expand_as(a)], dim=2)
    at = F.linear(F.silu(F.linear(at, W["model.action_time_mlp_in.weight"], W["model.action_time_mlp_in.bias"])),
                  W["model.action_time_mlp_out.weight"], W["model.action_time_mlp_out.bias"])
    embs = torch.cat([s, at], dim=1)
    B, n = embs.shape[:2]
    ar = torch.zeros(B, n, dtype=torch.int64)
    ar[:, 0] = 1
    ar[:, 1] = 1
    rec(trace, f"{tag}.embs", embs)
    return embs, torch.ones(B, n, dtype=torch.bool), ar


def decode_gen(W, cfg, middle_out, shape, head="model.cosmos_out"):
    """decode_cosmos: average the time slots, ConvTranspose k x k, per-pixel LayerNorm(eps 1e-5), Linear to z.
    `head`: the prefix of the LayerNorm / Linear names (3B model.cosmos_out_*, 2B model.gen_out_*)."""
    V, T, h, w = shape
    B, _, D = middle_out.shape
    x = middle_out.view(B, V, T, h, w, D).permute(0, 1, 2, 5, 3, 4).mean(2)  # [B, V, D, h, w]
    x = x.reshape(B * V, D, h, w)
    k = cfg["scale_factor"]
    x = F.conv_transpose2d(x, W["model.upsample_conv.weight"], W["model.upsample_conv.bias"], stride=k)
    H2, W2 = x.shape[-2:]
    x = x.permute(0, 2, 3, 1).reshape(B * V, H2 * W2, D)
    x = F.layer_norm(x, (D,), W[head + "_layer_norm.weight"], W[head + "_layer_norm.bias"], 1e-5)
    x = F.linear(x, W[head + "_proj.weight"], W[head + "_proj.bias"])
    return x.view(B, V, H2, W2, -1).permute(0, 1, 4, 2, 3)


def vision_grid(cfg, images):
    p = cfg["vision_config"]["patch_size"]
    return images.shape[-2] // p, images.shape[-1] // p


def compute_loss(W, cfg, batch, trace=None):
    """QwenA1.forward + the policy's loss reduction: loss_action (mean over all 32 dims), loss_gen, loss."""
    images = batch["images"]

    def prefix():
        return embed_prefix(W, cfg, images, batch["token_ids"], batch["token_mask"], trace)

    def rope(pad, n_prefix):
        ids = torch.full(pad.shape, PSEUDO_TOKEN, dtype=torch.int64)
        ids[:, :n_prefix] = batch["token_ids"]
        pos = get_rope_index(ids, pad.long(), cfg, vision_grid(cfg, images))
        tc = cfg["text_config"]
        return pos, mrope_cos_sin(pos, tc["head_dim"], tc["rope_theta"], tc["mrope_section"])

    return forward_loss(W, cfg, batch, prefix, rope, ("model.cosmos_in_proj", "model.cosmos_out"), trace)


def forward_loss(W, cfg, batch, prefix, rope, gen_names, trace=None):
    """The training forward shared by 3B and 2B: x_t and u_t, `prefix()` -> (embs, pad, ar), the gen tokens of
    frames (t-15, t), the suffix, the pi0 mask, `rope(pad, prefix length)` -> (positions, (cos, sin)), the joint
    layers, the foresight head and both losses. `gen_names`: the gen 1x1 in-proj and the output head prefix."""
    img_masks = batch["image_masks"].bool()
    actions, noise, time = batch["actions"], batch["noise"], batch["time"]
    t = time[:, None, None]
    x_t = t * noise + (1 - t) * actions
    u_t = noise - actions
    pre, pre_pad, pre_ar = prefix()
    latents = cosmos_features(W, cfg, batch["images"], trace)  # [B, V, 3, z, h, w]
    rec(trace, "latents", latents)
    mid, mid_pad, mid_ar, shape = embed_middle(W, cfg, latents[:, :, :2], img_masks, trace, gen_names[0])
    suf, suf_pad, suf_ar = embed_suffix(W, cfg, batch["state"], x_t, time, trace)
    pad = torch.cat([pre_pad, mid_pad, suf_pad], 1)
    ar = torch.cat([pre_ar, mid_ar, suf_ar], 1)
    mask = additive(make_att_2d_masks(pad, ar))
    pos, (cos, sin) = rope(pad, pre.shape[1])
    rec(trace, "train.positions", pos)
    rec(trace, "train.mask", mask)
    xs = [pre, mid, suf]
    for layer in range(cfg["text_config"]["num_hidden_layers"]):
        xs, _ = mot_layer(W, cfg, layer, ["und", "gen", "act"], xs, mask, cos, sin)
        for name, x in zip(["und", "gen", "act"], xs):
            rec(trace, f"train.layer{layer}.{name}", x)
    outs = [final_norm(W, cfg, n, x) for n, x in zip(["und", "gen", "act"], xs)]
    gen_pred = decode_gen(W, cfg, outs[1], shape, gen_names[1])
    loss_gen = F.mse_loss(gen_pred[img_masks], latents[:, :, 2][img_masks])
    v_t = F.linear(outs[2][:, -cfg["chunk_size"]:], W["model.action_out_proj.weight"], W["model.action_out_proj.bias"])
    loss_action = F.mse_loss(u_t, v_t, reduction="none").mean()
    loss = loss_action + cfg["lambda_gen"] * loss_gen
    return {"loss": loss, "loss_action": loss_action, "loss_gen": loss_gen, "v_t": v_t, "gen_pred": gen_pred}


def run_tower(W, cfg, name, x, mask, pos, past=None, trace=None, tag=None, cos_sin=None):
    """One expert alone through every layer (HF use_cache path); `past` holds per-layer (K, V) to prepend.
    RoPE tables from the M-RoPE positions `pos` [3, B, L], or given as `cos_sin` (the 2B 1-D rotary)."""
    tc = cfg["text_config"]
    cos, sin = cos_sin or mrope_cos_sin(pos, tc["head_dim"], tc["rope_theta"], tc["mrope_section"])
    kvs = []
    for layer in range(tc["num_hidden_layers"]):
        (x,), kv = mot_layer(W, cfg, layer, [name], [x], mask, cos, sin, None if past is None else past[layer])
        kvs.append(kv)
        if tag:
            rec(trace, f"{tag}.layer{layer}", x)
    return final_norm(W, cfg, name, x), kvs


def sample_actions(W, cfg, batch, trace=None):
    """QwenA1.sample_actions: prefix and gen K/V computed once, then num_steps Euler steps of the act expert."""
    images, img_masks = batch["images"], batch["image_masks"].bool()
    pre, pre_pad, pre_ar = embed_prefix(W, cfg, images, batch["token_ids"], batch["token_mask"])
    pre_pos = get_rope_index(batch["token_ids"], pre_pad.long(), cfg, vision_grid(cfg, images))
    rec(trace, "infer.prefix_positions", pre_pos)
    _, kv_pre = run_tower(W, cfg, "und", pre, additive(make_att_2d_masks(pre_pad, pre_ar)), pre_pos, None, trace, "infer.und")
    max_pre = pre_pos.max(dim=-1, keepdim=True).values  # [3, B, 1], per row as the official code
    latents = cosmos_features(W, cfg, images[:, :, :2], None)
    mid, mid_pad, mid_ar, _ = embed_middle(W, cfg, latents, img_masks)
    B, Lm = mid_pad.shape
    m2d = torch.cat([pre_pad[:, None].expand(B, Lm, pre_pad.shape[1]), make_att_2d_masks(mid_pad, mid_ar)], dim=2)
    mid_pos = torch.arange(1, Lm + 1).repeat(3, 1, 1) + max_pre
    rec(trace, "infer.middle_positions", mid_pos)
    _, kv_mid = run_tower(W, cfg, "gen", mid, additive(m2d), mid_pos, kv_pre, trace, "infer.gen")
    cache = [(torch.cat([a[0], b[0]], 2), torch.cat([a[1], b[1]], 2)) for a, b in zip(kv_pre, kv_mid)]
    max_mid = mid_pos.max(dim=-1, keepdim=True).values
    cur_pad = torch.cat([pre_pad, mid_pad], 1)

    def act(suf, mask, suf_pad, step):
        pos = torch.arange(1, suf.shape[1] + 1).repeat(3, 1, 1) + max_mid
        if step == 0:
            rec(trace, "infer.suffix_positions", pos)
        return run_tower(W, cfg, "act", suf, mask, pos, cache)[0]

    return euler_steps(W, cfg, batch, cur_pad, act, trace)


def euler_steps(W, cfg, batch, cur_pad, act, trace=None):
    """The official Euler loop from x = noise at t = 1, dt = -1/steps, while t >= -dt/2: the suffix attends to
    the cached keys (pad row `cur_pad`) and itself; `act(suffix, additive mask, suffix pad, step)` runs the act
    expert (final-normed outputs). Returns the actions."""
    B = cur_pad.shape[0]
    dt = torch.tensor(-1.0 / cfg["num_inference_steps"], dtype=torch.float32)
    x_t = batch["noise"].clone()
    time = torch.tensor(1.0, dtype=torch.float32)
    step = 0
    while time >= -dt / 2:
        suf, suf_pad, suf_ar = embed_suffix(W, cfg, batch["state"], x_t, time.expand(B), trace if step == 0 else None, "infer.suffix")
        Ls = suf.shape[1]
        s2d = torch.cat([cur_pad[:, None].expand(B, Ls, cur_pad.shape[1]), make_att_2d_masks(suf_pad, suf_ar)], dim=2)
        out = act(suf, additive(s2d), suf_pad, step)
        v_t = F.linear(out[:, -cfg["chunk_size"]:], W["model.action_out_proj.weight"], W["model.action_out_proj.bias"])
        rec(trace, f"infer.v_t{step}", v_t)
        x_t = x_t + dt * v_t
        time = time + dt
        step += 1
    return x_t
