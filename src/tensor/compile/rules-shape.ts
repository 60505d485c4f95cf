// Lowering of movement primitives: broadcast/reshape/transpose (views), concatenate, split, shrink, pad, flip.
import { type LowerCtx, outDtype, outShape, type Rule } from "./rule.ts";
import {
  broadcastValue,
  expandAxes,
  fresh,
  materialize,
  reshapeValue,
  transposeValue,
  type Value,
  withShape,
} from "./values.ts";

const INT64_MAX = 2 ** 62;

const broadcast: Rule = (ctx, eqn) => [broadcastValue(ctx.input(eqn, 0), eqn.params.shape, eqn.params.axis)];
const reshape: Rule = (ctx, eqn) => [reshapeValue(ctx.g, ctx.input(eqn, 0), eqn.params.shape)];
const transpose: Rule = (ctx, eqn) => [transposeValue(ctx.input(eqn, 0), eqn.params.perm)];

/** Slices the real axes of `x`; broadcast axes only change their logical size. */
export function sliceValue(
  ctx: LowerCtx,
  x: Value,
  ranges: readonly (readonly [number, number])[],
  steps?: readonly number[],
): Value {
  const shape = ranges.map(([s, e], i) => (steps?.[i] === -1 ? x.shape[i] : e - s));
  const axes = ranges.map((_, i) => i).filter((i) => x.compact[i] !== 1 && (ranges[i][0] !== 0 || ranges[i][1] !== x.shape[i] || steps?.[i] === -1));
  if (axes.length === 0) return withShape(x, shape);
  const g = ctx.g;
  const compact = x.compact.map((c, i) => (c === 1 ? 1 : shape[i]));
  const starts = axes.map((a) => (steps?.[a] === -1 ? x.shape[a] - 1 : ranges[a][0]));
  const ends = axes.map((a) => (steps?.[a] === -1 ? -INT64_MAX : ranges[a][1]));
  const inputs = [materialize(g, x), g.int64s(starts), g.int64s(ends), g.int64s(axes)];
  if (steps) inputs.push(g.int64s(axes.map((a) => steps[a])));
  const y = g.node("Slice", inputs, { shape: compact, dtype: x.dtype });
  return fresh(y, compact, shape, x.dtype);
}

const shrink: Rule = (ctx, eqn) => [sliceValue(ctx, ctx.input(eqn, 0), eqn.params.slice)];

const flip: Rule = (ctx, eqn) => {
  const x = ctx.input(eqn, 0);
  const axes: number[] = eqn.params.axis;
  const y = sliceValue(ctx, x, x.shape.map((d) => [0, d] as const), x.shape.map((_, i) => (axes.includes(i) ? -1 : 1)));
  ctx.flipOf.set(y, { x, axes });
  return [y];
};

/** Zero padding; negative widths crop first. */
export function padValue(ctx: LowerCtx, x: Value, width: readonly (readonly [number, number])[]): Value {
  const crop = width.map(([lo, hi], i) => [Math.max(0, -lo), x.shape[i] - Math.max(0, -hi)] as const);
  if (crop.some(([s, e], i) => s !== 0 || e !== x.shape[i])) x = sliceValue(ctx, x, crop);
  const grow = width.map(([lo, hi]) => [Math.max(0, lo), Math.max(0, hi)] as const);
  const axes = grow.map((_, i) => i).filter((i) => grow[i][0] + grow[i][1] > 0);
  if (axes.length === 0) return x;
  const g = ctx.g;
  x = expandAxes(g, x, axes, "pad of a broadcast axis");
  const shape = x.shape.map((d, i) => d + grow[i][0] + grow[i][1]);
  const compact = x.compact.map((c, i) => (axes.includes(i) ? shape[i] : c));
  const pads = g.int64s([...axes.map((a) => grow[a][0]), ...axes.map((a) => grow[a][1])]);
  const y = g.node("Pad", [materialize(g, x), pads, g.scalar(x.dtype, 0), g.int64s(axes)], { shape: compact, dtype: x.dtype });
  return fresh(y, compact, shape, x.dtype);
}

const pad: Rule = (ctx, eqn) => [padValue(ctx, ctx.input(eqn, 0), eqn.params.width)];

/** Concat along `axis`; other axes stay broadcast only where every input is broadcast. */
export function concatValues(ctx: LowerCtx, inputs: readonly Value[], axis: number, shape: readonly number[]): Value {
  const g = ctx.g;
  const real = shape.map((_, i) => i === axis || inputs.some((v) => v.compact[i] !== 1));
  const axes = real.flatMap((r, i) => (r ? [i] : []));
  const parts = inputs.filter((v) => v.shape[axis] > 0).map((v) => expandAxes(g, v, axes, "concatenate of broadcast inputs"));
  const compact = shape.map((d, i) => (real[i] ? d : 1));
  if (parts.length === 1) return withShape(parts[0], shape);
  const y = g.node("Concat", parts.map((v) => materialize(g, v)), { shape: compact, dtype: inputs[0].dtype }, { axis });
  return fresh(y, compact, shape, inputs[0].dtype);
}

const concatenate: Rule = (ctx, eqn) => {
  const dtype = outDtype(eqn);
  const inputs = eqn.inputs.map((_, i) => ctx.input(eqn, i, dtype));
  return [concatValues(ctx, inputs, eqn.params.axis, outShape(eqn))];
};

const split: Rule = (ctx, eqn) => {
  const g = ctx.g;
  const x = ctx.input(eqn, 0);
  const axis: number = eqn.params.axis;
  const sizes: number[] = eqn.params.sizes;
  const shapes = eqn.outBinders.map((v) => v.aval.shape);
  if (x.compact[axis] === 1) return shapes.map((s) => withShape(x, s));
  if (sizes.some((s) => s === 0)) {
    let start = 0;
    return sizes.map((s) => {
      const r = x.shape.map((d, i) => (i === axis ? ([start, start + s] as const) : ([0, d] as const)));
      start += s;
      return sliceValue(ctx, x, r);
    });
  }
  const compacts = shapes.map((s) => x.compact.map((c, i) => (i === axis ? s[i] : c)));
  const ys = g.nodeMulti("Split", [materialize(g, x), g.int64s(sizes)], compacts.map((c) => ({ shape: c, dtype: x.dtype })), { axis });
  return ys.map((y, i) => fresh(y, compacts[i], shapes[i], x.dtype));
};

export const shapeRules: Record<string, Rule> = {
  broadcast,
  reshape,
  transpose,
  shrink,
  flip,
  pad,
  concatenate,
  split,
};
