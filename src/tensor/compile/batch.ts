// Horizontal batching: isomorphic elementwise chains over many small tensors (an optimizer's per-parameter update,
// per-leaf clipping) are rewritten to run once over their concatenation.
//
// ONNX Runtime's CPU provider fuses no elementwise ops and each kernel costs ~10 microseconds however small its
// tensor, so AdamW over a model with a few hundred parameter tensors is thousands of tiny kernels. This jaxpr pass
// finds connected elementwise subgraphs ("components") with the same structure, the same literals and the same
// scalar operands, checks they can run together (every input exists before any output is used), and replaces
// them by: flatten + concatenate each input, the chain once on the concatenation, split + reshape each output.
// Elementwise ops are position-independent, so results are bitwise identical.
import { type Jaxpr } from "../index.ts";
import { type Atom, isLit, type JaxprEqn, type JVar } from "./rule.ts";

const ELEMENTWISE = new Set([
  "add", "mul", "min", "max", "neg", "reciprocal", "sqrt", "exp", "log", "sin", "cos", "erf", "erfc", "floor",
  "ceil", "stop_gradient", "cast", "compare", "where", "idiv", "mod",
]);

/** Components whose tensors are larger than this (elements) gain nothing from the extra copies. */
const MAX_ELEMENTS = 1 << 16;
/** Smaller templates save too few kernels to pay for a concatenate and a split. */
const MIN_EQNS = 3;

