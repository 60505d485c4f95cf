// The three token segments (prefix images + text, middle Cosmos latents, suffix state + noisy actions) and the foresight head.
import { np, type Tensor } from "../tensor/index.ts";
import { assertShape } from "../tensor/errors.ts";
import { conv2d, convTranspose2d, embedding, layerNorm, linear, silu } from "../nn/index.ts";
import { tokenLayout, type ModelConfig } from "./config.ts";
import { timeEmbedding } from "./flow.ts";
import { imageTokenOffsets } from "./layout.ts";
import { internVisionTower } from "./internvit.ts";
import { type InternVisionParams, type PolicyParams, type VisionParams } from "./types.ts";
import { visionTower } from "./vision.ts";

/**
 * Prefix embeddings [B, Lp, D]: token embeddings with each camera's image-pad run replaced by the vision features
 * of frame t (index 1), as the official `embed_prefix` (3B: Qwen3-VL ViT, no scaling) / `embed_und` (2B:
 * InternViT, text x sqrt(D), images unscaled, no vision_start / vision_end around them). The layout is static
 * (layout.ts `checkTokenLayout` validates ids on the host), so the replacement is a concatenation.
 * Borrows `p`, consumes `images` [B, V, 3, 3, H, W] and `tokenIds` int32 [B, Lp].
 */
export function embedPrefix(p: PolicyParams, images: Tensor, tokenIds: Tensor, cfg: ModelConfig): Tensor {
  const { B, V, H, W } = assertShape(images.shape, ["B", "V", 3, 3, "H", "W"], "embedPrefix: images");
  const { imageTokens, prefix } = tokenLayout(cfg);
  assertShape(tokenIds.shape, [B, prefix], "embedPrefix: token_ids");
  const frames = images.slice([], [], 1).reshape([B * V, 3, H, W]);
  const feats =
    cfg.model_type === "interna1" ? internVisionTower(p.vision as InternVisionParams, frames, cfg) : visionTower(p.vision as VisionParams, frames, cfg); // [B*V, n, D]
  const d = feats.shape[2];
  let emb = embedding(p.embed_tokens, tokenIds); // [B, Lp, D]
  if (cfg.text_config.embed_scale) emb = emb.mul(Math.sqrt(d));
  const pieces: Tensor[] = [];
  const offsets = imageTokenOffsets(cfg);
  const perView = feats.reshape([B, V, imageTokens, d]);
  let at = 0; // the next prefix position not yet taken
  offsets.forEach((off, v) => {
    if (off > at) pieces.push(emb.ref.slice([], [at, off], []));
    pieces.push(perView.ref.slice([], v, [], []));
    at = off + imageTokens;
  });
  pieces.push(emb.slice([], [at, prefix], []));
  perView.dispose();
  return np.concatenate(pieces, 1);
}

/**
 * Middle (gen) embeddings [B, V*T*g*g, De] from Cosmos latents [B, V, T, z, h, w]: 1x1 `cosmos_in_proj`, then
 * the k x k stride-k `downsample_conv`; token order view, time, row, column (official rearrange). Consumes `latents`.
 */
export function embedMiddle(p: PolicyParams, latents: Tensor, cfg: ModelConfig): Tensor {
  const z = cfg.cosmos_config.latent_channels;
  const { B, V, T, h, w } = assertShape(latents.shape, ["B", "V", "T", z, "h", "w"], "embedMiddle: latents");
  let x = conv2d(p.cosmos_in_proj, latents.reshape([B * V * T, z, h, w]));
  x = conv2d(p.downsample_conv, x, { stride: cfg.scale_factor }); // [BVT, De, g, g]
  const [, De, gh, gw] = x.shape;
  return x.reshape([B, V, T, De, gh, gw]).transpose([0, 1, 2, 4, 5, 3]).reshape([B, V * T * gh * gw, De]);
}

/**
 * Suffix embeddings [B, 1 + chunk, De]: the state token, then each noisy action fused with the sinusoidal time
 * embedding: mlp_out(silu(mlp_in(cat(action_in_proj(x_t), time_emb)))) (pi0, no adaRMS).
 * Borrows `p`, consumes `state` [B, S], `xT` [B, chunk, A] and `time` [B].
 */
export function embedSuffix(p: PolicyParams, state: Tensor, xT: Tensor, time: Tensor, cfg: ModelConfig): Tensor {
  const { B, c } = assertShape(xT.shape, ["B", "c", cfg.max_action_dim], "embedSuffix: x_t");
  const s = linear(p.state_proj, state).reshape([B, 1, -1]);
  const a = linear(p.action_in_proj, xT); // [B, c, De]
  const De = a.shape[2];
  const te = timeEmbedding(time, De, cfg.min_period, cfg.max_period); // [B, De]
  const at = np.concatenate([a, np.broadcastTo(te.reshape([B, 1, De]), [B, c, De])], 2);
  const fused = linear(p.action_time_mlp_out, silu(linear(p.action_time_mlp_in, at)));
  return np.concatenate([s, fused], 1);
}

/**
 * The foresight head (official `decode_cosmos`): gen outputs [B, Lm, De] are averaged over the two time slots
 * BEFORE the transposed conv (as the official code does), then ConvTranspose k x k stride k, a per-pixel
 * LayerNorm (eps 1e-5, torch default) and a Linear to z channels. Returns the predicted latent [B, V, z, h, w].
 * Borrows `p`, consumes `genOut`.
 */
export function foresightHead(p: PolicyParams, genOut: Tensor, cfg: ModelConfig): Tensor {
  const { genGrid: g } = tokenLayout(cfg);
  const [B, , De] = genOut.shape;
  const V = cfg.n_views;
  const avg = np.mean(genOut.reshape([B, V, 2, g, g, De]), 2); // [B, V, g, g, De]
  const up = convTranspose2d(p.upsample_conv, avg.transpose([0, 1, 4, 2, 3]).reshape([B * V, De, g, g]), { stride: cfg.scale_factor });
  const [, , h, w] = up.shape;
  const pixels = layerNorm(p.cosmos_out_layer_norm, up.transpose([0, 2, 3, 1]), 1e-5); // [BV, h, w, De]
  const z = linear(p.cosmos_out_proj, pixels); // [BV, h, w, z]
  return z.reshape([B, V, h, w, z.shape[3]]).transpose([0, 1, 4, 2, 3]);
}
