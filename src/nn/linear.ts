// Linear layers and token embeddings in PyTorch layout (weight [out, in]) so checkpoints map 1:1.
import { np, random, type Key, type Tensor } from "../tensor/index.ts";
import { ShapeError, fmtShape } from "../tensor/errors.ts";

/** torch.nn.Linear parameters: weight [out, in], optional bias [out]. */
export type LinearParams = { weight: Tensor /* [out, in] */; bias?: Tensor /* [out] */ };

/**
 * A Linear layer with weight ~ N(0, std^2) (HF init, std 0.02 by default) and a zero bias; the bias is
 * included unless `bias: false` (torch.nn.Linear's default; Qwen3 projections pass false). Consumes `key`.
 */
export function initLinear(
  key: Key,
  inDim: number,
  outDim: number,
  opts: { bias?: boolean; std?: number } = {},
): LinearParams {
  const std = opts.std ?? 0.02;
  const weight = random.normal(key, [outDim, inDim]).mul(std); // [out, in]
  if (opts.bias === false) return { weight };
  return { weight, bias: np.zeros([outDim], { dtype: np.float32 }) };
}

/** y = x W^T + b over the last axis. Borrows `p`, consumes `x`. */
export function linear(p: LinearParams, x: Tensor /* [..., in] */): Tensor /* [..., out] */ {
  const [outDim, inDim] = p.weight.shape;
  const lead = x.shape.slice(0, -1);
  if (x.shape[x.ndim - 1] !== inDim) {
    x.dispose();
    throw new ShapeError(`linear: input last axis must be ${inDim} (weight ${fmtShape(p.weight.shape)}), got ${fmtShape([...lead, x.shape[x.ndim - 1]])}`);
  }
  const rows = lead.reduce((a, b) => a * b, 1);
  // Flattening the leading axes gives one 2-D matmul, the form the ONNX lowering maps to a single MatMul.
  let y = np.matmul(x.reshape([rows, inDim]), p.weight.ref.transpose()); // [rows, out]
  if (p.bias) y = y.add(p.bias.ref);
  return y.reshape([...lead, outDim]);
}

/** Row lookup table[ids] (torch.nn.Embedding). Borrows `table`, consumes `ids` (int32). */
export function embedding(table: Tensor /* [V, D] */, ids: Tensor /* int32 [...] */): Tensor /* [..., D] */ {
  if (table.ndim !== 2) {
    ids.dispose();
    throw new ShapeError(`embedding: table must be [V, D], got ${fmtShape(table.shape)}`);
  }
  if (ids.dtype !== np.int32) {
    const found = ids.dtype;
    ids.dispose();
    throw new ShapeError(`embedding: ids must be int32, got ${found}`, "cast token ids with .astype(np.int32)");
  }
  return np.take(table.ref, ids, 0);
}
