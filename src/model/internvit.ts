// InternViT (HF `InternVLVisionModel`, InternVL3-1B's 300M tower) with the InternVL3 pixel shuffle and projector.
//
// Followed: transformers `models/internvl/modeling_internvl.py` (InternVLVisionEmbeddings, InternVLVisionLayer,
// InternVLModel.get_image_features / pixel_shuffle, InternVLMultiModalProjector) and the official 2B
// `InternA1.embed_und` (ImageNet mean/std on [0, 1] pixels, features of frame t). Axis legend: N images,
// S = 1 + gh*gw tokens (class token first), D ViT width, g = grid / k after the k x k pixel shuffle.
import { fromF32, np, type Tensor } from "../tensor/index.ts";
import { ShapeError, assertShape } from "../tensor/errors.ts";
import { attention, conv2d, geluExact, layerNorm, linear } from "../nn/index.ts";
import { internVision, type ModelConfig } from "./config.ts";
import { type InternVisionParams, type InternVitLayerParams } from "./types.ts";

/** torch's cubic-convolution weights (upsample_bicubic2d, A = -0.75) of the 4 taps around fraction t. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * F.interpolate(mode="bicubic", align_corners=False) along one axis as a matrix [out, in]: source
 * (o + 0.5) * in / out - 0.5, taps floor - 1 .. floor + 2 clamped to the border (as torch does).
 */
export function bicubicMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    const real = Math.fround(scale * (o + 0.5) - 0.5);
    const i0 = Math.floor(real);
    const w = cubicWeights(Math.fround(real - i0));
    for (let j = 0; j < 4; j++) {
      const i = Math.min(Math.max(i0 - 1 + j, 0), inSize - 1);
      m[o * inSize + i] += w[j];
    }
  }
  return m;
}

/**
 * The patch part of the learned position table for a gh x gw grid [gh*gw, D]: the table itself at its native
 * square grid, else HF `interpolate_pos_encoding`'s bicubic resize (a host-built separable matrix).
 * Borrows `table` [1, 1 + n*n, D].
 */
function patchPositions(table: Tensor, gh: number, gw: number): Tensor {
  const [, rows, d] = table.shape;
  const n = Math.round(Math.sqrt(rows - 1));
  const patch = table.ref.slice(0, [1, rows], []); // [n*n, D]
  if (gh === n && gw === n) return patch;
  const mh = bicubicMatrix(n, gh);
  const mw = bicubicMatrix(n, gw);
  const m = new Float32Array(gh * gw * n * n); // kron(mh, mw): [gh*gw, n*n]
  for (let a = 0; a < gh; a++) {
    for (let b = 0; b < gw; b++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) m[(a * gw + b) * n * n + i * n + j] = mh[a * n + i] * mw[b * n + j];
      }
    }
  }
  return np.matmul(fromF32(m, [gh * gw, n * n]), patch).reshape([gh * gw, d]);
}

/** InternVLVisionEmbeddings: Conv2d patches (row-major), class token in front, position table added. */
function embeddings(p: InternVisionParams, pixels: Tensor /* [N, 3, H, W] normalised */, cfg: ModelConfig): Tensor /* [N, S, D] */ {
  const v = internVision(cfg);
  const [n, , h, w] = pixels.shape;
  const gh = h / v.patch_size;
  const gw = w / v.patch_size;
  const e = p.embeddings;
  const patches = conv2d(e.patch_embeddings.projection, pixels, { stride: v.patch_size }); // [N, D, gh, gw]
  const d = patches.shape[1];
  const tokens = patches.reshape([n, d, gh * gw]).transpose([0, 2, 1]); // [N, gh*gw, D]
  const cls = np.broadcastTo(e.cls_token.ref.reshape([1, 1, d]), [n, 1, d]);
  const pos = np.concatenate([e.position_embeddings.ref.slice(0, [0, 1], []), patchPositions(e.position_embeddings, gh, gw)], 0); // [S, D]
  return np.concatenate([cls, tokens], 1).add(pos);
}

