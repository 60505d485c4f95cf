// Lowering of conv (forward, transposed and the convs gradients produce) to Conv/ConvTranspose, and of pooling.
//
// jax-js `conv` is XLA's conv_general_dilated in NC... layout: padding may be negative, lhsDilation > 1 is a
// transposed conv (the input gradient of a strided conv), rhsDilation is ONNX `dilations` (the kernel gradient of
// a strided conv), vmapDims > 0 is a grouped conv. lhsDilation maps to ConvTranspose with the kernel's channel
// axes swapped and its spatial axes flipped; the flip jax-js already applied in a gradient cancels out.
import { numel } from "./onnx-graph.ts";
import { type LowerCtx, outDtype, outShape, type Rule } from "./rule.ts";
import { padValue, sliceValue } from "./rules-shape.ts";
import { expandAll, expandAxes, fresh, materialize, reshapeValue, transposeValue, type Value } from "./values.ts";

interface ConvSpec {
  readonly strides: readonly number[];
  readonly padding: readonly (readonly [number, number])[];
  readonly lhsDilation: readonly number[];
  readonly rhsDilation: readonly number[];
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Conv of lhs [N, C, xs...] with rhs [M, C/group, ks...]; output [N, M, ys...]. */
function convCore(ctx: LowerCtx, lhs: Value, rhs: Value, p: ConvSpec, group: number, shape: readonly number[]): Value {
  const n = p.strides.length;
  if (p.lhsDilation.every((d) => d === 1)) return plainConv(ctx, lhs, rhs, p, group, shape);
  if (p.strides.every((s) => s === 1)) return transposedConv(ctx, lhs, rhs, p, group, shape);
  // Both a fractional and a real stride: dilate the input explicitly, then a plain strided conv.
  let x = lhs;
  for (let i = 0; i < n; i++) x = dilateAxis(ctx, x, 2 + i, p.lhsDilation[i]);
  ctx.g.noteMaterialized(materialize(ctx.g, x), "conv with both lhsDilation and strides (input dilated)");
  return plainConv(ctx, x, rhs, { ...p, lhsDilation: p.lhsDilation.map(() => 1) }, group, shape);
}

/** Inserts d-1 zeros between elements along `axis`. */
function dilateAxis(ctx: LowerCtx, x: Value, axis: number, d: number): Value {
  if (d === 1) return x;
  const len = x.shape[axis];
  const s1 = [...x.shape.slice(0, axis + 1), 1, ...x.shape.slice(axis + 1)];
  let y = reshapeValue(ctx.g, x, s1);
  y = padValue(ctx, y, s1.map((_, i) => (i === axis + 1 ? [0, d - 1] : [0, 0])));
  y = reshapeValue(ctx.g, y, x.shape.map((v, i) => (i === axis ? v * d : v)));
  return sliceValue(ctx, y, y.shape.map((v, i) => (i === axis ? [0, (len - 1) * d + 1] : [0, v])));
}

function plainConv(ctx: LowerCtx, lhs: Value, rhs: Value, p: ConvSpec, group: number, shape: readonly number[]): Value {
  const g = ctx.g;
  const crop = lhs.shape.map((d, i) => (i < 2 ? [0, d] : [Math.max(0, -p.padding[i - 2][0]), d - Math.max(0, -p.padding[i - 2][1])]));
  const x = expandAll(g, sliceValue(ctx, lhs, crop as [number, number][]), "conv input broadcast");
  const w = expandAll(g, rhs, "conv kernel broadcast");
  const pads = [...p.padding.map(([lo]) => Math.max(0, lo)), ...p.padding.map(([, hi]) => Math.max(0, hi))];
  const attrs = { strides: p.strides, dilations: p.rhsDilation, pads, group };
  const y = g.node("Conv", [materialize(g, x), materialize(g, w)], { shape, dtype: lhs.dtype }, attrs);
  return fresh(y, shape, shape, lhs.dtype);
}

/** The ConvTranspose kernel [C, M/group, ks...]: channel axes swapped per group, spatial axes flipped. */
function transposedKernel(ctx: LowerCtx, rhs: Value, group: number): Value {
  const g = ctx.g;
  const [m, cg, ...ks] = rhs.shape;
  const spatial = range(2, rhs.shape.length);
  const flipped = ctx.flipOf.get(rhs);
  const unflipped = flipped && flipped.axes.length === spatial.length && spatial.every((a) => flipped.axes.includes(a));
  let w = unflipped ? flipped.x : rhs;
  w = reshapeValue(g, w, [group, m / group, cg, ...ks]);
  w = transposeValue(w, [0, 2, 1, ...range(3, 3 + ks.length)]);
  w = reshapeValue(g, w, [group * cg, m / group, ...ks]);
  if (unflipped) return w;
  return sliceValue(ctx, w, w.shape.map((d) => [0, d] as const), w.shape.map((_, i) => (i >= 2 ? -1 : 1)));
}

function transposedConv(ctx: LowerCtx, lhs: Value, rhs: Value, p: ConvSpec, group: number, shape: readonly number[]): Value {
  const g = ctx.g;
  const ks = rhs.shape.slice(2);
  const x = expandAll(g, lhs, "conv input broadcast");
  const w = expandAll(g, transposedKernel(ctx, rhs, group), "conv kernel broadcast");
  const full = ks.map((k, i) => p.rhsDilation[i] * (k - 1));
  const begin = full.map((f, i) => f - p.padding[i][0]);
  const end = full.map((f, i) => f - p.padding[i][1]);
  const pads = [...begin.map((b) => Math.max(0, b)), ...end.map((e) => Math.max(0, e))];
  const inner = shape.map((d, i) => (i < 2 ? d : d - Math.max(0, -begin[i - 2]) - Math.max(0, -end[i - 2])));
  const attrs = { strides: p.lhsDilation, dilations: p.rhsDilation, pads, group };
  const y = g.node("ConvTranspose", [materialize(g, x), materialize(g, w)], { shape: inner, dtype: lhs.dtype }, attrs);
  const out = fresh(y, inner, inner, lhs.dtype);
  const extra = shape.map((_, i) => (i < 2 ? [0, 0] : [Math.max(0, -begin[i - 2]), Math.max(0, -end[i - 2])]) as [number, number]);
  return padValue(ctx, out, extra);
}

const conv: Rule = (ctx, eqn) => {
  const dtype = outDtype(eqn);
  const p = eqn.params as ConvSpec & { vmapDims: number };
  const v = p.vmapDims;
  const shape = outShape(eqn);
  let lhs = ctx.input(eqn, 0, dtype);
  let rhs = ctx.input(eqn, 1, dtype);
  if (v === 0) return [convCore(ctx, lhs, rhs, p, 1, shape)];
  // Grouped: [vm..., N, C, xs] x [vm..., M, C, ks] -> Conv(group = prod(vm)) on [N, V*C, xs] x [V*M, C, ks].
  const vm = shape.slice(0, v);
  const V = numel(vm);
  lhs = expandAxes(ctx.g, { ...lhs, shape: [...vm, ...lhs.shape.slice(v)] }, range(0, v), "conv vmap broadcast");
  rhs = expandAxes(ctx.g, { ...rhs, shape: [...vm, ...rhs.shape.slice(v)] }, range(0, v), "conv vmap broadcast");
  const [N, C, ...xs] = lhs.shape.slice(v);
  const [M, Cg, ...ks] = rhs.shape.slice(v);
  const sp = xs.length;
  const lhsG = reshapeValue(ctx.g, transposeValue(lhs, [v, ...range(0, v), ...range(v + 1, v + 2 + sp)]), [N, V * C, ...xs]);
  const rhsG = reshapeValue(ctx.g, rhs, [V * M, Cg, ...ks]);
  const ys = shape.slice(v + 2);
  const y = convCore(ctx, lhsG, rhsG, p, V, [N, V * M, ...ys]);
  const split = reshapeValue(ctx.g, y, [N, ...vm, M, ...ys]);
  return [transposeValue(split, [...range(1, v + 1), 0, ...range(v + 1, v + 2 + sp)])];
};

/** Window offsets of a pooling window, row-major. */
function offsets(window: readonly number[]): number[][] {
  return window.reduce<number[][]>((acc, k) => acc.flatMap((o) => range(0, k).map((j) => [...o, j])), [[]]);
}

/** jax-js `pool`: [..., xs] -> [..., os..., ks...] with os = ceil((x - k + 1) / s). */
const pool: Rule = (ctx, eqn) => {
  const g = ctx.g;
  const window: number[] = eqn.params.window;
  const strides: number[] = eqn.params.strides;
  const x = expandAll(g, ctx.input(eqn, 0), "pool of a broadcast input");
  const n = window.length;
  const lead = x.shape.slice(0, x.shape.length - n);
  const os = outShape(eqn).slice(lead.length, lead.length + n);
  const axes = range(lead.length, lead.length + n);
  const parts = offsets(window).map((j) => {
    const inputs = [materialize(g, x), g.int64s(j), g.int64s(j.map((o, i) => o + strides[i] * (os[i] - 1) + 1)), g.int64s(axes), g.int64s(strides)];
    const s = g.node("Slice", inputs, { shape: [...lead, ...os], dtype: x.dtype });
    return g.reshape(s, [...lead, ...os, 1]);
  });
  const K = parts.length;
  const cat = K === 1 ? parts[0] : g.node("Concat", parts, { shape: [...lead, ...os, K], dtype: x.dtype }, { axis: lead.length + n });
  return [reshapeValue(g, fresh(cat, [...lead, ...os, K], [...lead, ...os, K], x.dtype), outShape(eqn))];
};

/** Transpose of `pool`: each window offset's slab is strided back into place and the slabs are summed. */
const poolTranspose: Rule = (ctx, eqn) => {
  const g = ctx.g;
  const window: number[] = eqn.params.window;
  const strides: number[] = eqn.params.strides;
  const inShape: number[] = eqn.params.inShape;
  const n = window.length;
  const ct = expandAll(g, ctx.input(eqn, 0), "pool_transpose of a broadcast input");
  const lead = inShape.slice(0, inShape.length - n);
  const os = ct.shape.slice(lead.length, lead.length + n);
  const K = numel(window);
  const flat = reshapeValue(g, ct, [...lead, ...os, K]);
  const terms = offsets(window).map((j, w) => {
    const r = flat.shape.map((d, i) => (i === flat.shape.length - 1 ? [w, w + 1] : [0, d]) as [number, number]);
    let slab = reshapeValue(g, sliceValue(ctx, flat, r), [...lead, ...os]);
    for (let i = 0; i < n; i++) slab = dilateAxis(ctx, slab, lead.length + i, strides[i]);
    const width = slab.shape.map((d, i) => {
      const k = i - lead.length;
      return (k < 0 ? [0, 0] : [j[k], inShape[i] - d - j[k]]) as [number, number];
    });
    return materialize(g, padValue(ctx, slab, width));
  });
  const y = terms.length === 1 ? terms[0] : g.node("Sum", terms, { shape: inShape, dtype: ct.dtype });
  return [fresh(y, inShape, inShape, ct.dtype)];
};

export const convRules: Record<string, Rule> = { conv, pool, pool_transpose: poolTranspose };
