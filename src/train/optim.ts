// Pure AdamW (torch.optim.AdamW semantics) and global-norm gradient clipping (clip_grad_norm_) over parameter pytrees.
import { np, tree, type JsTree, type Tensor } from "../tensor/index.ts";
import { ConfigError, ShapeError, fmtShape } from "../tensor/errors.ts";

/** AdamW hyper-parameters other than the learning rate (which is passed per step). */
export type AdamWConfig = {
  readonly b1: number;
  readonly b2: number;
  readonly eps: number;
  readonly weightDecay: number;
};

/** InternVLA-A1 training: betas (0.9, 0.95), eps 1e-8, weight decay 0.01 on every parameter (architecture.md §5). */
export const INTERNVLA_ADAMW: AdamWConfig = { b1: 0.9, b2: 0.95, eps: 1e-8, weightDecay: 0.01 };

/** Optimizer state: the number of updates taken (float32 scalar Tensor) and the two moment trees (a pytree, so jit can carry it). */
export type AdamWState<P> = {
  count: Tensor;
  mu: P;
  nu: P;
};

export function validateAdamWConfig(cfg: AdamWConfig): void {
  const rules: [keyof AdamWConfig, boolean, string][] = [
    ["b1", cfg.b1 >= 0 && cfg.b1 < 1, "0 <= b1 < 1"],
    ["b2", cfg.b2 >= 0 && cfg.b2 < 1, "0 <= b2 < 1"],
    ["eps", cfg.eps > 0, "eps > 0"],
    ["weightDecay", cfg.weightDecay >= 0, "weightDecay >= 0"],
  ];
  for (const [field, ok, rule] of rules) {
    if (!ok || !Number.isFinite(cfg[field])) throw new ConfigError(`adamw: ${field} = ${cfg[field]} breaks the rule ${rule}`);
  }
}

/** Zero moments shaped like `params` (borrowed) and count 0. */
export function adamwInit<P extends JsTree<Tensor>>(params: P): AdamWState<P> {
  const zeros = () => tree.map((p: Tensor) => np.zerosLike(p.ref), params) as P;
  return { count: np.zeros([], { dtype: np.float32 }), mu: zeros(), nu: zeros() };
}

function flattenMatching<P extends JsTree<Tensor>>(what: string, reference: Tensor[], t: P): Tensor[] {
  const [leaves] = tree.flatten(t as JsTree<Tensor>);
  if (leaves.length !== reference.length) {
    throw new ShapeError(`adamw: ${what} has ${leaves.length} leaves, params have ${reference.length}`);
  }
  leaves.forEach((l, i) => {
    if (l.shape.join() !== reference[i].shape.join()) {
      throw new ShapeError(`adamw: ${what} leaf ${i} is ${fmtShape(l.shape)}, the parameter is ${fmtShape(reference[i].shape)}`);
    }
  });
  return leaves;
}

/**
 * One torch.optim.AdamW step: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), with t the updated count. `lr` may be a scalar Tensor
 * so one jitted step serves a whole schedule. Consumes params, grads, state and lr; returns the new ones.
 */
export function adamwUpdate<P extends JsTree<Tensor>>(
  params: P,
  grads: P,
  state: AdamWState<P>,
  lr: Tensor | number,
  cfg: AdamWConfig,
): { params: P; state: AdamWState<P> } {
  const [ps, def] = tree.flatten(params as JsTree<Tensor>);
  const gs = flattenMatching("grads", ps, grads);
  const ms = flattenMatching("state.mu", ps, state.mu);
  const vs = flattenMatching("state.nu", ps, state.nu);
  const lrT = typeof lr === "number" ? np.array(lr, { dtype: np.float32 }) : lr;
  const count = state.count.add(1); // t, float32 scalar
  const bc1 = np.power(cfg.b1, count.ref).neg().add(1);
  const bc2Sqrt = np.sqrt(np.power(cfg.b2, count.ref).neg().add(1));
  const stepSize = lrT.ref.div(bc1); // lr / (1 - b1^t)
  const decay = lrT.mul(cfg.weightDecay).neg().add(1); // 1 - lr * wd
  const newP: Tensor[] = [];
  const newM: Tensor[] = [];
  const newV: Tensor[] = [];
  ps.forEach((p, i) => {
    const g = gs[i];
    const m = ms[i].mul(cfg.b1).add(g.ref.mul(1 - cfg.b1));
    const v = vs[i].mul(cfg.b2).add(g.ref.mul(g).mul(1 - cfg.b2));
    const denom = np.sqrt(v.ref).div(bc2Sqrt.ref).add(cfg.eps);
    newP.push(p.mul(decay.ref).sub(m.ref.div(denom).mul(stepSize.ref)));
    newM.push(m);
    newV.push(v);
  });
  for (const t of [bc2Sqrt, stepSize, decay]) t.dispose();
  return {
    params: tree.unflatten(def, newP) as P,
    state: { count, mu: tree.unflatten(def, newM) as P, nu: tree.unflatten(def, newV) as P },
  };
}

/**
 * torch.nn.utils.clip_grad_norm_: norm = sqrt(sum of squares over every leaf); every gradient is scaled by
 * min(1, maxNorm / (norm + 1e-6)). Consumes `grads`; returns the scaled tree and the pre-clip norm.
 */
export function clipByGlobalNorm<P extends JsTree<Tensor>>(grads: P, maxNorm: number): { grads: P; norm: Tensor } {
  const [gs, def] = tree.flatten(grads as JsTree<Tensor>);
  if (gs.length === 0) throw new ShapeError("clipByGlobalNorm: the gradient tree has no leaves");
  let sumSq = np.sum(np.square(gs[0].ref));
  for (let i = 1; i < gs.length; i++) sumSq = sumSq.add(np.sum(np.square(gs[i].ref)));
  const norm = np.sqrt(sumSq);
  const coef = np.minimum(np.reciprocal(norm.ref.add(1e-6)).mul(maxNorm), 1);
  const clipped = gs.map((g) => g.mul(coef.ref));
  coef.dispose();
  return { grads: tree.unflatten(def, clipped) as P, norm };
}
