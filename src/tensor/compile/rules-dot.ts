// Lowering of jax-js `dot` (sum(x*y, axis=-1) with numpy broadcasting) to MatMul / com.microsoft.FusedMatMul.
//
// jax-js expresses every matmul, and every matmul gradient, as broadcast/transpose/reshape chains that end in `dot`.
// Each output axis is classed as batch (both operands real), m (only x real), n (only y real) or broadcast. Each
// operand is read through its view as [batch, m, k] or [batch, k, m]; when one of these is the source's memory
// order no Transpose is emitted and FusedMatMul's transA/transB absorbs the other. The result is a view of the
// MatMul output, so the caller's transposes back are free too.
import { numel } from "./onnx-graph.ts";
import { type JaxprEqn, type LowerCtx, outDtype, outShape, type Rule } from "./rule.ts";
import { elementwise } from "./rules-elementwise.ts";
import { inSourceOrder, materialize, readAs, type Value } from "./values.ts";

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

/** sum(x*y) over a contraction axis that one operand only broadcasts along: Mul then ReduceSum (rare). */
function mulReduce(ctx: LowerCtx, eqn: JaxprEqn, x: Value, y: Value): Value {
  const g = ctx.g;
  const dtype = outDtype(eqn);
  const full = [...outShape(eqn), x.shape[x.shape.length - 1]];
  const prod = elementwise(ctx, "Mul", [x, y], full, dtype);
  const r = full.length - 1;
  g.noteMaterialized(materialize(g, prod), "dot over an axis one operand broadcasts along");
  let src = g.node("ReduceSum", [prod.view.src, g.int64s([r])], { shape: prod.compact.slice(0, r), dtype }, { keepdims: 0 });
  if (prod.compact[r] === 1) src = g.node("Mul", [src, g.scalar(dtype, full[r])], { shape: prod.compact.slice(0, r), dtype });
  const compact = prod.compact.slice(0, r);
  return { shape: outShape(eqn), compact, dtype, view: { src, srcShape: compact, groups: compact.map((d, i) => (d === 1 ? [] : [i])) } };
}

export const dot: Rule = (ctx, eqn) => {
  const dtype = outDtype(eqn);
  const r = Math.max(eqn.inputs[0].aval.shape.length, eqn.inputs[1].aval.shape.length);
  const x = padRank(ctx.input(eqn, 0, dtype), r);
  const y = padRank(ctx.input(eqn, 1, dtype), r);
  const k = r - 1;
  if (x.compact[k] !== y.compact[k]) return [mulReduce(ctx, eqn, x, y)];
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
