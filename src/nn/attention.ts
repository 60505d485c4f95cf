// Softmax attention with an additive mask and grouped-query heads (HF repeat_kv semantics, without the copy).
import { lax, np, type Tensor } from "../tensor/index.ts";
import { ShapeError, assertShape, fmtShape } from "../tensor/errors.ts";

/** Numerically stable softmax over the last axis (max subtracted, held out of the gradient). Consumes `x`. */
export function softmax(x: Tensor): Tensor {
  const m = lax.stopGradient(np.max(x.ref, -1, { keepdims: true }));
  const e = np.exp(x.sub(m));
  return e.ref.mul(np.reciprocal(np.sum(e, -1, { keepdims: true })));
}

/** Reshapes an additive mask broadcastable to [B, Hq, Lq, Lk] into the grouped layout [B, Hkv, rep, Lq, Lk]. */
function groupMask(mask: Tensor, hq: number, hkv: number): Tensor {
  if (mask.ndim > 4) {
    const found = fmtShape(mask.shape);
    mask.dispose();
    throw new ShapeError(`attention: mask must broadcast to [B, Hq, Lq, Lk], got ${found}`);
  }
  const shape4 = [...Array(4 - mask.ndim).fill(1), ...mask.shape];
  const [mb, mh, mq, mk] = shape4;
  if (mh === 1) return mask.reshape([mb, 1, 1, mq, mk]);
  if (mh !== hq) {
    mask.dispose();
    throw new ShapeError(`attention: mask head axis must be 1 or ${hq}, got mask ${fmtShape(shape4)}`);
  }
  return mask.reshape([mb, hkv, hq / hkv, mq, mk]);
}

/**
 * softmax(q k^T * scale + mask) v with grouped-query heads: query head h reads kv head floor(h / (Hq/Hkv)),
 * as HF `repeat_kv` (kv heads repeated Hq/Hkv times), computed by grouping q instead of copying k/v.
 * Consumes q, k, v and mask.
 */
export function attention(
  q: Tensor /* [B, Hq, Lq, hd] */,
  k: Tensor /* [B, Hkv, Lk, hd] */,
  v: Tensor /* [B, Hkv, Lk, hd] */,
  mask: Tensor | null /* additive, broadcastable to [B, Hq, Lq, Lk] */,
  scale: number,
): Tensor /* [B, Hq, Lq, hd] */ {
  let dims: Record<string, number>;
  try {
    dims = assertShape(q.shape, ["B", "Hq", "Lq", "hd"], "attention: q");
    assertShape(k.shape, ["B", "Hkv", "Lk", "hd"], "attention: k", dims);
    assertShape(v.shape, ["B", "Hkv", "Lk", "hd"], "attention: v", dims);
    if (dims.Hq % dims.Hkv !== 0) {
      throw new ShapeError(`attention: query heads ${dims.Hq} must be a multiple of kv heads ${dims.Hkv}`);
    }
  } catch (e) {
    for (const t of [q, k, v, mask]) t?.dispose();
    throw e;
  }
  const { B, Hq, Lq, hd, Hkv, Lk } = dims;
  const rep = Hq / Hkv;
  const qg = q.reshape([B, Hkv, rep, Lq, hd]);
  const kT = k.reshape([B, Hkv, 1, Lk, hd]).transpose([0, 1, 2, 4, 3]); // [B, Hkv, 1, hd, Lk]
  // Scaled after the product, in HF eager_attention_forward's order.
  let scores = np.matmul(qg, kT).mul(scale); // [B, Hkv, rep, Lq, Lk]
  if (mask) scores = scores.add(groupMask(mask, Hq, Hkv));
  const out = np.matmul(softmax(scores), v.reshape([B, Hkv, 1, Lk, hd])); // [B, Hkv, rep, Lq, hd]
  return out.reshape([B, Hq, Lq, hd]);
}
