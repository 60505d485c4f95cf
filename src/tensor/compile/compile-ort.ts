// compileOrt: like `jit`, but the traced program runs in onnxruntime-node (CPU EP), one loaded session per signature.
import os from "node:os";
import * as ort from "onnxruntime-node";
import { type JsTreeDef, type Tensor, tree } from "../index.ts";
import { batchElementwise } from "./batch.ts";
import { fromHost, type HostTensor, isHostTensor, toHost } from "./host.ts";
import { type LoweredProgram, lowerJaxpr } from "./lower.ts";
import { evalHostEqn } from "./prologue.ts";
import { type JVar } from "./rule.ts";
import { type Leaf, type Signature, signatureOf, traceFn } from "./trace.ts";

/** A leaf a compiled function accepts: an engine Tensor (consumed, like any call) or a host array (borrowed). */
export type OrtInput = Leaf;

/** Replaces the Tensor leaves of a pytree type by `B`. */
export type MapLeaves<T, B> = T extends Tensor ? B : T extends object ? { [K in keyof T]: MapLeaves<T[K], B> } : T;

export interface CompileOrtOptions {
  /** Intra-op threads of each session (default: every core, os.availableParallelism()). */
  readonly threads?: number;
  /** Argument positions whose values are baked into the graph as initializers (weights), read at compile time. */
  readonly bakeArgnums?: readonly number[];
  /** Called after each new signature is traced, lowered and loaded. */
  readonly onCompile?: (info: CompileInfo) => void;
  /** Extra onnxruntime-node session options (e.g. enableProfiling), merged over the defaults. */
  readonly sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface CompileInfo {
  readonly signature: string;
  readonly traceMs: number;
  readonly lowerMs: number;
  readonly loadMs: number;
  readonly program: LoweredProgram;
}

/** A compiled function on either engine: resolves to host arrays; `.tensors` resolves to engine Tensors instead. */
export interface CompiledFn<F extends (...args: never[]) => unknown> {
  (...args: MapLeaves<Parameters<F>, OrtInput>): Promise<MapLeaves<ReturnType<F>, HostTensor>>;
  tensors(...args: MapLeaves<Parameters<F>, OrtInput>): Promise<ReturnType<F>>;
  /** Releases what the function holds (loaded sessions, jit caches). */
  dispose(): Promise<void>;
}

/** compileOrt's result: a CompiledFn that can also build a signature's program without running it. */
export interface CompiledOrt<F extends (...args: never[]) => unknown> extends CompiledFn<F> {
  /** Traces, lowers and loads for these arguments (not consumed) without running; returns what was built. */
  compile(...args: MapLeaves<Parameters<F>, OrtInput>): Promise<CompileInfo>;
}

interface Entry {
  readonly info: CompileInfo;
  readonly session: ort.InferenceSession;
  readonly consts: Map<JVar, HostTensor>;
  readonly inBinders: readonly JVar[];
  readonly treedef: JsTreeDef;
}

/**
 * Compiles `fn` (a pure function of Tensor pytrees, as for `jit`) to ONNX and runs it in onnxruntime-node. Each new
 * signature (argument structure, shapes, dtypes, baked-argument identity) is traced with makeJaxpr, lowered and
 * loaded once. Arrays captured by `fn`'s closure and the `bakeArgnums` arguments become initializers; everything
 * else is a graph input. Random keys (uint32 inputs) are expanded on the host, bit-exact with jax-js.
 */
export function compileOrt<F extends (...args: never[]) => unknown>(fn: F, opts: CompileOrtOptions = {}): CompiledOrt<F> {
  const cache = new Map<string, Promise<Entry>>();
  const bake = new Set(opts.bakeArgnums ?? []);
  const threads = opts.threads ?? os.availableParallelism();

  const entryFor = (args: readonly unknown[]) => {
    const sig = signatureOf(args, bake);
    let entry = cache.get(sig.signature);
    if (!entry) {
      const session = { ...sessionDefaults(threads), ...opts.sessionOptions };
      entry = build(fn, args, sig, session);
      cache.set(sig.signature, entry);
      entry.then((e) => opts.onCompile?.(e.info), () => cache.delete(sig.signature));
    }
    return { entry, leaves: sig.leaves };
  };

  const run = async (args: readonly unknown[], asTensors: boolean) => {
    const { entry, leaves } = entryFor(args);
    const e = await entry;
    const outs = await execute(e, leaves);
    return tree.unflatten(e.treedef, (asTensors ? outs.map(fromHost) : outs) as never[]);
  };

  const compiled = async (...args: unknown[]) => run(args, false);
  compiled.tensors = async (...args: unknown[]) => run(args, true);
  compiled.compile = async (...args: unknown[]) => (await entryFor(args).entry).info;
  compiled.dispose = async () => {
    const entries = [...cache.values()];
    cache.clear();
    for (const e of await Promise.allSettled(entries)) if (e.status === "fulfilled") await e.value.session.release();
  };
  return compiled as unknown as CompiledOrt<F>;
}

async function build(fn: (...args: never[]) => unknown, args: readonly unknown[], sig: Signature, sessionOptions: ort.InferenceSession.SessionOptions): Promise<Entry> {
  const traced = await traceFn(fn, args, sig);
  const t1 = performance.now();
  const program = lowerJaxpr(batchElementwise(traced.jaxpr), traced.consts, sig.names);
  const t2 = performance.now();
  const session = await ort.InferenceSession.create(program.model, sessionOptions);
  const t3 = performance.now();
  const info = { signature: sig.signature, traceMs: traced.traceMs, lowerMs: t2 - t1, loadMs: t3 - t2, program };
  const { jaxpr, consts } = traced;
  const constMap = new Map(jaxpr.inBinders.slice(0, consts.length).map((v, i) => [v, consts[i]] as const));
  return { info, session, consts: constMap, inBinders: jaxpr.inBinders.slice(consts.length), treedef: traced.treedef };
}

/**
 * Sequential execution, every graph optimisation, and intra-op threads that sleep instead of spinning between
 * kernels: spinning won 5-10% on an idle machine in the prototype but cost up to 2x while other processes (data
 * loaders, the simulator, other sessions) share the cores.
 */
function sessionDefaults(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

const ORT_TYPE = { float32: "float32", float64: "float64", int32: "int32", uint32: "uint32", bool: "bool" } as const;

/** Runs the key prologue and the session; returns the flat outputs. */
async function execute(e: Entry, leaves: readonly Leaf[]): Promise<HostTensor[]> {
  const env = new Map<JVar, HostTensor>(e.consts);
  const hostLeaves = await Promise.all(leaves.map((l) => (isHostTensor(l) ? l : toHost(l as Tensor))));
  e.inBinders.forEach((v, i) => env.set(v, hostLeaves[i]));
  for (const eqn of e.info.program.host) {
    const outs = evalHostEqn(eqn, (i) => {
      const a = eqn.inputs[i];
      if ("value" in a) return literal(a.value, a.aval.dtype);
      return env.get(a as JVar)!;
    });
    eqn.outBinders.forEach((v, i) => env.set(v, outs[i]));
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const f of e.info.program.feeds) {
    const h = env.get(f.source)!;
    feeds[f.name] = new ort.Tensor(ORT_TYPE[h.dtype], h.data, [...h.shape]);
  }
  const results = Object.keys(feeds).length > 0 || e.info.program.outputs.some((o) => o.kind === "graph") ? await e.session.run(feeds) : {};
  return e.info.program.outputs.map((o): HostTensor => {
    if (o.kind === "graph") {
      const t = results[o.name];
      return { dtype: t.type as HostTensor["dtype"], shape: [...t.dims], data: t.data as HostTensor["data"] };
    }
    if (o.kind === "var") return env.get(o.source)!;
    return literal(o.value, o.dtype);
  });
}

function literal(value: number, dtype: string): HostTensor {
  const data = dtype === "float32" ? Float32Array.of(value) : dtype === "int32" ? Int32Array.of(value) : dtype === "uint32" ? Uint32Array.of(value) : dtype === "float64" ? Float64Array.of(value) : Uint8Array.of(value ? 1 : 0);
  return { dtype: dtype as HostTensor["dtype"], shape: [], data };
}