/** InternVLVisionLayer: pre-LN attention (q/k/v, projection_layer) and GELU MLP, each scaled by lambda_i before its residual. */
function encoderLayer(l: InternVitLayerParams, x: Tensor /* [N, S, D] */, cfg: ModelConfig): Tensor {
  const v = internVision(cfg);
  const [n, s, d] = x.shape;
  const heads = v.num_attention_heads;
  const hd = d / heads;
  const h = layerNorm(l.layernorm_before, x.ref, v.layer_norm_eps);
  const split = (t: Tensor) => t.reshape([n, s, heads, hd]).transpose([0, 2, 1, 3]); // [N, H, S, hd]
  const a = l.attention;
  const att = attention(split(linear(a.q_proj, h.ref)), split(linear(a.k_proj, h.ref)), split(linear(a.v_proj, h)), null, hd ** -0.5);
  const out = linear(a.projection_layer, att.transpose([0, 2, 1, 3]).reshape([n, s, d]));
  const x1 = x.add(out.mul(l.lambda_1.ref));
  const m = linear(l.mlp.fc2, geluExact(linear(l.mlp.fc1, layerNorm(l.layernorm_after, x1.ref, v.layer_norm_eps))));
  return x1.add(m.mul(l.lambda_2.ref));
}

/**
 * HF `InternVLModel.pixel_shuffle` at scale 1/k followed by the reshape to tokens: feature (i, j) of the
 * g*k x g*k grid lands in token (i / k, j / k) at channel ((i % k) * k + j % k) * C + c. HF's view / permute /
 * view / permute sequence reduces to this one transpose (checked against it in test/model/interna1.test.ts).
 */
export function pixelShuffle(x: Tensor /* [N, (gk)^2, C] */, k: number): Tensor /* [N, g^2, k^2 C] */ {
  const [n, s, c] = x.shape;
  const side = Math.round(Math.sqrt(s));
  if (side * side !== s || side % k !== 0) {
    x.dispose();
    throw new ShapeError(`pixelShuffle: expected a square grid with a side divisible by ${k}, got ${s} tokens`);
  }
  const g = side / k;
  return x.reshape([n, g, k, g, k, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([n, g * g, k * k * c]);
}

/** (x - mean) / std per RGB channel (the official `embed_und` on [0, 1] pixels). Consumes `frames`. */
function imagenetNormalize(frames: Tensor, cfg: ModelConfig): Tensor {
  const v = internVision(cfg);
  const mean = fromF32(Float32Array.from(v.imagenet_mean), [1, 3, 1, 1]);
  const std = fromF32(Float32Array.from(v.imagenet_std), [1, 3, 1, 1]);
  return frames.sub(mean).div(std);
}

/** The ViT alone on frames [N, 3, H, W] in [0, 1]: last hidden state [N, S, D] (class token included). Borrows `p`. */
export function internVitEncoder(p: InternVisionParams, frames: Tensor, cfg: ModelConfig): Tensor {
  const v = internVision(cfg);
  const { H, W } = assertShape(frames.shape, ["N", 3, "H", "W"], "internVitEncoder: frames");
  if (H % v.patch_size !== 0 || W % v.patch_size !== 0) {
    frames.dispose();
    throw new ShapeError(`internVitEncoder: image ${H} x ${W} must be a multiple of patch_size ${v.patch_size}`);
  }
  let x = embeddings(p, imagenetNormalize(frames, cfg), cfg);
  for (const l of p.encoder.layer) x = encoderLayer(l, x, cfg);
  return p.layernorm ? layerNorm(p.layernorm, x, v.layer_norm_eps) : x;
}

/**
 * `get_image_features` (vision_feature_layer -1, strategy "default"): the encoder, class token dropped, pixel
 * shuffle, then the projector LayerNorm (torch default eps 1e-5) -> Linear -> GELU -> Linear. Frames
 * [N, 3, H, W] in [0, 1], square, H a multiple of patch / downsample_ratio. Returns [N, tokens, D_und].
 * Borrows `p`, consumes `frames`.
 */
export function internVisionTower(p: InternVisionParams, frames: Tensor, cfg: ModelConfig): Tensor {
  const v = internVision(cfg);
  const { H, W } = assertShape(frames.shape, ["N", 3, "H", "W"], "internVisionTower: frames");
  const k = Math.round(1 / v.downsample_ratio);
  if (H !== W || H % (v.patch_size * k) !== 0) {
    frames.dispose();
    throw new ShapeError(`internVisionTower: images must be square with a side divisible by ${v.patch_size * k} (patch / downsample_ratio), got ${H} x ${W}`);
  }
  const x = internVitEncoder(p, frames, cfg);
  const [, s] = x.shape;
  const shuffled = pixelShuffle(x.slice([], [1, s], []), k); // [N, g^2, k^2 D]
  const proj = p.multi_modal_projector;
  return linear(proj.linear_2, geluExact(linear(proj.linear_1, layerNorm(proj.layer_norm, shuffled, 1e-5))));
}