interface Component {
  readonly eqns: JaxprEqn[];
  /** Non-scalar variables read from outside, in first-use order. */
  readonly inputs: JVar[];
  /** Variables defined inside and read outside (or returned), in definition order. */
  readonly exports: JVar[];
  readonly key: string;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function isCandidate(e: JaxprEqn): boolean {
  if (!ELEMENTWISE.has(e.primitive) || e.outBinders.length !== 1) return false;
  // Integer chains (random-key arithmetic) stay as they are for the key prologue.
  if (e.outBinders[0].aval.dtype === "int32" || e.outBinders[0].aval.dtype === "uint32") return false;
  const shape = e.outBinders[0].aval.shape;
  if (shape.length === 0 || numel(shape) > MAX_ELEMENTS) return false;
  return e.inputs.every((a) => isLit(a) || a.aval.shape.length === 0 || a.aval.shape.join() === shape.join());
}

/** Union-find over candidate equations joined by non-scalar producer -> consumer edges. */
function components(eqns: readonly JaxprEqn[], outs: ReadonlySet<Atom>): Component[] {
  const producer = new Map<JVar, number>();
  eqns.forEach((e, i) => e.outBinders.forEach((v) => producer.set(v, i)));
  const parent = eqns.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const cand = eqns.map(isCandidate);
  eqns.forEach((e, i) => {
    if (!cand[i]) return;
    for (const a of e.inputs) {
      const p = isLit(a) || a.aval.shape.length === 0 ? undefined : producer.get(a as JVar);
      if (p !== undefined && cand[p]) parent[find(i)] = find(p);
    }
  });
  const groups = new Map<number, number[]>();
  eqns.forEach((_, i) => cand[i] && groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
  const readers = new Map<JVar, number[]>();
  eqns.forEach((e, i) => e.inputs.forEach((a) => !isLit(a) && readers.set(a as JVar, [...(readers.get(a as JVar) ?? []), i])));
  return [...groups.values()].filter((idx) => idx.length >= MIN_EQNS).map((idx) => describe(eqns, idx, readers, outs));
}

/** The component's canonical key: structure, params, literals, scalar operands (by identity) and exports. */
function describe(eqns: readonly JaxprEqn[], idx: readonly number[], readers: Map<JVar, number[]>, outs: ReadonlySet<Atom>): Component {
  const members = new Set(idx);
  const local = new Map<JVar, number>();
  const inputs: JVar[] = [];
  const exports: JVar[] = [];
  const scalarIds = new Map<JVar, string>();
  const parts = idx.map((i, k) => {
    const e = eqns[i];
    const args = e.inputs.map((a) => {
      if (isLit(a)) return `L${a.aval.dtype}:${a.value}`;
      const v = a as JVar;
      if (local.has(v)) return `I${local.get(v)}`;
      if (v.aval.shape.length === 0) {
        if (!scalarIds.has(v)) scalarIds.set(v, `S${scalarIds.size}`);
        return `${scalarIds.get(v)}`;
      }
      if (!inputs.includes(v)) inputs.push(v);
      return `X${inputs.indexOf(v)}`;
    });
    const out = e.outBinders[0];
    local.set(out, k);
    if (outs.has(out) || (readers.get(out) ?? []).some((r) => !members.has(r))) exports.push(out);
    return `${e.primitive}${JSON.stringify(e.params)}:${out.aval.dtype}(${args.join(",")})`;
  });
  const exported = exports.map((v) => local.get(v)).join(",");
  // Scalars must be the same variables across the group: they are part of the key by identity.
  const scalars = [...scalarIds.keys()].map(varId).join(",");
  return { eqns: idx.map((i) => eqns[i]), inputs, exports, key: `${parts.join(";")}|${exported}|${scalars}` };
}

const ids = new WeakMap<JVar, number>();
let nextId = 0;
function varId(v: JVar): number {
  if (!ids.has(v)) ids.set(v, nextId++);
  return ids.get(v)!;
}

/** A fresh jaxpr variable (the lowering reads only `aval`). */
function newVar(shape: readonly number[], dtype: string): JVar {
  return { aval: { shape: [...shape], dtype, weakType: false } } as unknown as JVar;
}

function eqn(primitive: string, inputs: Atom[], params: Record<string, unknown>, outBinders: JVar[]): JaxprEqn {
  return { primitive, inputs, params, outBinders } as unknown as JaxprEqn;
}

/** The equations that run a group once: concatenated inputs, the template, split and reshaped exports. */
function merged(group: readonly Component[]): JaxprEqn[] {
  const out: JaxprEqn[] = [];
  const sizes = group.map((c) => numel(c.eqns[0].outBinders[0].aval.shape));
  const N = sizes.reduce((a, b) => a + b, 0);
  const [first] = group;
  const cat = first.inputs.map((_, k) => {
    const flat = group.map((c) => {
      const v = newVar([numel(c.inputs[k].aval.shape)], c.inputs[k].aval.dtype);
      out.push(eqn("reshape", [c.inputs[k]], { shape: v.aval.shape }, [v]));
      return v;
    });
    const all = newVar([N], first.inputs[k].aval.dtype);
    out.push(eqn("concatenate", flat, { axis: 0 }, [all]));
    return all;
  });
  const map = new Map<JVar, JVar>(first.inputs.map((v, k) => [v, cat[k]]));
  for (const e of first.eqns) {
    const o = newVar([N], e.outBinders[0].aval.dtype);
    const inputs = e.inputs.map((a) => (isLit(a) ? a : map.get(a as JVar) ?? a));
    out.push(eqn(e.primitive, inputs, e.params, [o]));
    map.set(e.outBinders[0], o);
  }
  first.exports.forEach((v, k) => {
    const parts = group.map((c, j) => newVar([sizes[j]], c.exports[k].aval.dtype));
    out.push(eqn("split", [map.get(v)!], { axis: 0, sizes }, parts));
    group.forEach((c, j) => out.push(eqn("reshape", [parts[j]], { shape: c.exports[k].aval.shape }, [c.exports[k]])));
  });
  return out;
}

/**
 * Common-subexpression elimination: an equation with the same primitive, params and inputs as an earlier one
 * reuses its outputs (jax-js recomputes e.g. the reciprocal of AdamW's bias correction once per parameter).
 */
export function dedupe(jaxpr: Jaxpr): Jaxpr {
  const alias = new Map<JVar, JVar>();
  const seen = new Map<string, JaxprEqn>();
  const eqns: JaxprEqn[] = [];
  const atom = (a: Atom): Atom => (isLit(a) ? a : alias.get(a as JVar) ?? a);
  const atomKey = (a: Atom) => (isLit(a) ? `L${a.aval.dtype}:${a.value}` : `V${varId(a as JVar)}`);
  for (const e of jaxpr.eqns) {
    const inputs = e.inputs.map(atom);
    const key = `${e.primitive}${JSON.stringify(e.params)}(${inputs.map(atomKey).join(",")})`;
    const hit = seen.get(key);
    if (hit) {
      e.outBinders.forEach((v, i) => alias.set(v, hit.outBinders[i]));
      continue;
    }
    const next = inputs.every((a, i) => a === e.inputs[i]) ? e : eqn(e.primitive, inputs, e.params, e.outBinders);
    seen.set(key, next);
    eqns.push(next);
  }
  return { inBinders: jaxpr.inBinders, eqns, outs: jaxpr.outs.map(atom) } as unknown as Jaxpr;
}

/**
 * Rewrites groups of isomorphic elementwise components to run once over their concatenation. Groups whose
 * inputs are not all defined before the first use of their outputs stay as they are.
 */
export function batchElementwise(input: Jaxpr): Jaxpr {
  const jaxpr = dedupe(input);
  const eqns = jaxpr.eqns;
  const outs = new Set<Atom>(jaxpr.outs);
  const byKey = new Map<string, Component[]>();
  for (const c of components(eqns, outs)) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
  const defined = new Map<JVar, number>();
  eqns.forEach((e, i) => e.outBinders.forEach((v) => defined.set(v, i)));
  const removed = new Set<JaxprEqn>();
  const insertAfter = new Map<number, JaxprEqn[]>();
  for (const group of byKey.values()) {
    if (group.length < 2) continue;
    const members = new Set(group.flatMap((c) => c.eqns));
    const reads = group.flatMap((c) => [...c.inputs, ...scalarInputs(c)]);
    // An input produced by another member would make the merged chain depend on itself.
    if (reads.some((v) => defined.has(v) && members.has(eqns[defined.get(v)!]))) continue;
    const at = Math.max(-1, ...reads.map((v) => defined.get(v) ?? -1));
    const useAt = Math.min(...group.flatMap((c) => c.exports.map((v) => firstReadOutside(eqns, v, members))));
    if (at >= useAt) continue;
    for (const e of members) removed.add(e);
    insertAfter.set(at, [...(insertAfter.get(at) ?? []), ...merged(group)]);
  }
  if (removed.size === 0) return jaxpr;
  const next: JaxprEqn[] = [...(insertAfter.get(-1) ?? [])];
  eqns.forEach((e, i) => {
    if (!removed.has(e)) next.push(e);
    next.push(...(insertAfter.get(i) ?? []));
  });
  return { inBinders: jaxpr.inBinders, eqns: next, outs: jaxpr.outs } as unknown as Jaxpr;
}

function scalarInputs(c: Component): JVar[] {
  return c.eqns.flatMap((e) => e.inputs.filter((a) => !isLit(a) && a.aval.shape.length === 0) as JVar[]);
}

/** Position of the first read of `v` by an equation outside `members` (Infinity if none). */
function firstReadOutside(eqns: readonly JaxprEqn[], v: JVar, members: ReadonlySet<JaxprEqn>): number {
  const i = eqns.findIndex((e) => !members.has(e) && e.inputs.includes(v));
  return i < 0 ? Infinity : i;
}
