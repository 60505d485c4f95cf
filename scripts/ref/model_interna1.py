"""PyTorch reference of the 2B InternVLA-A1 policy (`interna1`, official class `InternA1`): the training loss
(`InternA1.forward` + `InternA1Policy.forward`'s reduction) and the cached Euler sampler (`sample_actions`,
`denoise_step`), written from InternRobotics/InternVLA-A1 src/lerobot/policies/InternVLA_A1_2B/
modeling_internvla_a1.py and architecture.md ("The 2B variant differs"), over the Qwen2 blocks of model_ref.py
(mot_layer with q/k/v biases, no q/k norm) and InternViT (internvit.py).

What differs from 3B: the prefix is [256 image tokens x 3 cameras | language tokens] with no vision_start / end
tokens, the language embeddings are multiplied by sqrt(D), positions are 1-D cumsum(pad) - 1 (Qwen2 rotary), and
the gen adapters are named gen_in_proj / gen_out_proj / gen_out_layer_norm.
"""
import math

import torch

from internvit import image_features
from model_ref import additive, cosmos_features, make_att_2d_masks, rec
from model_policy import embed_middle, euler_steps, forward_loss
from model_policy import run_tower as policy_run_tower

I2 = "model.internvl_with_expert."
UND_MODEL = I2 + "und_expert.model."


def embed_name(cfg):
    """The und embedding: untied (Qwen2Config default) -> language_model.embed_tokens; tied -> lm_head."""
    if cfg["text_config"]["tie_word_embeddings"]:
        return I2 + "und_expert.lm_head.weight"
    return UND_MODEL + "language_model.embed_tokens.weight"


def rope_cos_sin(position_ids, head_dim, theta):
    """Qwen2RotaryEmbedding: inv_freq = 1 / theta^(2i/d); cos/sin of cat(freqs, freqs). position_ids [B, L]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = (inv_freq[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def embed_und(W, cfg, images, img_masks, lang_tokens, lang_masks, trace=None):
    """InternA1.embed_und: per camera the InternViT features of frame t (pad = camera mask), then the language
    embeddings x sqrt(D); all att_masks 0 (bidirectional prefix)."""
    embs, pads = [], []
    for i in range(images.shape[1]):
        feats = image_features(W, cfg["vision_config"], images[:, i, 1], UND_MODEL, trace, f"vit.cam{i}")
        embs.append(feats)
        pads.append(img_masks[:, i, None].expand(feats.shape[0], feats.shape[1]))
    lang = W[embed_name(cfg)][lang_tokens]
    embs.append(lang * math.sqrt(lang.shape[-1]))
    pads.append(lang_masks)
    embs = torch.cat(embs, dim=1)
    rec(trace, "prefix_embs", embs)
    pad = torch.cat(pads, dim=1).bool()
    return embs, pad, torch.zeros_like(pad, dtype=torch.int64)


def embed_gen(W, cfg, latents, img_masks, trace=None):
    """InternA1.embed_gen: the 3B gen embedding (gen_in_proj 1x1, downsample_conv k x k stride k, tokens
    (n t h w), pad from the camera masks, att [1, 0, ...]) under the 2B name of the 1x1 conv."""
    return embed_middle(W, cfg, latents, img_masks, trace, in_proj="model.gen_in_proj")


def split_prefix(cfg, batch):
    """Our prefix inputs hold [image-pad runs | text]; the official call takes the text part as lang tokens/masks."""
    n = cfg["n_text_tokens"]
    return batch["token_ids"][:, -n:], batch["token_mask"][:, -n:]


def compute_loss(W, cfg, batch, trace=None):
    """InternA1.forward + InternA1Policy.forward (same reduction as 3B: loss_action over all 32 dims, loss_gen,
    loss) with the 2B prefix (`embed_und`), position_ids = cumsum(pad) - 1 over the joint sequence (1-D Qwen2
    rotary) and the gen_* adapter names (`embed_gen`, `pred_gen_features`)."""
    lang, lang_mask = split_prefix(cfg, batch)

    def prefix():
        return embed_und(W, cfg, batch["images"], batch["image_masks"].bool(), lang, lang_mask, trace)

    def rope(pad, _n_prefix):
        position_ids = torch.cumsum(pad, dim=1) - 1
        tc = cfg["text_config"]
        return position_ids, rope_cos_sin(position_ids, tc["head_dim"], tc["rope_theta"])

    return forward_loss(W, cfg, batch, prefix, rope, ("model.gen_in_proj", "model.gen_out"), trace)


def run_tower(W, cfg, name, x, mask, position_ids, past=None):
    """One expert alone through every layer with the 1-D rotary of `position_ids` [B, L]."""
    tc = cfg["text_config"]
    cs = rope_cos_sin(position_ids, tc["head_dim"], tc["rope_theta"])
    return policy_run_tower(W, cfg, name, x, mask, None, past, cos_sin=cs)


def sample_actions(W, cfg, batch, trace=None):
    """InternA1.sample_actions + denoise_step: und then gen K/V cached once, then num_steps Euler steps."""
    images, img_masks = batch["images"], batch["image_masks"].bool()
    lang, lang_mask = split_prefix(cfg, batch)
    und, und_pad, und_ar = embed_und(W, cfg, images, img_masks, lang, lang_mask)
    und_pos = torch.cumsum(und_pad, dim=1) - 1
    rec(trace, "infer.prefix_positions", und_pos)
    _, kv_und = run_tower(W, cfg, "und", und, additive(make_att_2d_masks(und_pad, und_ar)), und_pos)
    latents = cosmos_features(W, cfg, images[:, :, :2])
    gen, gen_pad, gen_ar, _ = embed_gen(W, cfg, latents, img_masks)
    B, Lg = gen_pad.shape
    m2d = torch.cat([und_pad[:, None, :].repeat(1, Lg, 1), make_att_2d_masks(gen_pad, gen_ar)], dim=2)
    gen_pos = torch.sum(und_pad, dim=-1)[:, None] + torch.cumsum(gen_pad, dim=1) - 1
    rec(trace, "infer.middle_positions", gen_pos)
    _, kv_gen = run_tower(W, cfg, "gen", gen, additive(m2d), gen_pos, kv_und)
    cache = [(torch.cat([a[0], b[0]], 2), torch.cat([a[1], b[1]], 2)) for a, b in zip(kv_und, kv_gen)]
    prefix_pad = torch.cat([und_pad, gen_pad], dim=1)

    def act(suf, mask, suf_pad, step):  # denoise_step
        pos = torch.sum(prefix_pad, dim=-1)[:, None] + torch.cumsum(suf_pad, dim=1) - 1
        if step == 0:
            rec(trace, "infer.suffix_positions", pos)
        return run_tower(W, cfg, "act", suf, mask, pos, cache)[0]

    return euler_steps(W, cfg, batch, prefix_pad, act, trace)
