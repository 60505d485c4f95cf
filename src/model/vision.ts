// Qwen3-VL vision tower: patch embedding, interpolated learned positions, 2-D rotary blocks, 2x2 merger (no DeepStack).
import { fromF32, np, type Tensor } from "../tensor/index.ts";
import { assertShape } from "../tensor/errors.ts";
import { applyRope, attention, geluExact, geluTanh, layerNorm, linear } from "../nn/index.ts";
import { qwenVision, type ModelConfig } from "./config.ts";
import { type MergerParams, type VisionBlockParams, type VisionParams } from "./types.ts";

/**
 * HF `fast_pos_embed_interpolate` as a matrix [gh*gw, Npos] in the merge-blocked patch order: each patch mixes
 * the four table entries around linspace(0, side-1, g) with bilinear weights (float32, as torch computes them).
 */
export function posInterpMatrix(side: number, gh: number, gw: number, merge: number): Float32Array {
  const lin = (n: number) => Float32Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Math.fround(((side - 1) * i) / (n - 1))));
  const hi = lin(gh);
  const wi = lin(gw);
  const m = new Float32Array(gh * gw * side * side);
  let row = 0;
  // Merge-blocked order: block row, block col, row in block, col in block.
  for (let br = 0; br < gh / merge; br++) {
    for (let bc = 0; bc < gw / merge; bc++) {
      for (let r = 0; r < merge; r++) {
        for (let c = 0; c < merge; c++) {
          const h = hi[br * merge + r];
          const w = wi[bc * merge + c];
          const hf = Math.trunc(h);
          const wf = Math.trunc(w);
          const hc = Math.min(hf + 1, side - 1);
          const wc = Math.min(wf + 1, side - 1);
          const dh = Math.fround(h - hf);
          const dw = Math.fround(w - wf);
          const base = row * side * side;
          m[base + hf * side + wf] += Math.fround(Math.fround(1 - dh) * Math.fround(1 - dw));
          m[base + hf * side + wc] += Math.fround(Math.fround(1 - dh) * dw);
          m[base + hc * side + wf] += Math.fround(dh * Math.fround(1 - dw));
          m[base + hc * side + wc] += Math.fround(dh * dw);
          row++;
        }
      }
    }
  }
  return m;
}

/** The ViT's 2-D rotary tables [gh*gw, hd] (merge-blocked order): cat(row freqs, col freqs) twice, theta 1e4. */
export function visionRotary(headDim: number, gh: number, gw: number, merge: number): { cos: Float32Array; sin: Float32Array } {
  const dim = headDim / 2;
  const nf = dim / 2;
  const inv = Float32Array.from({ length: nf }, (_, i) => 1 / Math.fround(Math.pow(10000, Math.fround((2 * i) / dim))));
  const cos = new Float32Array(gh * gw * headDim);
  const sin = new Float32Array(gh * gw * headDim);
  let row = 0;
  for (let br = 0; br < gh / merge; br++) {
    for (let bc = 0; bc < gw / merge; bc++) {
      for (let r = 0; r < merge; r++) {
        for (let c = 0; c < merge; c++) {
          const pos = [br * merge + r, bc * merge + c];
          for (let half = 0; half < 2; half++) {
            for (let axis = 0; axis < 2; axis++) {
              for (let i = 0; i < nf; i++) {
                const a = Math.fround(pos[axis] * inv[i]);
                const k = row * headDim + half * dim + axis * nf + i;
                cos[k] = Math.cos(a);
                sin[k] = Math.sin(a);
              }
            }
          }
          row++;
        }
      }
    }
  }
  return { cos, sin };
}

/**
 * Patch embedding of frames [N, 3, H, W] in [0, 1]: normalise (x - 0.5) / 0.5, cut P x P patches in the
 * processor's merge-blocked order, and apply the Conv3d. A still image is the frame repeated over the
 * temporal patch, so the Conv3d equals one matmul with the kernel summed over its time axis.
 */
