// Normalisation layers: RMSNorm (Qwen convention), LayerNorm and GroupNorm, all computed in float32.
import { np, type Tensor } from "../tensor/index.ts";
import { ShapeError, fmtShape } from "../tensor/errors.ts";

/** Affine parameters of LayerNorm / GroupNorm: weight and bias [D] (or [C]). */
export type NormParams = { weight: Tensor; bias: Tensor };

/** Mean over `axis` with the reduced axis kept (size 1) for broadcasting. */
function meanKeep(x: Tensor, axis: number): Tensor {
  return np.mean(x, axis, { keepdims: true });
}

/** (x - mean) / sqrt(var + eps) over `axis` (biased variance, as torch's layer_norm / group_norm). */
function standardize(x: Tensor, axis: number, eps: number): Tensor {
  const centred = x.sub(meanKeep(x.ref, axis));
  const variance = meanKeep(np.square(centred.ref), axis);
  return centred.mul(np.reciprocal(np.sqrt(variance.add(eps))));
}

function checkLastAxis(where: string, param: Tensor, x: Tensor): void {
  const d = x.shape[x.ndim - 1];
  if (param.ndim !== 1 || param.shape[0] !== d) {
    const found = fmtShape(x.shape);
    x.dispose();
    throw new ShapeError(`${where}: weight must be [${d}] for input ${found}, got ${fmtShape(param.shape)}`);
  }
}

/**
 * Qwen3 RMSNorm: x * rsqrt(mean(x^2) + eps) in float32, then * weight (weight multiplies the normed value,
 * as the InternVLA-A1 patched Qwen3-VL RMSNorm). Borrows `weight`, consumes `x`.
 */
export function rmsNorm(weight: Tensor /* [D] */, x: Tensor /* [..., D] */, eps: number): Tensor /* [..., D] */ {
  checkLastAxis("rmsNorm", weight, x);
  const ms = meanKeep(np.square(x.ref), -1); // [..., 1]
  return x.mul(np.reciprocal(np.sqrt(ms.add(eps)))).mul(weight.ref);
}

/** torch.nn.LayerNorm over the last axis. Borrows `p`, consumes `x`. */
export function layerNorm(p: NormParams, x: Tensor /* [..., D] */, eps: number): Tensor /* [..., D] */ {
  checkLastAxis("layerNorm", p.weight, x);
  return standardize(x, -1, eps).mul(p.weight.ref).add(p.bias.ref);
}

/** torch.nn.GroupNorm(groups, C): statistics over (C/groups, H, W) per sample and group. Borrows `p`, consumes `x`. */
export function groupNorm(p: NormParams, x: Tensor /* [N, C, H, W] */, groups: number, eps: number): Tensor /* [N, C, H, W] */ {
  const [n, c, h, w] = x.shape;
  if (x.ndim !== 4 || c % groups !== 0 || p.weight.shape[0] !== c || p.weight.ndim !== 1) {
    const found = fmtShape(x.shape);
    x.dispose();
    throw new ShapeError(
      `groupNorm: expected x [N, C, H, W] with C divisible by groups=${groups} and weight [C], got x ${found}, weight ${fmtShape(p.weight.shape)}`,
    );
  }
  const normed = standardize(x.reshape([n, groups, (c / groups) * h * w]), -1, eps).reshape([n, c, h, w]);
  return normed.mul(p.weight.ref.reshape([1, c, 1, 1])).add(p.bias.ref.reshape([1, c, 1, 1]));
}
