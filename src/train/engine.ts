// Engines that run pure steps: ONNX Runtime (compileOrt, state kept as host arrays) or jax-js jit (state kept as Tensors).
import { jit, tree, type JsTree, type Tensor } from "../tensor/index.ts";
import { compileOrt, fromHost, isHostTensor, type HostTensor, type MapLeaves } from "../tensor/compile/index.ts";
import { type EngineKind } from "./config.ts";
import { type AdamWState } from "./optim.ts";

/** A pytree with HostTensor leaves in place of Tensors. */
export type Host<T> = MapLeaves<T, HostTensor>;

/** Maps every HostTensor leaf of a nested object/array structure. */
export function mapHost<T>(x: unknown, f: (h: HostTensor) => T): unknown {
  if (isHostTensor(x)) return f(x);
  if (Array.isArray(x)) return x.map((c) => mapHost(c, f));
  if (x !== null && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, c]) => [k, mapHost(c, f)]));
  return x;
}

/** Uploads a host tree as engine Tensors (copied). */
export function toTensors<T>(h: Host<T>): T {
  return mapHost(h, fromHost) as T;
}

/** Reads a Tensor (consumed) on the main thread (dataSync: no worker-pool round trip). */
function hostOf(t: Tensor): HostTensor {
  const dtype = String(t.dtype) as HostTensor["dtype"];
  const shape = [...t.shape];
  const data = t.dataSync();
  return { dtype, shape, data: dtype === "bool" ? Uint8Array.from(data as Int32Array) : (data as HostTensor["data"]) };
}

/** Reads a Tensor tree (consumed) back to host arrays, leaf by leaf. */
export function toHostTree<T>(t: T): Host<T> {
  const [leaves, def] = tree.flatten(t as JsTree<Tensor>);
  return tree.unflatten(def, (leaves as Tensor[]).map(hostOf) as never) as Host<T>;
}

/** Fresh AdamW state as host arrays: zero moments shaped like `params`, count 0 (optim.ts adamwInit). */
export function initialOptimizer<P>(params: Host<P>): Host<AdamWState<P>> {
  const zeros = () => mapHost(params, (h) => ({ ...h, data: new Float32Array(h.data.length) })) as Host<P>;
  return { count: { dtype: "float32", shape: [], data: new Float32Array(1) }, mu: zeros(), nu: zeros() } as Host<AdamWState<P>>;
}

/** The first element of a scalar host output as a number. */
export const scalar = (h: HostTensor): number => Number(h.data[0]);

/** A step `(state, inputs) -> { state, metrics }` whose state the engine keeps between calls. */
export interface StepRunner<S, I, M> {
  /** Runs one step on host inputs; returns the metrics as host arrays. */
  run(inputs: Host<I>): Promise<Host<M>>;
  /** A host copy of the current state (for checkpoints). */
  state(): Promise<Host<S>>;
  dispose(): Promise<void>;
}

/** A function of (constant weights, host inputs) -> host output, e.g. the frozen encoder. */
export interface FnRunner<I, O> {
  run(inputs: Host<I>): Promise<Host<O>>;
  dispose(): Promise<void>;
}

type StepFn<S, I, M> = (state: S, inputs: I) => { state: S; metrics: M };

/** ONNX Runtime: the step is traced once per input signature; the state lives in JS memory between calls. */
function ortStep<S, I, M>(fn: StepFn<S, I, M>, init: Host<S>, threads: number): StepRunner<S, I, M> {
  const compiled = compileOrt(fn, { threads: threads || undefined });
  let state = init;
  return {
    async run(inputs) {
      const out = (await compiled(state as never, inputs as never)) as unknown as { state: Host<S>; metrics: Host<M> };
      state = out.state;
      return out.metrics;
    },
    state: async () => state,
    dispose: () => compiled.dispose(),
  };
}

/** jax-js: the step is jitted; the state stays on the engine between calls. */
function jaxStep<S, I, M>(fn: StepFn<S, I, M>, init: Host<S>): StepRunner<S, I, M> {
  const compiled = jit(fn as unknown as (s: JsTree<Tensor>, i: JsTree<Tensor>) => JsTree<Tensor>) as unknown as StepFn<S, I, M> & { dispose(): void };
  let state = toTensors<S>(init);
  return {
    async run(inputs) {
      const out = compiled(state, toTensors<I>(inputs));
      state = out.state;
      return toHostTree(out.metrics);
    },
    state: async () => toHostTree(tree.ref(state as JsTree<Tensor>) as S),
    async dispose() {
      tree.dispose(state as JsTree<Tensor>);
      compiled.dispose();
    },
  };
}

/** A stateful step on the chosen engine, starting from `init` (host arrays, taken over). */
export function stepRunner<S, I, M>(kind: EngineKind, fn: StepFn<S, I, M>, init: Host<S>, threads = 0): StepRunner<S, I, M> {
  return kind === "ort" ? ortStep(fn, init, threads) : jaxStep(fn, init);
}

/**
 * A function with constant weights `w` (host arrays, borrowed for the runner's life) on the chosen engine. Under
 * ORT the weights are graph inputs fed from host memory, so nothing is read back from the engine.
 */
export function fnRunner<W, I, O>(kind: EngineKind, fn: (w: W, inputs: I) => O, w: Host<W>, threads = 0): FnRunner<I, O> {
  if (kind === "ort") {
    const compiled = compileOrt(fn, { threads: threads || undefined });
    return {
      run: async (inputs) => (await compiled(w as never, inputs as never)) as unknown as Host<O>,
      dispose: () => compiled.dispose(),
    };
  }
  const weights = toTensors<W>(w);
  const compiled = jit((ws: JsTree<Tensor>, inputs: JsTree<Tensor>) => fn(ws as W, inputs as I) as JsTree<Tensor>);
  return {
    run: async (inputs) => toHostTree(compiled(tree.ref(weights as JsTree<Tensor>), toTensors<I>(inputs) as JsTree<Tensor>) as O),
    async dispose() {
      compiled.dispose();
      tree.dispose(weights as JsTree<Tensor>);
    },
  };
}
