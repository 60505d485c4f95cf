// Lowered values: compact shapes (size 1 where a value is only a broadcast) and lazy transpose/reshape views.
//
// A jaxpr variable lowers to a Value. Its ONNX tensor has the *compact* shape: compact[i] is shape[i], or 1 where
// the variable is a broadcast along axis i, so broadcasts are never made real unless an op needs it. The data is
// described as a *view* of a source tensor: compact axis i is the run groups[i] of source axes, read in that order.
// Transposes, broadcasts and most reshapes only edit the view; `materialize` emits the one Transpose + Reshape
// needed when a consumer wants the plain compact tensor, and `dot` reads sources directly (see rules-dot.ts).
import { InternvlaError } from "../errors.ts";
import { type ElemType, type GraphBuilder, numel, sameShape } from "./onnx-graph.ts";

export interface View {
  /** ONNX tensor holding the data. */
  readonly src: string;
  readonly srcShape: readonly number[];
  /** Per compact axis, the source axes it is made of (outer to inner); [] for size-1 axes. */
  readonly groups: readonly (readonly number[])[];
}

export interface Value {
  /** Logical (jaxpr) shape. */
  readonly shape: readonly number[];
  /** Shape of the data: shape[i], or 1 where the value is broadcast along axis i. */
  readonly compact: readonly number[];
  readonly dtype: ElemType;
  readonly view: View;
  /** Memo of `materialize` (mutable cache, filled on first use). */
  plain?: string;
}

/** A value whose data is exactly the tensor `name` of shape `compact`. */
export function fresh(name: string, compact: readonly number[], shape: readonly number[], dtype: ElemType): Value {
  const groups = compact.map((d, i) => (d === 1 ? [] : [i]));
  return { shape, compact, dtype, view: { src: name, srcShape: compact, groups }, plain: name };
}

/** True when the value is broadcast along some axis of size > 1. */
export function isBroadcast(v: Value): boolean {
  return v.compact.some((c, i) => c !== v.shape[i]);
}

/** True when reading the value's axes in `order` walks its source in memory order (no Transpose needed). */
export function inSourceOrder(v: Value, order: readonly number[]): boolean {
  const read = order.flatMap((a) => v.view.groups[a]);
  return read.every((a, i) => i === 0 || read[i - 1] < a);
}

/**
 * The value's data with its axes in `order` (every non-1 axis must appear), reshaped to `shape`: a Reshape of the
 * source when that is already the memory order, else one Transpose of the source first.
 */
export function readAs(g: GraphBuilder, v: Value, order: readonly number[], shape: readonly number[]): string {
  const { src, srcShape } = v.view;
  const read = order.flatMap((a) => v.view.groups[a]);
  if (inSourceOrder(v, order)) return g.reshape(src, shape);
  const ones = srcShape.map((_, i) => i).filter((i) => !read.includes(i));
  return g.reshape(g.transpose(src, [...read, ...ones]), shape);
}

/** The ONNX tensor with the value's compact shape (emits Transpose/Reshape of the source when needed). */
export function materialize(g: GraphBuilder, v: Value): string {
  v.plain ??= readAs(g, v, v.shape.map((_, i) => i), v.compact);
  return v.plain;
}

/** Makes the value real along `axes` (Expand of its broadcast axes there); a no-op where it is already real. */
export function expandAxes(g: GraphBuilder, v: Value, axes: readonly number[], reason: string): Value {
  const target = v.compact.map((c, i) => (axes.includes(i) ? v.shape[i] : c));
  if (sameShape(target, v.compact)) return v;
  const x = materialize(g, v);
  const y = g.node("Expand", [x, g.int64s(target)], { shape: target, dtype: v.dtype });
  g.noteMaterialized(y, reason);
  return fresh(y, target, v.shape, v.dtype);
}

/** Makes the whole value real (a graph output, Concat, Pad...). */
export function expandAll(g: GraphBuilder, v: Value, reason: string): Value {
  return expandAxes(g, v, v.shape.map((_, i) => i), reason);
}

/** The same data under a new logical shape with the same compact axes (shrink/split along broadcast axes). */
export function withShape(v: Value, shape: readonly number[]): Value {
  return { ...v, shape, plain: v.plain };
}

export function transposeValue(v: Value, perm: readonly number[]): Value {
  return {
    shape: perm.map((p) => v.shape[p]),
    compact: perm.map((p) => v.compact[p]),
    dtype: v.dtype,
    view: { ...v.view, groups: perm.map((p) => v.view.groups[p]) },
  };
}

/** jax-js `broadcast`: new axes at `axis` of `shape`; the input's axes fill the rest in order (size 1 may grow). */
export function broadcastValue(v: Value, shape: readonly number[], axis: readonly number[]): Value {
  const compact: number[] = [];
  const groups: (readonly number[])[] = [];
  let j = 0;
  for (let i = 0; i < shape.length; i++) {
    if (axis.includes(i)) {
      compact.push(1);
      groups.push([]);
    } else {
      compact.push(v.compact[j]);
      groups.push(v.view.groups[j]);
      j++;
    }
  }
  return { shape, compact, dtype: v.dtype, view: { ...v.view, groups } };
}

