// Lowering of gather (embeddings, take) to Gather/GatherND and scatter (their gradients) to ScatterND.
import { type LowerCtx, outDtype, outShape, type Rule } from "./rule.ts";
import { expandAll, expandAxes, fresh, materialize, readAs, transposeValue, type Value } from "./values.ts";

/** Broadcast shape of the index arrays (numpy rules). */
function indexShape(indices: readonly Value[]): number[] {
  const r = Math.max(...indices.map((v) => v.shape.length));
  return Array.from({ length: r }, (_, i) => {
    let d = 1;
    for (const v of indices) {
      const j = i - (r - v.shape.length);
      if (j >= 0 && v.shape[j] !== 1) d = v.shape[j];
    }
    return d;
  });
}

/** The permutation from [idx..., rest...] to jax-js's layout (rest with idx inserted at outDim). */
function idxFirstToJax(nIdx: number, nRest: number, outDim: number): number[] {
  const rest = Array.from({ length: nRest }, (_, i) => nIdx + i);
  const idx = Array.from({ length: nIdx }, (_, i) => i);
  return [...rest.slice(0, outDim), ...idx, ...rest.slice(outDim)];
}

/** The indices stacked as an int64 tensor [idxShape..., q] for GatherND / ScatterND. */
function stackIndices(ctx: LowerCtx, indices: readonly Value[], shape: readonly number[]): string {
  const g = ctx.g;
  const cols = indices.map((v) => {
    const padded: Value = {
      dtype: v.dtype,
      shape: [...shape.slice(0, shape.length - v.shape.length).map(() => 1), ...v.shape],
      compact: [...shape.slice(0, shape.length - v.shape.length).map(() => 1), ...v.compact],
      view: { ...v.view, groups: [...shape.slice(0, shape.length - v.shape.length).map(() => []), ...v.view.groups] },
    };
    const full = expandAll(g, { ...padded, shape }, "gather/scatter index broadcast");
    const x = g.cast(materialize(g, full), "int64");
    return g.reshape(x, [...shape, 1]);
  });
  if (cols.length === 1) return cols[0];
  return g.node("Concat", cols, { shape: [...shape, cols.length], dtype: "int64" }, { axis: shape.length });
}

const gather: Rule = (ctx, eqn) => {
  const g = ctx.g;
  const axis: number[] = eqn.params.axis;
  const outDim: number = eqn.params.outDim;
  const indices = eqn.inputs.slice(1).map((_, i) => ctx.input(eqn, i + 1));
  const x = expandAxes(g, ctx.input(eqn, 0), axis, "gather along a broadcast axis");
  const rest = x.shape.map((_, i) => i).filter((i) => !axis.includes(i));
  const idxShape = indexShape(indices);
  const dtype = outDtype(eqn);
  if (indices.length === 1) {
    const a = axis[0];
    const idx = indices[0];
    const compact = [...x.compact.slice(0, a), ...idx.compact, ...x.compact.slice(a + 1)];
    const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
    const y = g.node("Gather", [materialize(g, x), materialize(g, idx)], { shape: compact, dtype }, { axis: a });
    // Gather puts the index axes at `a`; move them to outDim (a view, no copy).
    const nIdx = idx.shape.length;
    const toFirst = [...Array.from({ length: nIdx }, (_, i) => a + i), ...rest.map((r) => (r < a ? r : r + nIdx - 1))];
    const first = transposeValue(fresh(y, compact, shape, dtype), toFirst);
    return [transposeValue(first, idxFirstToJax(nIdx, rest.length, outDim))];
  }
  const data = readAs(g, x, [...axis, ...rest], [...axis, ...rest].map((i) => x.compact[i]));
  const ind = stackIndices(ctx, indices, idxShape);
  const compact = [...idxShape, ...rest.map((i) => x.compact[i])];
  const shape = [...idxShape, ...rest.map((i) => x.shape[i])];
  const y = g.node("GatherND", [data, ind], { shape: compact, dtype });
  return [transposeValue(fresh(y, compact, shape, dtype), idxFirstToJax(idxShape.length, rest.length, outDim))];
};

const scatter: Rule = (ctx, eqn) => {
  const g = ctx.g;
  const axis: number[] = eqn.params.axis;
  const outDim: number = eqn.params.outDim;
  const shape = outShape(eqn);
  const dtype = outDtype(eqn);
  const indices = eqn.inputs.slice(1).map((_, i) => ctx.input(eqn, i + 1));
  const idxShape = indexShape(indices);
  const rest = shape.map((_, i) => i).filter((i) => !axis.includes(i));
  const updates = expandAll(g, ctx.input(eqn, 0, dtype), "scatter of broadcast updates");
  // Updates arrive in jax-js's layout; read them as [idx..., rest...].
  const jaxLayout = idxFirstToJax(idxShape.length, rest.length, outDim);
  const order = jaxLayout.map((_, j) => jaxLayout.indexOf(j));
  const dataShape = [...axis, ...rest].map((i) => shape[i]);
  const upd = readAs(g, updates, order, [...idxShape, ...rest.map((i) => shape[i])]);
  const zeros = g.node("Expand", [g.scalar(dtype, 0), g.int64s(dataShape)], { shape: dataShape, dtype });
  const reduction = eqn.params.op === "add" ? "add" : "none";
  const ind = stackIndices(ctx, indices, idxShape);
  const y = g.node("ScatterND", [zeros, ind, upd], { shape: dataShape, dtype }, { reduction });
  // Back from [axis..., rest...] to the output's axis order.
  const perm = shape.map((_, i) => [...axis, ...rest].indexOf(i));
  return [transposeValue(fresh(y, dataShape, dataShape, dtype), perm)];
};

export const indexRules: Record<string, Rule> = { gather, scatter };