function patchEmbed(p: VisionParams, frames: Tensor, cfg: ModelConfig): Tensor /* [N, S, Dv] */ {
  const v = qwenVision(cfg);
  const [n, , h, w] = frames.shape;
  const P = v.patch_size;
  const m = v.spatial_merge_size;
  const gh = h / P;
  const gw = w / P;
  const x = frames.mul(2).sub(1); // == (x - 0.5) / 0.5 in float32
  const patches = x
    .reshape([n, 3, gh / m, m, P, gw / m, m, P])
    .transpose([0, 2, 5, 3, 6, 1, 4, 7]) // [N, bh, bw, mh, mw, C, P, P]
    .reshape([n * gh * gw, 3 * P * P]);
  const kernel = np.sum(p.patch_embed.proj.weight.ref, 2).reshape([v.hidden_size, 3 * P * P]); // [Dv, 3PP]
  const y = np.matmul(patches, kernel.transpose()).add(p.patch_embed.proj.bias!.ref); // [N*S, Dv]
  return y.reshape([n, gh * gw, v.hidden_size]);
}

function visionBlock(b: VisionBlockParams, x: Tensor, cos: Tensor, sin: Tensor, cfg: ModelConfig): Tensor {
  const v = qwenVision(cfg);
  const [n, s, d] = x.shape;
  const heads = v.num_heads;
  const hd = d / heads;
  const qkv = linear(b.attn.qkv, layerNorm(b.norm1, x.ref, v.layer_norm_eps)).reshape([n, s, 3, heads, hd]).transpose([2, 0, 3, 1, 4]); // [3, N, H, S, hd]
  const [q, k, val] = np.split(qkv, 3, 0).map((t) => t.reshape([n, heads, s, hd]));
  const qr = applyRope(q, cos.ref, sin.ref);
  const kr = applyRope(k, cos.ref, sin.ref);
  // One image per batch row: this is the official block-diagonal (cu_seqlens) attention.
  const att = attention(qr, kr, val, null, hd ** -0.5).transpose([0, 2, 1, 3]).reshape([n, s, d]);
  const x1 = x.add(linear(b.attn.proj, att));
  const h = linear(b.mlp.linear_fc2, geluTanh(linear(b.mlp.linear_fc1, layerNorm(b.norm2, x1.ref, v.layer_norm_eps))));
  return x1.add(h);
}

/** Qwen3VLVisionPatchMerger: LayerNorm per patch, concat each 2x2 group, Linear, exact GELU, Linear. */
function merger(p: MergerParams, x: Tensor, cfg: ModelConfig): Tensor /* [N, S/m^2, D] */ {
  const [n, s, d] = x.shape;
  const m2 = qwenVision(cfg).spatial_merge_size ** 2;
  const h = layerNorm(p.norm, x, 1e-6).reshape([n, s / m2, m2 * d]);
  return linear(p.linear_fc2, geluExact(linear(p.linear_fc1, h)));
}

/**
 * The vision tower on frames [N, 3, H, W] in [0, 1] (one image per row; H, W multiples of patch x merge).
 * Returns merged features [N, (H/P/m)(W/P/m), D_und]. Borrows `p`, consumes `frames`.
 */
export function visionTower(p: VisionParams, frames: Tensor, cfg: ModelConfig): Tensor {
  const v = qwenVision(cfg);
  const { H, W } = assertShape(frames.shape, ["N", 3, "H", "W"], "visionTower: frames");
  const gh = H / v.patch_size;
  const gw = W / v.patch_size;
  const n = frames.shape[0];
  const side = Math.round(Math.sqrt(v.num_position_embeddings));
  const interp = fromF32(posInterpMatrix(side, gh, gw, v.spatial_merge_size), [gh * gw, side * side]);
  let x = patchEmbed(p, frames, cfg).add(np.matmul(interp, p.pos_embed.ref)); // [N, S, Dv]
  const hd = v.hidden_size / v.num_heads;
  const rot = visionRotary(hd, gh, gw, v.spatial_merge_size);
  const cos = np.broadcastTo(fromF32(rot.cos, [1, gh * gw, hd]), [n, gh * gw, hd]);
  const sin = np.broadcastTo(fromF32(rot.sin, [1, gh * gw, hd]), [n, gh * gw, hd]);
  for (const b of p.blocks) x = visionBlock(b, x, cos, sin, cfg);
  cos.dispose();
  sin.dispose();
  return merger(p.merger, x, cfg);
}
