"""Writes the 2B (`interna1`) parity fixture: a tiny random-weight InternVLA-A1 2B in official names (InternViT +
projector, Qwen2 towers, gen/act experts, Cosmos), its inputs, and every intermediate of the PyTorch reference
(internvit.py, model_interna1.py) for test/model/interna1.test.ts.

Run: OMP_NUM_THREADS=2 /usr/bin/python3 scripts/ref/model_2b.py (OPENBLAS_CORETYPE=SkylakeX only on an AVX-512 CPU).
Writes test/fixtures/model/parity-interna1/{config.json, model.safetensors, in.safetensors, ref.safetensors};
the folder is also a valid `internvla parity --checkpoint` folder.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from internvit import image_features  # noqa: E402
from model import CONFIG, cosmos_shapes, save_folder, tower_shapes  # noqa: E402
from model import make_inputs as model_inputs  # noqa: E402
from model_interna1 import I2, UND_MODEL, compute_loss, embed_name, sample_actions  # noqa: E402
from model_ref import TOWERS_2B  # noqa: E402

FORMAT_VERSION = "1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "model", "parity-interna1")
COSMOS = "model.cosmos_tokenizer."

# A few-layer, narrow InternViT at 32 px (patch 4: an 8x8 grid, pixel-shuffled to 4x4 = 16 tokens of 4 x 32
# channels per camera), q/k/v biases on (the bias path; the a1-2b preset has them off, as the official code),
# Qwen2 towers with an untied lm_head, a missing camera and text padding in the second sample.
CONFIG_2B = {
    **CONFIG,
    "model_type": "interna1",
    "text_config": {**CONFIG["text_config"], "attention_bias": True, "use_qk_norm": False, "embed_scale": True, "rope_theta": 10000.0,
                    "mrope_section": [8, 0, 0], "tie_word_embeddings": False},
    "expert_config": {**CONFIG["expert_config"], "attention_bias": True, "use_qk_norm": False},
    "vision_config": {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "patch_size": 4, "image_size": 32,
        "layer_norm_eps": 1e-6, "attention_bias": True, "use_qk_norm": False, "norm_type": "layer_norm", "hidden_act": "gelu",
        "layer_scale_init_value": 0.1, "use_mean_pooling": True, "downsample_ratio": 0.5, "projector_hidden_act": "gelu",
        "imagenet_mean": [0.485, 0.456, 0.406], "imagenet_std": [0.229, 0.224, 0.225],
    },
}
# A second image size for the vision tower alone: 48 px = a 12x12 grid, so the 8x8 position table is resized
# (HF interpolate_pos_encoding, bicubic).
INTERP_SIZE = 48


def vision_shapes(cfg):
    v, D = cfg["vision_config"], cfg["vision_config"]["hidden_size"]
    P, I, Dt = v["patch_size"], v["intermediate_size"], cfg["text_config"]["hidden_size"]
    e = UND_MODEL + "vision_tower.embeddings."
    out = {e + "cls_token": [1, 1, D], e + "patch_embeddings.projection.weight": [D, 3, P, P], e + "patch_embeddings.projection.bias": [D],
           e + "position_embeddings": [1, 1 + (v["image_size"] // P) ** 2, D]}
    for i in range(v["num_hidden_layers"]):
        p = f"{UND_MODEL}vision_tower.encoder.layer.{i}."
        for q in ("q_proj", "k_proj", "v_proj"):
            out[f"{p}attention.{q}.weight"] = [D, D]
            if v["attention_bias"]:
                out[f"{p}attention.{q}.bias"] = [D]
        out.update({p + "attention.projection_layer.weight": [D, D], p + "attention.projection_layer.bias": [D],
                    p + "lambda_1": [D], p + "lambda_2": [D],
                    p + "layernorm_before.weight": [D], p + "layernorm_before.bias": [D],
                    p + "layernorm_after.weight": [D], p + "layernorm_after.bias": [D],
                    p + "mlp.fc1.weight": [I, D], p + "mlp.fc1.bias": [I], p + "mlp.fc2.weight": [D, I], p + "mlp.fc2.bias": [D]})
    wide = D * int(round(1 / v["downsample_ratio"])) ** 2
    m = UND_MODEL + "multi_modal_projector."
    out.update({m + "layer_norm.weight": [wide], m + "layer_norm.bias": [wide], m + "linear_1.weight": [Dt, wide], m + "linear_1.bias": [Dt],
                m + "linear_2.weight": [Dt, Dt], m + "linear_2.bias": [Dt]})
    return out


def param_shapes(cfg):
    tc, ec = cfg["text_config"], cfg["expert_config"]
    D, De, z, k = tc["hidden_size"], ec["hidden_size"], cfg["cosmos_config"]["latent_channels"], cfg["scale_factor"]
    L, A, S = tc["num_hidden_layers"], cfg["max_action_dim"], cfg["max_state_dim"]
    out = vision_shapes(cfg)
    out.update(tower_shapes(TOWERS_2B["und"], D, tc["intermediate_size"], tc, L))
    out[embed_name(cfg)] = [tc["vocab_size"], D]
    if not tc["tie_word_embeddings"]:
        out[I2 + "und_expert.lm_head.weight"] = [tc["vocab_size"], D]
    out.update(tower_shapes(TOWERS_2B["gen"], De, ec["intermediate_size"], ec, L))
    out.update(tower_shapes(TOWERS_2B["act"], De, ec["intermediate_size"], ec, L))
    out.update(cosmos_shapes(cfg, COSMOS + "_enc_model.", COSMOS + "_dec_model."))
    out.update({"model.gen_in_proj.weight": [De, z, 1, 1], "model.gen_in_proj.bias": [De],
                "model.downsample_conv.weight": [De, De, k, k], "model.downsample_conv.bias": [De],
                "model.upsample_conv.weight": [De, De, k, k], "model.upsample_conv.bias": [De],
                "model.gen_out_proj.weight": [z, De], "model.gen_out_proj.bias": [z],
                "model.gen_out_layer_norm.weight": [De], "model.gen_out_layer_norm.bias": [De],
                "model.action_in_proj.weight": [De, A], "model.action_in_proj.bias": [De],
                "model.action_out_proj.weight": [A, De], "model.action_out_proj.bias": [A],
                "model.state_proj.weight": [De, S], "model.state_proj.bias": [De],
                "model.action_time_mlp_in.weight": [De, 2 * De], "model.action_time_mlp_in.bias": [De],
                "model.action_time_mlp_out.weight": [De, De], "model.action_time_mlp_out.bias": [De]})
    return out


def random_weights(cfg, gen):
    """Every path matters: matrices ~ 1/sqrt(fan_in), norm scales 1 +- 0.1, layer scales 0.5 +- 0.1, biases,
    the class token and the position table ~ N(0, 0.1..0.5), embeddings ~ N(0, 1)."""
    W = {}
    for name, shape in param_shapes(cfg).items():
        leaf = name.split(".")[-1] if name.split(".")[-1] not in ("weight", "bias") else name.split(".")[-2]
        if name.endswith(".bias") or leaf == "cls_token":
            t = torch.randn(shape, generator=gen) * 0.1
        elif leaf.startswith("lambda_"):
            t = 0.5 + torch.randn(shape, generator=gen) * 0.1
        elif leaf == "position_embeddings":
            t = torch.randn(shape, generator=gen) * 0.5
        elif "norm" in leaf or leaf.endswith("layernorm") or leaf.startswith("layernorm_"):
            t = 1 + torch.randn(shape, generator=gen) * 0.1
        elif name.endswith("embed_tokens.weight") or name.endswith("lm_head.weight"):
            t = torch.randn(shape, generator=gen)
        else:
            t = torch.randn(shape, generator=gen) / math.sqrt(math.prod(shape[1:]))
        W[name] = t.float()
    return W


def make_inputs(cfg, gen):
    """model.py's inputs with the 2B prefix: per camera its image-pad run alone (no vision_start / end)."""
    v = cfg["vision_config"]
    per = int(round((v["image_size"] // v["patch_size"] * v["downsample_ratio"]) ** 2))
    return model_inputs(cfg, gen, per, markers=False)


def main():
    torch.manual_seed(0)
    cfg = CONFIG_2B
    gen = torch.Generator().manual_seed(4321)
    W = random_weights(cfg, gen)
    inputs = make_inputs(cfg, gen)
    interp_images = torch.rand(2, 3, INTERP_SIZE, INTERP_SIZE, generator=gen)
    trace = {}
    with torch.no_grad():
        out = compute_loss(W, cfg, inputs, trace)
        sampled = sample_actions(W, cfg, inputs, trace)
        interp = image_features(W, cfg["vision_config"], interp_images, UND_MODEL)
    meta = {"format_version": FORMAT_VERSION, "script": "scripts/ref/model_2b.py"}
    results = {k: out[k].reshape(-1) if out[k].ndim == 0 else out[k] for k in ("loss", "loss_action", "loss_gen", "v_t", "gen_pred")}
    results["actions_sampled"] = sampled
    results["vit_interp.input"] = interp_images
    results["vit_interp.features"] = interp
    results.update(trace)
    v = cfg["vision_config"]
    buffers = {"model.imagenet_mean": torch.tensor(v["imagenet_mean"]).view(1, 3, 1, 1), "model.imagenet_std": torch.tensor(v["imagenet_std"]).view(1, 3, 1, 1)}
    save_folder(OUT, cfg, W, inputs, results, meta, COSMOS, buffers)
    print(f"parity-interna1: loss {out['loss'].item():.6f} loss_action {out['loss_action'].item():.6f} loss_gen {out['loss_gen'].item():.6f}")


if __name__ == "__main__":
    main()
