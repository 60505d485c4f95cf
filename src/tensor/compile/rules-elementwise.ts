// Lowering of elementwise primitives (unary, binary, compare, where, cast) and reductions.
import { type ElemType, GraphBuilder } from "./onnx-graph.ts";
import {
  broadcastCompact,
  elemType,
  isFloat,
  isLit,
  type JaxprEqn,
  type LowerCtx,
  outDtype,
  outShape,
  type Rule,
  unsupported,
} from "./rule.ts";
import { fresh, materialize, type Value } from "./values.ts";

/** jax-js unary primitive -> ONNX op applied to the view's source (elementwise ops commute with views). */
const UNARY: Record<string, string> = {
  neg: "Neg",
  reciprocal: "Reciprocal",
  floor: "Floor",
  ceil: "Ceil",
  sin: "Sin",
  cos: "Cos",
  asin: "Asin",
  atan: "Atan",
  exp: "Exp",
  log: "Log",
  erf: "Erf",
  sqrt: "Sqrt",
};

/** Applies `op` to the source of `x` and keeps the view, so transposed inputs stay lazy. */
function onSource(ctx: LowerCtx, x: Value, op: string, dtype: ElemType, attrs = {}): Value {
  const src = ctx.g.node(op, [x.view.src], { shape: x.view.srcShape, dtype }, attrs);
  return { shape: x.shape, compact: x.compact, dtype, view: { ...x.view, src } };
}

function unaryRule(op: string): Rule {
  return (ctx, eqn) => {
    const x = ctx.input(eqn, 0);
    const y = onSource(ctx, x, op, x.dtype);
    if (op === "Neg") ctx.negOf.set(y, x);
    if (op === "Reciprocal") ctx.recipOf.set(y, x);
    return [y];
  };
}

const erfc: Rule = (ctx, eqn) => {
  const x = ctx.input(eqn, 0);
  const e = onSource(ctx, x, "Erf", x.dtype);
  const src = ctx.g.node("Sub", [ctx.g.scalar(x.dtype, 1), e.view.src], { shape: x.view.srcShape, dtype: x.dtype });
  return [{ ...e, view: { ...e.view, src } }];
};

const cast: Rule = (ctx, eqn) => {
  const x = ctx.input(eqn, 0);
  const to = outDtype(eqn);
  if (to === x.dtype) return [x];
  return [onSource(ctx, x, "Cast", to, { to: GraphBuilder.onnxType(to) })];
};

/** An n-ary elementwise node over materialised compact inputs (ONNX broadcasting = numpy broadcasting). */
export function elementwise(ctx: LowerCtx, op: string, inputs: readonly Value[], shape: readonly number[], dtype: ElemType): Value {
  const compact = broadcastCompact(shape, inputs);
  const y = ctx.g.node(op, inputs.map((v) => materialize(ctx.g, v)), { shape: compact, dtype });
  return fresh(y, compact, shape, dtype);
}

function binaryInputs(ctx: LowerCtx, eqn: JaxprEqn): [Value, Value, ElemType] {
  const dtype = outDtype(eqn);
  return [ctx.input(eqn, 0, dtype), ctx.input(eqn, 1, dtype), dtype];
}

/** op(a, b), or the fused form when an operand is a known inverse: add(a, neg b) -> Sub, mul(a, recip b) -> Div. */
function fusing(op: "Add" | "Mul", boolOp: "Or" | "And", fused: "Sub" | "Div", inverse: (ctx: LowerCtx) => WeakMap<Value, Value>): Rule {
  return (ctx, eqn) => {
    const [a, b, dtype] = binaryInputs(ctx, eqn);
    const shape = outShape(eqn);
    if (dtype === "bool") return [elementwise(ctx, boolOp, [a, b], shape, dtype)];
    const inv = inverse(ctx);
    const ib = inv.get(b);
    if (ib) return [elementwise(ctx, fused, [a, ib], shape, dtype)];
    const ia = inv.get(a);
    if (ia) return [elementwise(ctx, fused, [b, ia], shape, dtype)];
    return [elementwise(ctx, op, [a, b], shape, dtype)];
  };
}

const add = fusing("Add", "Or", "Sub", (ctx) => ctx.negOf);
const mul = fusing("Mul", "And", "Div", (ctx) => ctx.recipOf);

function minMax(op: "Min" | "Max"): Rule {
  return (ctx, eqn) => {
    const [a, b, dtype] = binaryInputs(ctx, eqn);
    const boolOp = op === "Max" ? "Or" : "And";
    return [elementwise(ctx, dtype === "bool" ? boolOp : op, [a, b], outShape(eqn), dtype)];
  };
}

/** Truncating division (jax-js idiv is Math.trunc(a / b)). */
const idiv: Rule = (ctx, eqn) => {
  const [a, b, dtype] = binaryInputs(ctx, eqn);
  const q = elementwise(ctx, "Div", [a, b], outShape(eqn), dtype);
  if (!isFloat(dtype)) return [q];
  const g = ctx.g;
  const x = materialize(g, q);
  const info = g.info(x);
  const neg = g.node("Less", [x, g.scalar(dtype, 0)], { shape: info.shape, dtype: "bool" });
  const t = g.node("Where", [neg, g.node("Ceil", [x], info), g.node("Floor", [x], info)], info);
  return [fresh(t, q.compact, q.shape, dtype)];
};

