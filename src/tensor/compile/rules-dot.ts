// Lowering of jax-js `dot` (sum(x*y, axis=-1) with numpy broadcasting) to MatMul / com.microsoft.FusedMatMul.
//
// jax-js expresses every matmul, and every matmul gradient, as broadcast/transpose/reshape chains that end in `dot`.
// Each output axis is classed as batch (both operands real), m (only x real), n (only y real) or broadcast. Each
// operand is read through its view as [batch, m, k] or [batch, k, m]; when one of these is the source's memory
// order no Transpose is emitted and FusedMatMul's transA/transB absorbs the other. The result is a view of the
// MatMul output, so the caller's transposes back are free too.
import { numel } from "./onnx-graph.ts";
import { type JaxprEqn, type LowerCtx, outDtype, outShape, type Rule } from "./rule.ts";
import { elementwise, reduceValue } from "./rules-elementwise.ts";
import { fresh, inSourceOrder, readAs, type Value } from "./values.ts";

/** Left-pads a value with size-1 axes to rank r (numpy broadcasting). */
function padRank(v: Value, r: number): Value {
  const k = r - v.shape.length;
  if (k === 0) return v;
  const ones = Array.from({ length: k }, () => 1);
  return {
    shape: [...ones, ...v.shape],
    compact: [...ones, ...v.compact],
    dtype: v.dtype,
    view: { ...v.view, groups: [...ones.map(() => []), ...v.view.groups] },
  };
}

/** Sorts axes by where their data starts in the operand's source (so the read is in memory order if possible). */
function bySource(v: Value, axes: readonly number[]): number[] {
  return [...axes].sort((a, b) => v.view.groups[a][0] - v.view.groups[b][0]);
}

interface Plan {
  readonly batch: number[];
  readonly m: number[];
  readonly n: number[];
  readonly transA: boolean;
  readonly transB: boolean;
  /** Elements copied by Transposes this plan needs. */
  readonly cost: number;
}

function plan(x: Value, y: Value, batch: number[], m: number[], n: number[], k: number): Plan {
  const normA = inSourceOrder(x, [...batch, ...m, k]);
  const transA = !normA && inSourceOrder(x, [...batch, k, ...m]);
  const normB = inSourceOrder(y, [...batch, k, ...n]);
  const transB = !normB && inSourceOrder(y, [...batch, ...n, k]);
  const cost = (normA || transA ? 0 : numel(x.compact)) + (normB || transB ? 0 : numel(y.compact));
  return { batch, m, n, transA, transB, cost };
}

const sizes = (v: Value, axes: readonly number[]) => axes.map((a) => v.compact[a]);

/** MatMul over the classified axes; returns the output value as a view of the product. */
function matmul(ctx: LowerCtx, eqn: JaxprEqn, x: Value, y: Value, p: Plan, k: number): Value {
  const g = ctx.g;
  const dtype = outDtype(eqn);
  const bs = sizes(x, p.batch);
  const M = numel(sizes(x, p.m));
  const N = numel(sizes(y, p.n));
  const K = x.compact[k];
  const a = p.transA ? readAs(g, x, [...p.batch, k, ...p.m], [...bs, K, M]) : readAs(g, x, [...p.batch, ...p.m, k], [...bs, M, K]);
  const b = p.transB ? readAs(g, y, [...p.batch, ...p.n, k], [...bs, N, K]) : readAs(g, y, [...p.batch, k, ...p.n], [...bs, K, N]);
  const out = { shape: [...bs, M, N], dtype };
  const prod =
    p.transA || p.transB
      ? g.node("FusedMatMul", [a, b], out, { transA: p.transA ? 1 : 0, transB: p.transB ? 1 : 0, alpha: { float: 1 } }, "com.microsoft")
      : g.node("MatMul", [a, b], out);
  const srcShape = [...bs, ...sizes(x, p.m), ...sizes(y, p.n)];
  const src = g.reshape(prod, srcShape);
  const shape = outShape(eqn);
  const where = new Map<number, number>();
  [...p.batch, ...p.m, ...p.n].forEach((axis, i) => where.set(axis, i));
  const groups = shape.map((_, i) => (where.has(i) ? [where.get(i)!] : []));
  const compact = shape.map((d, i) => (where.has(i) ? d : 1));
  return { shape, compact, dtype, view: { src, srcShape, groups } };
}

/**
 * sum_k x_k y_k where an operand is a broadcast along k: that operand is constant in k, so sum the other over k
 * first (x * sum_k y) and no product with the contraction axis is formed; both broadcast gives x * y * K.
 */
function reduceFirst(ctx: LowerCtx, eqn: JaxprEqn, x: Value, y: Value): Value {
  const k = x.shape.length - 1;
  const K = Math.max(x.shape[k], y.shape[k]);
  const dtype = outDtype(eqn);
  const constant = (v: Value) => v.compact[k] === 1;
  const squeeze = (v: Value): Value =>
    constant(v)
      ? { shape: v.shape.slice(0, k), compact: v.compact.slice(0, k), dtype: v.dtype, view: { ...v.view, groups: v.view.groups.slice(0, k) } }
      : reduceValue(ctx.g, v, [k], "Add", v.shape.slice(0, k));
  const prod = elementwise(ctx, "Mul", [squeeze(x), squeeze(y)], outShape(eqn), dtype);
  if (!constant(x) || !constant(y)) return prod;
  return elementwise(ctx, "Mul", [prod, fresh(ctx.g.scalar(dtype, K), [], [], dtype)], outShape(eqn), dtype);
}

export const dot: Rule = (ctx, eqn) => {
  const dtype = outDtype(eqn);
  const r = Math.max(eqn.inputs[0].aval.shape.length, eqn.inputs[1].aval.shape.length);
  const x = padRank(ctx.input(eqn, 0, dtype), r);
  const y = padRank(ctx.input(eqn, 1, dtype), r);
  const k = r - 1;
  const K = Math.max(x.shape[k], y.shape[k]);
  if (K > 1 && (x.compact[k] !== K || y.compact[k] !== K)) return [reduceFirst(ctx, eqn, x, y)];
  const shape = outShape(eqn);
  const batch: number[] = [];
  const m: number[] = [];
  const n: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const rx = x.compact[i] !== 1;
    const ry = y.compact[i] !== 1;
    if (rx && ry) batch.push(i);
    else if (rx) m.push(i);
    else if (ry) n.push(i);
  });
  const mx = bySource(x, m);
  const ny = bySource(y, n);
  const candidates = [plan(x, y, bySource(x, batch), mx, ny, k), plan(x, y, bySource(y, batch), mx, ny, k)];
  const best = candidates.reduce((a, b) => (b.cost < a.cost ? b : a));
  return [matmul(ctx, eqn, x, y, best, k)];
};
