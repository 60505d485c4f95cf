// Tracing for the compiler: argument pytrees with HostTensor leaves, signatures, and makeJaxpr on abstract values.
import { InternvlaError } from "../errors.ts";
import { type Jaxpr, type JsTreeDef, makeJaxpr, type Tensor, tree } from "../index.ts";
import { fromHost, type HostTensor, isHostTensor, toHost } from "./host.ts";

/** A leaf a compiled function accepts: an engine Tensor (consumed, like any call) or a host array (borrowed). */
export type Leaf = Tensor | HostTensor;

/** Abstract leaf for tracing: jax-js treats class instances with shape/dtype as avals. */
class Aval {
  constructor(
    readonly shape: number[],
    readonly dtype: string,
    readonly weakType = false,
  ) {}
}

function isLeaf(x: unknown): x is Leaf {
  return isHostTensor(x) || (typeof x === "object" && x !== null && !Array.isArray(x) && x.constructor !== Object);
}

/** Flattens in jax-js's order (arrays by index, objects by key order) with HostTensor as a leaf. */
function flattenArgs(x: unknown, leaves: Leaf[], names: string[], where: string): unknown {
  if (isLeaf(x)) {
    leaves.push(x);
    names.push(where);
    return null;
  }
  if (Array.isArray(x)) return x.map((c, i) => flattenArgs(c, leaves, names, `${where}.${i}`));
  if (typeof x === "object" && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, c]) => [k, flattenArgs(c, leaves, names, `${where}.${k}`)]));
  }
  throw new InternvlaError(`compileOrt: argument ${where} is ${String(x)}; expected a Tensor, a HostTensor, or arrays/objects of them`);
}

/** Rebuilds a structure from flattenArgs, filling leaves in order. */
function fill(structure: unknown, it: Iterator<unknown>): unknown {
  if (structure === null) return it.next().value;
  if (Array.isArray(structure)) return structure.map((c) => fill(c, it));
  return Object.fromEntries(Object.entries(structure as object).map(([k, c]) => [k, fill(c, it)]));
}

const dtypeOf = (x: Leaf) => String(x.dtype);
const shapeOf = (x: Leaf) => [...x.shape];

const objectIds = new WeakMap<object, number>();
let nextId = 0;
function idOf(x: object): number {
  let id = objectIds.get(x);
  if (id === undefined) objectIds.set(x, (id = nextId++));
  return id;
}

/** What selects a compiled program: the flattened dynamic leaves, their structure, names and a cache key. */
export interface Signature {
  readonly leaves: readonly Leaf[];
  /** Per argument: its structure with leaves as null, or undefined for a baked argument. */
  readonly structure: readonly unknown[];
  /** Per leaf: its path, e.g. "0.obs.images" (graph input names). */
  readonly names: readonly string[];
  readonly bake: ReadonlySet<number>;
  readonly signature: string;
}

/** Flattens the arguments (baked ones are keyed by identity) into a signature. */
export function signatureOf(args: readonly unknown[], bake: ReadonlySet<number>, argNames?: readonly string[]): Signature {
  const leaves: Leaf[] = [];
  const names: string[] = [];
  const structure = args.map((a, i) => (bake.has(i) ? undefined : flattenArgs(a, leaves, names, argNames?.[i] ?? String(i))));
  const bakedIds = args.flatMap((a, i) => (bake.has(i) ? [idOf(a as object)] : []));
  const signature = JSON.stringify([structure, leaves.map((l) => [dtypeOf(l), shapeOf(l)]), bakedIds]);
  return { leaves, structure, names, bake, signature };
}

export interface Traced {
  /** Flattened and simplified; the first consts.length in-binders are the constants. */
  readonly jaxpr: Jaxpr;
  readonly consts: HostTensor[];
  readonly treedef: JsTreeDef;
  readonly traceMs: number;
}

/** Traces `fn` on abstract values of the signature's leaves; closure arrays and baked arguments become constants. */
export async function traceFn(fn: (...args: never[]) => unknown, args: readonly unknown[], sig: Signature): Promise<Traced> {
  const t0 = performance.now();
  const baked = await Promise.all(args.map((a, i) => (sig.bake.has(i) ? bakeArg(a) : undefined)));
  const avals = sig.leaves.map((l) => new Aval(shapeOf(l), dtypeOf(l)));
  const it = avals[Symbol.iterator]();
  const traceArgs = sig.structure.map((s, i) => (sig.bake.has(i) ? baked[i] : fill(s, it)));
  const { jaxpr: closed, treedef } = makeJaxpr((...a: unknown[]) => fn(...(a as never[])) as never)(...(traceArgs as never[]));
  try {
    const jaxpr = closed.jaxpr.flatten().simplify();
    const consts = await Promise.all(closed.consts.map((c) => toHost((c as Tensor).ref)));
    return { jaxpr, consts, treedef, traceMs: performance.now() - t0 };
  } finally {
    closed.dispose();
    for (const b of baked) if (b !== undefined) tree.dispose(b as never);
  }
}

/** A baked argument as engine Tensors (HostTensor leaves are uploaded; Tensor leaves are borrowed). */
async function bakeArg(a: unknown): Promise<unknown> {
  const leaves: Leaf[] = [];
  const s = flattenArgs(a, leaves, [], "baked");
  return fill(s, leaves.map((l) => (isHostTensor(l) ? fromHost(l) : (l as Tensor).ref))[Symbol.iterator]());
}