/** C-style remainder (sign of the dividend), as jax-js `mod`. */
const mod: Rule = (ctx, eqn) => {
  const [a, b, dtype] = binaryInputs(ctx, eqn);
  const shape = outShape(eqn);
  const compact = broadcastCompact(shape, [a, b]);
  const y = ctx.g.node("Mod", [materialize(ctx.g, a), materialize(ctx.g, b)], { shape: compact, dtype }, { fmod: 1 });
  return [fresh(y, compact, shape, dtype)];
};

const COMPARE: Record<string, string> = { less: "Less", less_equal: "LessOrEqual", equal: "Equal", not_equal: "Equal" };

const compare: Rule = (ctx, eqn) => {
  const ref = eqn.inputs.find((a) => !isLit(a)) ?? eqn.inputs[0];
  const dtype = elemType(ref.aval.dtype, "compare");
  const a = ctx.input(eqn, 0, dtype);
  const b = ctx.input(eqn, 1, dtype);
  const op: string = eqn.params.op;
  const y = elementwise(ctx, COMPARE[op] ?? unsupported(eqn, `compare op ${op}`), [a, b], outShape(eqn), "bool");
  return [op === "not_equal" ? onSource(ctx, y, "Not", "bool") : y];
};

const where: Rule = (ctx, eqn) => {
  const dtype = outDtype(eqn);
  const inputs = [ctx.input(eqn, 0, "bool"), ctx.input(eqn, 1, dtype), ctx.input(eqn, 2, dtype)];
  return [elementwise(ctx, "Where", inputs, outShape(eqn), dtype)];
};

const BIT: Record<string, string> = { and: "BitwiseAnd", or: "BitwiseOr", xor: "BitwiseXor" };

const bitCombine: Rule = (ctx, eqn) => {
  const [a, b, dtype] = binaryInputs(ctx, eqn);
  const op: string = eqn.params.op;
  const onnxOp = dtype === "bool" ? { and: "And", or: "Or", xor: "Xor" }[op] : BIT[op];
  return [elementwise(ctx, onnxOp ?? unsupported(eqn, `bit op ${op}`), [a, b], outShape(eqn), dtype)];
};

const REDUCE: Record<string, string> = { Add: "ReduceSum", Mul: "ReduceProd", Max: "ReduceMax", Min: "ReduceMin" };

/**
 * Reduces `x` over `axes` on the view's source (order does not matter), so transposed inputs are never
 * materialised; a reduction over a broadcast axis of size n is a multiply by n (Add) or a power (Mul).
 */
export function reduceValue(g: GraphBuilder, x: Value, axes: readonly number[], op: string, shape: readonly number[]): Value {
  const onnxOp = REDUCE[op];
  const srcAxes = axes.flatMap((a) => x.view.groups[a]);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const bcastCount = axes.reduce((n, a) => n * (x.compact[a] === 1 ? x.shape[a] : 1), 1);
  const work = x.dtype === "bool" ? "int32" : x.dtype;
  let src = g.cast(x.view.src, work);
  let srcShape = x.view.srcShape;
  if (srcAxes.length > 0) {
    srcShape = srcShape.filter((_, i) => !srcAxes.includes(i));
    src = g.node(onnxOp, [src, g.int64s(srcAxes)], { shape: srcShape, dtype: work }, { keepdims: 0 });
  }
  const remap = (a: number) => a - srcAxes.filter((r) => r < a).length;
  const groups = kept.map((i) => x.view.groups[i].map(remap));
  if (bcastCount > 1 && op === "Add") src = g.node("Mul", [src, g.scalar(work, bcastCount)], { shape: srcShape, dtype: work });
  if (bcastCount > 1 && op === "Mul") src = g.node("Pow", [src, g.scalar(work, bcastCount)], { shape: srcShape, dtype: work });
  src = g.cast(src, x.dtype);
  return { shape, compact: kept.map((i) => x.compact[i]), dtype: x.dtype, view: { src, srcShape, groups } };
}

const reduce: Rule = (ctx, eqn) => {
  const op: string = eqn.params.op;
  if (!(op in REDUCE)) unsupported(eqn, `reduce op ${op}`);
  return [reduceValue(ctx.g, ctx.input(eqn, 0), eqn.params.axis, op, outShape(eqn))];
};

const identity: Rule = (ctx, eqn) => [ctx.input(eqn, 0)];

export const elementwiseRules: Record<string, Rule> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([p, op]) => [p, unaryRule(op)])),
  erfc,
  cast,
  stop_gradient: identity,
  add,
  mul,
  min: minMax("Min"),
  max: minMax("Max"),
  idiv,
  mod,
  compare,
  where,
  bit_combine: bitCombine,
  reduce,
};