interface Block {
  readonly ins: number[];
  readonly outs: number[];
}

/** Pairs the non-1 axes of two shapes into minimal blocks of equal product; null if they never line up. */
function reshapeBlocks(from: readonly number[], to: readonly number[]): Block[] | null {
  const ia = from.map((_, i) => i).filter((i) => from[i] !== 1);
  const oa = to.map((_, i) => i).filter((i) => to[i] !== 1);
  const blocks: Block[] = [];
  let i = 0;
  let o = 0;
  while (i < ia.length || o < oa.length) {
    const b: Block = { ins: [], outs: [] };
    let pi = 1;
    let po = 1;
    do {
      if (pi <= po && i < ia.length) pi *= from[ia[i]], b.ins.push(ia[i++]);
      else if (o < oa.length) po *= to[oa[o]], b.outs.push(oa[o++]);
      else return null;
    } while (pi !== po);
    blocks.push(b);
  }
  return blocks;
}

/** jax-js `reshape` on a lowered value: edits the view when it can, else materialises first. */
export function reshapeValue(g: GraphBuilder, v: Value, shape: readonly number[]): Value {
  if (numel(shape) === 0 || numel(v.shape) === 0) return emptyLike(g, v, shape);
  const blocks = reshapeBlocks(v.shape, shape);
  if (!blocks) throw new InternvlaError(`internal: compile: reshape [${v.shape}] -> [${shape}] does not line up`);
  const mixed = blocks.filter((b) => b.ins.some((a) => v.compact[a] === 1) && b.ins.some((a) => v.compact[a] !== 1));
  if (mixed.length > 0) v = expandAxes(g, v, mixed.flatMap((b) => b.ins), "reshape merges broadcast and real axes");
  const compact = shape.map(() => 1);
  for (const b of blocks) {
    if (b.ins.length > 0 && v.compact[b.ins[0]] !== 1) for (const a of b.outs) compact[a] = shape[a];
  }
  return viewReshape(g, v, blocks, shape, compact) ?? plainReshape(g, v, shape, compact);
}

function plainReshape(g: GraphBuilder, v: Value, shape: readonly number[], compact: number[]): Value {
  return fresh(g.reshape(materialize(g, v), compact), compact, shape, v.dtype);
}

function emptyLike(g: GraphBuilder, v: Value, shape: readonly number[]): Value {
  const x = g.constant({ shape, dtype: v.dtype }, new Uint8Array(0));
  return fresh(x, shape, shape, v.dtype);
}

/**
 * Re-groups the source axes for a reshape. Source axes may be split (a free Reshape of the source) when an output
 * axis boundary falls inside one; returns null when a boundary cannot be placed (then the caller materialises).
 */
function viewReshape(g: GraphBuilder, v: Value, blocks: Block[], shape: readonly number[], compact: number[]): Value | null {
  const { srcShape } = v.view;
  // Each source axis becomes a list of factors; splitting appends factors. Factor ids are [axis, index].
  const factors = srcShape.map((d) => [d]);
  const groupsOut: [number, number][][] = shape.map(() => []);
  for (const b of blocks) {
    if (compact[b.outs[0] ?? -1] === 1 || b.outs.length === 0) continue;
    const queue: [number, number][] = b.ins.flatMap((a) => v.view.groups[a].map((s): [number, number] => [s, 0]));
    let qi = 0;
    let rest = queue.length ? factors[queue[0][0]][0] : 1;
    for (const o of b.outs) {
      let need = shape[o];
      while (need > 1) {
        if (qi >= queue.length) return null;
        const [axis] = queue[qi];
        if (rest <= need) {
          if (need % rest !== 0) return null;
          groupsOut[o].push([axis, factors[axis].length - 1]);
          need /= rest;
          qi++;
          rest = qi < queue.length ? factors[queue[qi][0]][factors[queue[qi][0]].length - 1] : 1;
        } else {
          if (rest % need !== 0) return null;
          const f = factors[axis];
          f[f.length - 1] = need;
          f.push(rest / need);
          groupsOut[o].push([axis, f.length - 2]);
          rest /= need;
          need = 1;
        }
      }
    }
  }
  return refinedView(g, v, factors, groupsOut, shape, compact);
}

/** Builds the view over the source reshaped to its factors. */
function refinedView(
  g: GraphBuilder,
  v: Value,
  factors: number[][],
  groupsOut: [number, number][][],
  shape: readonly number[],
  compact: number[],
): Value {
  const offsets: number[] = [];
  let n = 0;
  for (const f of factors) offsets.push(n), (n += f.length);
  const refinedShape = factors.flat();
  const src = g.reshape(v.view.src, refinedShape);
  const groups = groupsOut.map((grp) => grp.map(([axis, k]) => offsets[axis] + k).filter((a) => refinedShape[a] !== 1));
  return { shape, compact, dtype: v.dtype, view: { src, srcShape: refinedShape, groups } };
}
