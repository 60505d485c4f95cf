// The compute layer: the only module that imports the engine (jax-js); the rest of the code imports from here.
// The shim must be evaluated before jax-js: keep this import first.
import "./worker-shim.ts";
import * as jax from "@jax-js/jax";

export const np = jax.numpy;
export const lax = jax.lax;
/** jax-js's own activation and attention helpers (named jnn so that src/nn stays ours). */
export const jnn = jax.nn;
export const random = jax.random;
export const tree = jax.tree;
export const { jit, grad, valueAndGrad, makeJaxpr, vjp, vmap, blockUntilReady } = jax;
export { ClosedJaxpr, Jaxpr } from "@jax-js/jax";
export type { JsTree, JsTreeDef } from "@jax-js/jax";

/** An n-d array on the engine's device. Ownership rules: see src/tensor/README.md. */
export type Tensor = jax.Array;
export type DType = jax.DType;
/** A PRNG key (a threefry key array); split it, never reuse it. */
export type Key = jax.Array;

let ready: Promise<void> | undefined;

/**
 * Starts the wasm backend once (idempotent). Call before creating any Tensor. The kernels use one worker
 * per core (os.availableParallelism()), fixed when this module is first imported.
 */
export function initEngine(): Promise<void> {
  ready ??= (async () => {
    await jax.init("wasm");
    jax.defaultDevice("wasm");
  })();
  return ready;
}

/** A fresh key from an integer seed. */
export function keyFromSeed(seed: number): Key {
  return random.key(seed >>> 0);
}

/** Splits a key (consumed) into `n` independent keys. */
export function splitKey(key: Key, n = 2): Key[] {
  const keys = random.split(key, n);
  const out: Key[] = [];
  for (let i = 0; i < n; i++) out.push(keys.ref.slice(i));
  keys.dispose();
  return out;
}

/** Wraps a Float32Array (copied) as a float32 Tensor of the given shape. */
export function fromF32(data: Float32Array, shape: readonly number[]): Tensor {
  return np.array(data, { dtype: np.float32 }).reshape([...shape]);
}

/** Reads a Tensor (consumed) back as a Float32Array, waiting on the worker pool. */
export async function toF32(x: Tensor): Promise<Float32Array> {
  const y = x.dtype === np.float32 ? x : x.astype(np.float32);
  return (await y.data()) as Float32Array;
}

/** Reads a scalar Tensor (consumed). */
export async function toNumber(x: Tensor): Promise<number> {
  return (await toF32(x))[0];
}
