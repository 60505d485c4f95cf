// The frozen Cosmos continuous image tokenizer (CI8x8 at 3B): Haar patching, residual encoder/decoder, bilinear resize.
import { fromF32, lax, np, type Tensor } from "../tensor/index.ts";
import { assertShape } from "../tensor/errors.ts";
import { attention, conv2d, groupNorm, haarPatch, haarUnpatch, silu, upsampleNearest2x } from "../nn/index.ts";
import { type ModelConfig } from "./config.ts";
import { cosmosLevels } from "./params.ts";
import { type AttnBlockParams, type CosmosParams, type MidParams, type ResBlockParams } from "./types.ts";

const GN_EPS = 1e-6;

/**
 * F.interpolate(mode="bilinear", align_corners=False, no antialias) along one axis as a matrix [out, in]:
 * src = (dst + 0.5) * in/out - 0.5, clamped at 0; the right neighbour is clamped to in - 1.
 */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(Math.fround(Math.fround((o + 0.5) * scale) - 0.5), 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l1 = Math.fround(src - i0);
    m[o * inSize + i0] += Math.fround(1 - l1);
    m[o * inSize + i1] += l1;
  }
  return m;
}

/** Bilinear resize of [N, C, H, W] to [N, C, outH, outW] as two matmuls (identity when the size is unchanged). Consumes `x`. */
export function resizeBilinear(x: Tensor, outH: number, outW: number): Tensor {
  const [n, c, h, w] = x.shape;
  if (h === outH && w === outW) return x;
  const rh = fromF32(bilinearMatrix(h, outH), [outH, h]);
  const rw = fromF32(bilinearMatrix(w, outW), [outW, w]);
  // Both products as plain 2-D matmuls: jax-js 0.1.25 orders the batch axes wrongly for [M, K] @ [B, K, N].
  const rows = np.matmul(rh, x.reshape([n * c, h, w]).transpose([1, 0, 2]).reshape([h, n * c * w])); // [outH, NC*W]
  const cols = np.matmul(rows.reshape([outH * n * c, w]), rw.transpose()); // [outH*NC, outW]
  return cols.reshape([outH, n, c, outW]).transpose([1, 2, 0, 3]);
}

function resBlock(p: ResBlockParams, x: Tensor, groups: number): Tensor {
  let h = conv2d(p.conv1, silu(groupNorm(p.norm1, x.ref, groups, GN_EPS)), { padding: 1 });
  h = conv2d(p.conv2, silu(groupNorm(p.norm2, h, groups, GN_EPS)), { padding: 1 });
  const skip = p.nin_shortcut ? conv2d(p.nin_shortcut, x) : x;
  return skip.add(h);
}

/** Single-head attention over the H*W positions, scale c^-0.5, 1x1 projections, residual. */
function attnBlock(p: AttnBlockParams, x: Tensor, groups: number): Tensor {
  const [n, c, h, w] = x.shape;
  const hn = groupNorm(p.norm, x.ref, groups, GN_EPS);
  const heads = (t: Tensor) => t.reshape([n, 1, c, h * w]).transpose([0, 1, 3, 2]); // [N, 1, HW, C]
  const q = heads(conv2d(p.q, hn.ref));
  const k = heads(conv2d(p.k, hn.ref));
  const v = heads(conv2d(p.v, hn));
  const att = attention(q, k, v, null, c ** -0.5).transpose([0, 1, 3, 2]).reshape([n, c, h, w]);
  return x.add(conv2d(p.proj_out, att));
}

function mid(p: MidParams, x: Tensor, groups: number): Tensor {
  return resBlock(p.block_2, attnBlock(p.attn_1, resBlock(p.block_1, x, groups), groups), groups);
}

/** Encoder + quant_conv (identity posterior): x [N, 3, S, S] in [-1, 1] -> latent [N, z, S/c, S/c]. Borrows `p`, consumes `x`. */
export function cosmosEncode(p: CosmosParams, x: Tensor, cfg: ModelConfig): Tensor {
  const c = cfg.cosmos_config;
  const g = c.num_groups;
  const { resamples } = cosmosLevels(cfg);
  let h = x;
  for (let i = 1; i < c.patch_size; i *= 2) h = haarPatch(h);
  const e = p.encoder;
  h = conv2d(e.conv_in, h, { padding: 1 });
  e.down.forEach((level, l) => {
    for (const b of level.block) h = resBlock(b, h, g);
    // Downsample: zero-pad right and bottom by one, then a 3x3 stride-2 conv.
    if (l < resamples) h = conv2d(level.downsample!.conv, h, { stride: 2, padding: [0, 1, 0, 1] });
  });
  h = mid(e.mid, h, g);
  h = conv2d(e.conv_out, silu(groupNorm(e.norm_out, h, g, GN_EPS)), { padding: 1 });
  return conv2d(p.quant_conv, h);
}

/** post_quant_conv + decoder + inverse Haar: latent [N, z, h, w] -> image [N, 3, h*c, w*c] in about [-1, 1]. */
export function cosmosDecode(p: CosmosParams, z: Tensor, cfg: ModelConfig): Tensor {
  const c = cfg.cosmos_config;
  const g = c.num_groups;
  const { levels, resamples } = cosmosLevels(cfg);
  const d = p.decoder;
  let h = conv2d(d.conv_in, conv2d(p.post_quant_conv, z), { padding: 1 });
  h = mid(d.mid, h, g);
  for (let l = levels - 1; l >= 0; l--) {
    for (const b of d.up[l].block) h = resBlock(b, h, g);
    if (l >= levels - resamples) h = conv2d(d.up[l].upsample!.conv, upsampleNearest2x(h), { padding: 1 });
  }
  h = conv2d(d.conv_out, silu(groupNorm(d.norm_out, h, g, GN_EPS)), { padding: 1 });
  for (let i = 1; i < c.patch_size; i *= 2) h = haarUnpatch(h);
  return h;
}

/**
 * The official `get_cosmos_features` on frames [..., 3, H, W] in [0, 1]: bilinear resize to the Cosmos input
 * size, map to [-1, 1], encode. Out of the gradient (the tokenizer is frozen; the t+15 latent is a
 * stop-gradient target). Returns [..., z, h, w]. Borrows `p`, consumes `frames`.
 */
export function encodeFrames(p: CosmosParams, frames: Tensor, cfg: ModelConfig): Tensor {
  const lead = frames.shape.slice(0, -3);
  const { H, W } = assertShape(frames.shape.slice(-3), [3, "H", "W"], "encodeFrames: frames [..., 3, H, W]");
  const n = lead.reduce((a, b) => a * b, 1);
  const s = cfg.cosmos_config.resolution;
  const x = resizeBilinear(frames.reshape([n, 3, H, W]), s, s).mul(2).sub(1);
  const z = lax.stopGradient(cosmosEncode(p, x, cfg));
  return z.reshape([...lead, ...z.shape.slice(1)]);
}
