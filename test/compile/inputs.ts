// Deterministic random host inputs for compiler tests and benches (no test-runner imports, so bench/ can use it).
import { type HostTensor } from "../../src/tensor/compile/index.ts";

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** mulberry32: a small deterministic generator for test inputs (no Math.random). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}


/** Uniform float32 values in [lo, hi). */
export function rand(shape: readonly number[], seed: number, lo = -1, hi = 1): HostTensor {
  const r = rng(seed);
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r();
  return { dtype: "float32", shape: [...shape], data };
}

/** Uniform int32 values in [lo, hi). */
export function randInt(shape: readonly number[], seed: number, lo: number, hi: number): HostTensor {
  const r = rng(seed);
  const data = new Int32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + Math.floor((hi - lo) * r());
  return { dtype: "int32", shape: [...shape], data };
}

