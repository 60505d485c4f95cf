// What a lowering rule sees: the graph, the lowered inputs of one jaxpr equation, and shared helpers.
import { type Jaxpr } from "../index.ts";
import { InternvlaError } from "../errors.ts";
import { type ElemType, type GraphBuilder } from "./onnx-graph.ts";
import { type Value } from "./values.ts";

export type JaxprEqn = Jaxpr["eqns"][number];
export type Atom = JaxprEqn["inputs"][number];
export type JVar = Jaxpr["inBinders"][number];

export interface LowerCtx {
  readonly g: GraphBuilder;
  /** The lowered value of input `i` of `eqn` (a literal becomes a scalar constant of `dtype`, default its own). */
  input(eqn: JaxprEqn, i: number, dtype?: ElemType): Value;
  /** neg(x) -> x and reciprocal(x) -> x, so add/mul can emit Sub/Div. */
  readonly negOf: WeakMap<Value, Value>;
  readonly recipOf: WeakMap<Value, Value>;
  /** flip(x, axes) -> x, so a conv gradient's flipped kernel is not flipped twice. */
  readonly flipOf: WeakMap<Value, { readonly x: Value; readonly axes: readonly number[] }>;
}

/** Lowers one equation to its output values (one per out binder). */
export type Rule = (ctx: LowerCtx, eqn: JaxprEqn) => Value[];

/** A primitive (or a use of it) the compiler cannot express in ONNX. */
export class UnsupportedError extends InternvlaError {}

export function isLit(a: Atom): a is Extract<Atom, { value: number }> {
  return "value" in a;
}

export function outShape(eqn: JaxprEqn, i = 0): readonly number[] {
  return eqn.outBinders[i].aval.shape;
}

export function outDtype(eqn: JaxprEqn, i = 0): ElemType {
  return elemType(eqn.outBinders[i].aval.dtype, eqn.primitive);
}

/** jax-js dtype -> element type, rejecting what ONNX Runtime's CPU provider cannot run here. */
export function elemType(dtype: string, where: string): ElemType {
  if (dtype === "float32" || dtype === "int32" || dtype === "uint32" || dtype === "bool" || dtype === "float64") return dtype;
  throw new UnsupportedError(`compile: ${where}: dtype ${dtype} has no ONNX lowering; expected float32, float64, int32, uint32 or bool`);
}

export function isFloat(dtype: ElemType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** Right-aligned broadcast of compact shapes to `shape`'s rank (numpy rules, 1 = broadcast). */
export function broadcastCompact(shape: readonly number[], inputs: readonly Value[]): number[] {
  const r = shape.length;
  return shape.map((_, i) => {
    let c = 1;
    for (const v of inputs) {
      const j = i - (r - v.compact.length);
      if (j >= 0 && v.compact[j] !== 1) c = v.compact[j];
    }
    return c;
  });
}

export function unsupported(eqn: JaxprEqn, what: string, hint?: string): never {
  throw new UnsupportedError(`compile: ${eqn.primitive}: ${what}`, hint);
}
