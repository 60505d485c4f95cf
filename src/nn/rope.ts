// Rotary position embeddings: 1-D RoPE, Qwen3-VL interleaved M-RoPE and the rotate_half application.
import { fromF32, np, type Tensor } from "../tensor/index.ts";
import { ShapeError, assertShape, fmtShape } from "../tensor/errors.ts";

/**
 * inv_freq_i = 1 / theta^(2i / rotDim) for i < rotDim/2, rounded step by step to float32 exactly as HF's
 * `_compute_default_rope_parameters` (float32 arange / dim, float32 pow, float32 reciprocal).
 */
export function ropeInvFreq(rotDim: number, theta: number): Float32Array {
  if (!Number.isInteger(rotDim) || rotDim <= 0 || rotDim % 2 !== 0) {
    throw new ShapeError(`rope: rotDim must be a positive even integer, got ${rotDim}`);
  }
  const out = new Float32Array(rotDim / 2);
  const base = Math.fround(theta);
  for (let i = 0; i < out.length; i++) {
    const exponent = Math.fround((2 * i) / rotDim);
    out[i] = 1 / Math.fround(Math.pow(base, exponent));
  }
  return out;
}

// 2*pi split into three float32 parts (Cody-Waite): C1 and C2 carry 8 significant bits each, so k*C1 and
// k*C2 are exact for |k| < 2^16 (angles up to ~4e5 rad), and the reduced angle keeps float32 accuracy.
const TWO_PI_C1 = 6.28125;
const TWO_PI_C2 = Math.floor((2 * Math.PI - TWO_PI_C1) * 2 ** 17) / 2 ** 17;
const TWO_PI_C3 = Math.fround(2 * Math.PI - TWO_PI_C1 - TWO_PI_C2);

/**
 * cos and sin of float32 angles, reduced to [-pi, pi] first: the engine's cos/sin lose ~1e-5 absolute at
 * angles of a few hundred radians (positions x inv_freq), while torch's are correctly rounded.
 * Consumes `angle`.
 */
export function cosSin(angle: Tensor): { cos: Tensor; sin: Tensor } {
  const k = np.floor(angle.ref.mul(1 / (2 * Math.PI)).add(0.5));
  const r = angle.sub(k.ref.mul(TWO_PI_C1)).sub(k.ref.mul(TWO_PI_C2)).sub(k.mul(TWO_PI_C3));
  return { cos: np.cos(r.ref), sin: np.sin(r) };
}

/** cos/sin tables cat(f, f) from per-slot angles f [B, L, rotDim/2] (HF convention). Consumes `freqs`. */
function tablesFromFreqs(freqs: Tensor): { cos: Tensor; sin: Tensor } {
  const { cos, sin } = cosSin(freqs);
  return { cos: np.concatenate([cos.ref, cos], -1), sin: np.concatenate([sin.ref, sin], -1) };
}

/**
 * 1-D RoPE tables: inv_freq_i = theta^(-2i/rotDim); returns cos/sin = cat(freqs, freqs) (HF convention).
 * Consumes `positions`.
 */
export function ropeCosSin(
  positions: Tensor /* f32 [B, L] */,
  rotDim: number,
  theta: number,
): { cos: Tensor; sin: Tensor } /* [B, L, rotDim] */ {
  if (positions.ndim !== 2) {
    const found = fmtShape(positions.shape);
    positions.dispose();
    throw new ShapeError(`ropeCosSin: positions must be [B, L], got ${found}`);
  }
  const invFreq = fromF32(ropeInvFreq(rotDim, theta), [rotDim / 2]);
  const [b, l] = positions.shape;
  return tablesFromFreqs(positions.astype(np.float32).reshape([b, l, 1]).mul(invFreq)); // [B, L, rotDim/2]
}

/** Which position row (0 = T, 1 = H, 2 = W) feeds frequency slot i under Qwen3-VL's interleaved M-RoPE. */
export function mropeRow(i: number, section: readonly [number, number, number]): 0 | 1 | 2 {
  if (i % 3 === 1 && i < 3 * section[1]) return 1;
  if (i % 3 === 2 && i < 3 * section[2]) return 2;
  return 0;
}

/**
 * Qwen3-VL interleaved M-RoPE: positions [3,B,L] rows (T,H,W); slot i takes H if i%3==1 && i<3*section[1],
 * W if i%3==2 && i<3*section[2], else T; section sums to rotDim/2 ([24,20,20] for head 128).
 * Consumes `positions`.
 */
export function mropeCosSin(
  positions: Tensor /* f32 [3, B, L] */,
  rotDim: number,
  theta: number,
  section: readonly [number, number, number],
): { cos: Tensor; sin: Tensor } /* [B, L, rotDim] */ {
  const half = rotDim / 2;
  if (positions.ndim !== 3 || positions.shape[0] !== 3 || section[0] + section[1] + section[2] !== half) {
    const found = fmtShape(positions.shape);
    positions.dispose();
    throw new ShapeError(
      `mropeCosSin: expected positions [3, B, L] and section summing to rotDim/2 = ${half}, got positions ${found}, section [${section.join(", ")}]`,
    );
  }
  // One-hot row selector [3, half]: the product with 0/1 weights copies each slot's position exactly.
  const select = new Float32Array(3 * half);
  for (let i = 0; i < half; i++) select[mropeRow(i, section) * half + i] = 1;
  const slotPos = np.matmul(positions.astype(np.float32).transpose([1, 2, 0]), fromF32(select, [3, half])); // [B, L, half]
  return tablesFromFreqs(slotPos.mul(fromF32(ropeInvFreq(rotDim, theta), [half])));
}

/** rotate_half application: x*cos + rotate_half(x)*sin; cos/sin [B,L,hd] broadcast over heads. Consumes all. */
export function applyRope(x: Tensor /* [B, H, L, hd] */, cos: Tensor, sin: Tensor): Tensor /* [B, H, L, hd] */ {
  let dims: Record<string, number>;
  try {
    dims = assertShape(x.shape, ["B", "H", "L", "hd"], "applyRope: x");
    assertShape(cos.shape, ["B", "L", "hd"], "applyRope: cos", dims);
    assertShape(sin.shape, ["B", "L", "hd"], "applyRope: sin", dims);
    if (dims.hd % 2 !== 0) throw new ShapeError(`applyRope: head dim must be even, got ${dims.hd}`);
  } catch (e) {
    for (const t of [x, cos, sin]) t.dispose();
    throw e;
  }
  const { B, L, hd } = dims;
  const [x1, x2] = np.split(x.ref, 2, -1); // [B, H, L, hd/2] each
  const rotated = np.concatenate([x2.neg(), x1], -1);
  return x.mul(cos.reshape([B, 1, L, hd])).add(rotated.mul(sin.reshape([B, 1, L, hd])));
}
