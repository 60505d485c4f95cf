"""Writes the model parity fixture: a tiny random-weight InternVLA-A1 in official names, inputs, and every
intermediate of the PyTorch reference (model_ref.py, model_policy.py) for test/model/parity.test.ts.

Run: OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/model.py (drop OPENBLAS_CORETYPE on a
CPU without AVX-512, where it stops with "Illegal instruction").
Writes test/fixtures/model/parity/{config.json, model.safetensors, in.safetensors, ref.safetensors} (every
intermediate) and test/fixtures/model/parity-qwen2/ (Qwen2-style towers: outputs only). Each folder is also a
valid `internvla parity --checkpoint` folder.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation_safetensors import save  # noqa: E402
from model_policy import compute_loss, sample_actions  # noqa: E402
from model_ref import DEC, EMBED, ENC, TOWERS, VIS, cosmos_decode, cosmos_levels  # noqa: E402

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "model", "parity")

# The smallest config that still exercises every path: GQA (2 q heads per kv head), M-RoPE with all three
# rows, a non-trivial position-table interpolation (6x6 table on a 4x4 grid), a bilinear resize (16 -> 32 px),
# one Cosmos downsample with a nin_shortcut, the mid attention, and a 2x2 gen grid per frame.
CONFIG = {
    "model_type": "qwena1",
    "chunk_size": 4, "max_action_dim": 32, "max_state_dim": 32, "num_inference_steps": 10, "lambda_gen": 0.01,
    # The reference sampler (model_policy.sample_actions) is the official one: our port must be told to match it.
    "inference_positions": "official",
    "min_period": 0.004, "max_period": 4.0,
    "time_sampling_beta_alpha": 1.5, "time_sampling_beta_beta": 1.0, "time_sampling_scale": 0.999, "time_sampling_offset": 0.001,
    "scale_factor": 2, "n_views": 3, "n_text_tokens": 6,
    "image_token_id": 47, "vision_start_token_id": 45, "vision_end_token_id": 46, "pad_token_id": 0,
    "text_config": {
        "vocab_size": 48, "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6, "rope_theta": 5000000.0, "mrope_section": [4, 2, 2],
        "attention_bias": False, "use_qk_norm": True, "embed_scale": False, "tie_word_embeddings": True,
    },
    "expert_config": {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6, "attention_bias": False, "use_qk_norm": True,
    },
    "vision_config": {
        "hidden_size": 32, "intermediate_size": 64, "depth": 2, "num_heads": 2, "patch_size": 4, "temporal_patch_size": 2,
        "spatial_merge_size": 2, "num_position_embeddings": 36, "out_hidden_size": 48, "deepstack_visual_indexes": [1],
        "layer_norm_eps": 1e-6, "image_size": 16,
    },
    "cosmos_config": {
        "channels": 32, "channels_mult": [1, 2], "num_res_blocks": 1, "latent_channels": 16, "patch_size": 4,
        "spatial_compression": 8, "resolution": 32, "num_groups": 32,
    },
}


# The same policy with Qwen2-style towers (the 2B variant's blocks: q/k/v biases, no q/k norm, text embeddings
# scaled by sqrt(hidden), rope_theta 1e4) and a one-level Cosmos; positions stay the 3B rule.
QWEN2_TOWERS = {
    **CONFIG,
    "text_config": {**CONFIG["text_config"], "attention_bias": True, "use_qk_norm": False, "embed_scale": True, "rope_theta": 10000.0},
    "expert_config": {**CONFIG["expert_config"], "attention_bias": True, "use_qk_norm": False},
    "cosmos_config": {**CONFIG["cosmos_config"], "channels_mult": [1]},
}


def tower_shapes(prefix, D, I, tc, layers):
    H, KV, hd = tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"]
    out = {}
    for i in range(layers):
        p = f"{prefix}layers.{i}."
        a = p + "self_attn."
        out.update({a + "q_proj.weight": [H * hd, D]})
        if tc["attention_bias"]:
            out.update({a + "q_proj.bias": [H * hd]})
        out.update({a + "k_proj.weight": [KV * hd, D]})
        if tc["attention_bias"]:
            out.update({a + "k_proj.bias": [KV * hd]})
        out.update({a + "v_proj.weight": [KV * hd, D]})
        if tc["attention_bias"]:
            out.update({a + "v_proj.bias": [KV * hd]})
        out.update({a + "o_proj.weight": [D, H * hd]})
        if tc["use_qk_norm"]:
            out.update({a + "q_norm.weight": [hd], a + "k_norm.weight": [hd]})
        out.update({
            p + "mlp.gate_proj.weight": [I, D], p + "mlp.up_proj.weight": [I, D], p + "mlp.down_proj.weight": [D, I],
            p + "input_layernorm.weight": [D], p + "post_attention_layernorm.weight": [D],
        })
    out[prefix + "norm.weight"] = [D]
    return out


def res_shapes(p, cin, cout):
    out = {p + "norm1.weight": [cin], p + "norm1.bias": [cin], p + "conv1.weight": [cout, cin, 3, 3], p + "conv1.bias": [cout],
           p + "norm2.weight": [cout], p + "norm2.bias": [cout], p + "conv2.weight": [cout, cout, 3, 3], p + "conv2.bias": [cout]}
    if cin != cout:
        out.update({p + "nin_shortcut.weight": [cout, cin, 1, 1], p + "nin_shortcut.bias": [cout]})
    return out


def attn_shapes(p, c):
    out = {p + "norm.weight": [c], p + "norm.bias": [c]}
    for n in ("q", "k", "v", "proj_out"):
        out.update({f"{p}{n}.weight": [c, c, 1, 1], f"{p}{n}.bias": [c]})
    return out


def cosmos_shapes(cfg, enc=ENC, dec=DEC):
    ENC, DEC = enc, dec  # noqa: N806 (the 2B module is model.cosmos_tokenizer)
    c = cfg["cosmos_config"]
    C, mult, nres, z = c["channels"], c["channels_mult"], c["num_res_blocks"], c["latent_channels"]
    n_levels, n_down = cosmos_levels(c)
    e = ENC + "encoder."
    out = {e + "conv_in.weight": [C, 3 * c["patch_size"] ** 2, 3, 3], e + "conv_in.bias": [C]}
    in_mult = [1] + mult
    for lvl in range(n_levels):
        cin = C * in_mult[lvl]
        for b in range(nres):
            out.update(res_shapes(f"{e}down.{lvl}.block.{b}.", cin, C * mult[lvl]))
            cin = C * mult[lvl]
        if lvl < n_down:
            out.update({f"{e}down.{lvl}.downsample.conv.weight": [cin, cin, 3, 3], f"{e}down.{lvl}.downsample.conv.bias": [cin]})
    top = C * mult[-1]
    out.update(res_shapes(e + "mid.block_1.", top, top))
    out.update(attn_shapes(e + "mid.attn_1.", top))
    out.update(res_shapes(e + "mid.block_2.", top, top))
    out.update({e + "norm_out.weight": [top], e + "norm_out.bias": [top], e + "conv_out.weight": [z, top, 3, 3], e + "conv_out.bias": [z],
                ENC + "quant_conv.weight": [z, z, 1, 1], ENC + "quant_conv.bias": [z],
                DEC + "post_quant_conv.weight": [z, z, 1, 1], DEC + "post_quant_conv.bias": [z]})
    d = DEC + "decoder."
    out.update({d + "conv_in.weight": [top, z, 3, 3], d + "conv_in.bias": [top]})
    out.update(res_shapes(d + "mid.block_1.", top, top))
    out.update(attn_shapes(d + "mid.attn_1.", top))
    out.update(res_shapes(d + "mid.block_2.", top, top))
    cin = top
    for lvl in reversed(range(n_levels)):
        for b in range(nres + 1):
            out.update(res_shapes(f"{d}up.{lvl}.block.{b}.", cin, C * mult[lvl]))
            cin = C * mult[lvl]
        if lvl >= n_levels - n_down:
            out.update({f"{d}up.{lvl}.upsample.conv.weight": [cin, cin, 3, 3], f"{d}up.{lvl}.upsample.conv.bias": [cin]})
    out.update({d + "norm_out.weight": [cin], d + "norm_out.bias": [cin], d + "conv_out.weight": [3 * c["patch_size"] ** 2, cin, 3, 3],
                d + "conv_out.bias": [3 * c["patch_size"] ** 2]})
    return out


def param_shapes(cfg):
    v, tc, ec = cfg["vision_config"], cfg["text_config"], cfg["expert_config"]
    Dv, Iv, P, Tp, m2 = v["hidden_size"], v["intermediate_size"], v["patch_size"], v["temporal_patch_size"], v["spatial_merge_size"] ** 2
    D, De, z, k = tc["hidden_size"], ec["hidden_size"], cfg["cosmos_config"]["latent_channels"], cfg["scale_factor"]
    out = {VIS + "patch_embed.proj.weight": [Dv, 3, Tp, P, P], VIS + "patch_embed.proj.bias": [Dv],
           VIS + "pos_embed.weight": [v["num_position_embeddings"], Dv]}
    for i in range(v["depth"]):
        p = f"{VIS}blocks.{i}."
        out.update({p + "norm1.weight": [Dv], p + "norm1.bias": [Dv], p + "norm2.weight": [Dv], p + "norm2.bias": [Dv],
                    p + "attn.qkv.weight": [3 * Dv, Dv], p + "attn.qkv.bias": [3 * Dv], p + "attn.proj.weight": [Dv, Dv],
                    p + "attn.proj.bias": [Dv], p + "mlp.linear_fc1.weight": [Iv, Dv], p + "mlp.linear_fc1.bias": [Iv],
                    p + "mlp.linear_fc2.weight": [Dv, Iv], p + "mlp.linear_fc2.bias": [Dv]})
    out.update({VIS + "merger.norm.weight": [Dv], VIS + "merger.norm.bias": [Dv], VIS + "merger.linear_fc1.weight": [m2 * Dv, m2 * Dv],
                VIS + "merger.linear_fc1.bias": [m2 * Dv], VIS + "merger.linear_fc2.weight": [D, m2 * Dv], VIS + "merger.linear_fc2.bias": [D]})
    for j in range(len(v["deepstack_visual_indexes"])):
        p = f"{VIS}deepstack_merger_list.{j}."
        out.update({p + "norm.weight": [m2 * Dv], p + "norm.bias": [m2 * Dv], p + "linear_fc1.weight": [m2 * Dv, m2 * Dv],
                    p + "linear_fc1.bias": [m2 * Dv], p + "linear_fc2.weight": [D, m2 * Dv], p + "linear_fc2.bias": [D]})
    L = tc["num_hidden_layers"]
    out.update(tower_shapes(TOWERS["und"], D, tc["intermediate_size"], tc, L))
    out[EMBED] = [tc["vocab_size"], D]
    out.update(tower_shapes(TOWERS["gen"], De, ec["intermediate_size"], ec, L))
    out.update(tower_shapes(TOWERS["act"], De, ec["intermediate_size"], ec, L))
    A, S = cfg["max_action_dim"], cfg["max_state_dim"]
    out.update({"model.cosmos_in_proj.weight": [De, z, 1, 1], "model.cosmos_in_proj.bias": [De],
                "model.downsample_conv.weight": [De, De, k, k], "model.downsample_conv.bias": [De],
                "model.upsample_conv.weight": [De, De, k, k], "model.upsample_conv.bias": [De],
                "model.cosmos_out_layer_norm.weight": [De], "model.cosmos_out_layer_norm.bias": [De],
                "model.cosmos_out_proj.weight": [z, De], "model.cosmos_out_proj.bias": [z],
                "model.state_proj.weight": [De, S], "model.state_proj.bias": [De],
                "model.action_in_proj.weight": [De, A], "model.action_in_proj.bias": [De],
                "model.action_time_mlp_in.weight": [De, 2 * De], "model.action_time_mlp_in.bias": [De],
                "model.action_time_mlp_out.weight": [De, De], "model.action_time_mlp_out.bias": [De],
                "model.action_out_proj.weight": [A, De], "model.action_out_proj.bias": [A]})
    out.update(cosmos_shapes(cfg))
    return out


def random_weights(cfg, gen):
    """Weights large enough that every path matters: matrices ~ 1/sqrt(fan_in), norm scales ~ 1 +- 0.1."""
    W = {}
    for name, shape in param_shapes(cfg).items():
        leaf = name.rsplit(".", 2)[-2]
        if name.endswith(".bias"):
            t = torch.randn(shape, generator=gen) * 0.1
        elif "norm" in leaf or leaf.endswith("layernorm"):
            t = 1 + torch.randn(shape, generator=gen) * 0.1
        elif len(shape) == 1:
            t = torch.randn(shape, generator=gen) * 0.1
        else:
            fan_in = math.prod(shape[1:]) if name != EMBED and "pos_embed" not in name else 1
            t = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        W[name] = t.float()
    return W


def make_inputs(cfg, gen, per=None, markers=True):
    """Two samples (the second with camera 1 missing and padded text); the prefix holds per camera its `per`
    image-pad tokens, between vision_start and vision_end when `markers` (3B), alone otherwise (2B)."""
    B, V, H = 2, cfg["n_views"], cfg["vision_config"]["image_size"]
    if per is None:
        per = (H // cfg["vision_config"]["patch_size"] // cfg["vision_config"]["spatial_merge_size"]) ** 2
    images = torch.rand(B, V, 3, 3, H, H, generator=gen)
    images[1, 1] = 1.0  # a missing camera: all-ones images, mask 0 on its tokens
    image_masks = torch.tensor([[1, 1, 1], [1, 0, 1]], dtype=torch.float32)
    ids, mask = [], []
    texts = [[5, 9, 13, 2], [7, 3, 8, 21, 30, 11]]
    for b in range(B):
        row, mrow = [], []
        for v in range(V):
            run = [cfg["image_token_id"]] * per
            row += [cfg["vision_start_token_id"]] + run + [cfg["vision_end_token_id"]] if markers else run
            mrow += [int(image_masks[b, v].item())] * (per + (2 if markers else 0))
        text = texts[b] + [cfg["pad_token_id"]] * (cfg["n_text_tokens"] - len(texts[b]))
        row += text
        mrow += [1] * len(texts[b]) + [0] * (cfg["n_text_tokens"] - len(texts[b]))
        ids.append(row), mask.append(mrow)
    c, A = cfg["chunk_size"], cfg["max_action_dim"]
    return {
        "images": images, "image_masks": image_masks, "token_ids": torch.tensor(ids, dtype=torch.int64),
        "token_mask": torch.tensor(mask, dtype=torch.float32), "state": torch.randn(B, cfg["max_state_dim"], generator=gen),
        "actions": torch.randn(B, c, A, generator=gen), "noise": torch.randn(B, c, A, generator=gen),
        "time": torch.tensor([0.3, 0.85], dtype=torch.float32),
    }


def save_folder(out_dir, cfg, W, inputs, results, meta, cosmos="model.cosmos.", buffers=None):
    """One fixture folder: model.safetensors (weights + the Cosmos Haar buffers + `buffers`), in, ref, config.json."""
    os.makedirs(out_dir, exist_ok=True)
    weights = dict(W)
    for side, name in (("_enc_model.", "encoder.patcher"), ("_dec_model.", "decoder.unpatcher")):
        weights[f"{cosmos}{side}{name}.wavelets"] = torch.tensor([1 / math.sqrt(2)] * 2)
        weights[f"{cosmos}{side}{name}._arange"] = torch.arange(2, dtype=torch.int64)
    weights.update(buffers or {})
    save(os.path.join(out_dir, "model.safetensors"), weights, meta)
    save(os.path.join(out_dir, "in.safetensors"), inputs, meta)
    save(os.path.join(out_dir, "ref.safetensors"), {k: v.float().contiguous() for k, v in results.items()}, meta)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def write_case(cfg, folder, with_sampling):
    gen = torch.Generator().manual_seed(1234)
    W = random_weights(cfg, gen)
    inputs = make_inputs(cfg, gen)
    trace = {}
    with torch.no_grad():
        out = compute_loss(W, cfg, inputs, trace)
        sampled = sample_actions(W, cfg, inputs, trace if with_sampling else None)
        decoded = cosmos_decode(W, cfg, out["gen_pred"][0, :1], trace) if with_sampling else None
    meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/model.py"}
    results = {k: out[k].reshape(-1) if out[k].ndim == 0 else out[k] for k in ("loss", "loss_action", "loss_gen", "v_t", "gen_pred")}
    results["actions_sampled"] = sampled
    if with_sampling:
        results["decode.image"] = decoded
        results.update(trace)
    save_folder(os.path.join(OUT, "..", folder), cfg, W, inputs, results, meta)
    print(f"{folder}: loss {out['loss'].item():.6f} loss_action {out['loss_action'].item():.6f} loss_gen {out['loss_gen'].item():.6f}")


def main():
    torch.manual_seed(0)
    write_case(CONFIG, "parity", True)
    write_case(QWEN2_TOWERS, "parity-qwen2", False)


if __name__ == "__main__":
    main()
