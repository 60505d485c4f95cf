// Lowers a flattened jaxpr to an ONNX model: graph inputs, initializers, rules per primitive, outputs.
import { type Jaxpr } from "../index.ts";
import { InternvlaError } from "../errors.ts";
import { type HostTensor } from "./host.ts";
import { partitionHost } from "./prologue.ts";
import { type ElemType, GraphBuilder, type GraphStats, sameShape, type TensorInfo } from "./onnx-graph.ts";
import { type Atom, elemType, isLit, type JaxprEqn, type JVar, type LowerCtx, type Rule, unsupported } from "./rule.ts";
import { convRules } from "./rules-conv.ts";
import { dot } from "./rules-dot.ts";
import { elementwiseRules } from "./rules-elementwise.ts";
import { indexRules } from "./rules-index.ts";
import { shapeRules } from "./rules-shape.ts";
import { expandAll, fresh, materialize, type Value } from "./values.ts";

const RULES: Record<string, Rule> = { ...elementwiseRules, ...shapeRules, ...indexRules, ...convRules, dot };

const HINTS: Record<string, string> = {
  random_bits: "pass the key as a uint32 input (the key prologue runs it on the host) or pass the noise in as an input",
  bitcast: "bitcast is only supported on random bits derived from a uint32 key input",
  sort: "sort/argsort have no lowering; compute them outside the compiled function",
};

/** A graph input and the jaxpr variable (function argument or key-prologue result) that feeds it. */
export interface FeedSpec {
  readonly name: string;
  readonly source: JVar;
  readonly info: TensorInfo;
}

/** Where each output of the function comes from. */
export type OutSpec =
  | { readonly kind: "graph"; readonly name: string }
  | { readonly kind: "var"; readonly source: JVar }
  | { readonly kind: "literal"; readonly value: number; readonly dtype: ElemType };

export interface LoweredProgram {
  readonly model: Uint8Array;
  readonly feeds: readonly FeedSpec[];
  readonly outputs: readonly OutSpec[];
  /** Key-prologue equations, run on the host before each call (see host.ts). */
  readonly host: readonly JaxprEqn[];
  readonly stats: GraphStats;
}

/**
 * Lowers `jaxpr` (already flattened, no nested jit). The first `consts.length` in-binders are constants baked as
 * initializers; the rest are the function's flattened arguments, named `inputNames` (default in0, in1, ...).
 */
/** uint32 arguments feed the key prologue; they become graph inputs only if the graph reads them. */
const onHostInput = (v: JVar) => v.aval.dtype === "uint32";

export function lowerJaxpr(jaxpr: Jaxpr, consts: readonly HostTensor[], inputNames?: readonly string[], outputNames?: readonly string[]): LoweredProgram {
  const g = new GraphBuilder();
  const args = jaxpr.inBinders.slice(consts.length);
  const { host, device } = partitionHost(args, jaxpr.eqns);
  const constOf = new Map(jaxpr.inBinders.slice(0, consts.length).map((v, i) => [v, consts[i]] as const));
  const env = new Map<JVar, Value>();
  const feeds: FeedSpec[] = [];

  const hostOut = new Set(host.flatMap((e) => e.outBinders));
  const varValue = (v: JVar): Value => {
    const known = env.get(v);
    if (known) return known;
    const dtype = elemType(v.aval.dtype, "input");
    const info = { shape: v.aval.shape, dtype };
    const c = constOf.get(v);
    const name = c ? g.constant(info, c.data) : g.input(hostOut.has(v) ? `key${feeds.length}` : inputNames?.[args.indexOf(v)] ?? `in${args.indexOf(v)}`, info);
    if (!c) feeds.push({ name, source: v, info });
    const value = fresh(name, v.aval.shape, v.aval.shape, dtype);
    env.set(v, value);
    return value;
  };
  for (const v of args) if (!onHostInput(v)) varValue(v);
  const ctx: LowerCtx = {
    g,
    input(eqn, i, dtype) {
      const a = eqn.inputs[i];
      if (isLit(a)) {
        const dt = dtype ?? elemType(a.aval.dtype, eqn.primitive);
        return fresh(g.scalar(dt, a.value), [], [], dt);
      }
      const v = varValue(a as JVar);
      if (dtype === undefined || v.dtype === dtype) return v;
      return fresh(g.cast(materialize(g, v), dtype), v.compact, v.shape, dtype);
    },
    negOf: new WeakMap(),
    recipOf: new WeakMap(),
    flipOf: new WeakMap(),
  };
  for (const eqn of device) lowerEqn(ctx, eqn, env);
  const onHost = new Set<JVar>([...jaxpr.inBinders, ...host.flatMap((e) => e.outBinders)]);
  const outputs = jaxpr.outs.map((a, i) => outSpec(g, a, outputNames?.[i] ?? `out${i}`, env, onHost));
  return { model: g.encode(), feeds, outputs, host, stats: g.stats() };
}

function lowerEqn(ctx: LowerCtx, eqn: JaxprEqn, env: Map<JVar, Value>): void {
  const rule = RULES[eqn.primitive] ?? unsupported(eqn, "no ONNX lowering for this primitive", HINTS[eqn.primitive]);
  const outs = rule(ctx, eqn);
  eqn.outBinders.forEach((v, i) => {
    if (!sameShape(outs[i].shape, v.aval.shape)) {
      throw new InternvlaError(`internal: compile: ${eqn.primitive} lowered to shape [${outs[i].shape}], jaxpr says [${v.aval.shape}]`);
    }
    env.set(v, outs[i]);
  });
}

function outSpec(g: GraphBuilder, a: Atom, name: string, env: Map<JVar, Value>, onHost: Set<JVar>): OutSpec {
  if (isLit(a)) return { kind: "literal", value: a.value, dtype: elemType(a.aval.dtype, "output") };
  const v = a as JVar;
  const value = env.get(v);
  if (onHost.has(v) || value === undefined) return { kind: "var", source: v };
  g.output(name, materialize(g, expandAll(g, value, "graph output is a broadcast")));
  return { kind: "graph", name };
}
