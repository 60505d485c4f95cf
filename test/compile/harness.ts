// Test harness for the ONNX lowering: runs one function under ONNX Runtime and under jax-js and compares every output.
import { expect } from "vitest";
import { initEngine, type JsTree, type Tensor, tree } from "../../src/tensor/index.ts";
import { compileOrt, type CompileInfo, fromHost, type HostTensor, toHost } from "../../src/tensor/compile/index.ts";
import { compareAllclose, TOL, type Tolerance } from "../helpers/allclose.ts";

export { TOL };
export { rand, randInt, rng } from "./inputs.ts";

type HostTree = JsTree<HostTensor>;

/** Host leaves in jax-js's flattening order (arrays by index, objects by key). */
export function hostLeaves(t: unknown): HostTensor[] {
  if (Array.isArray(t)) return t.flatMap(hostLeaves);
  if (typeof t === "object" && t !== null && !("data" in t)) return Object.values(t).flatMap(hostLeaves);
  return [t as HostTensor];
}

/** Reads a tree of engine Tensors (consumed) into host arrays. */
export async function hostTree<T>(t: T): Promise<unknown> {
  const [leaves, def] = tree.flatten(t as never);
  return tree.unflatten(def, (await Promise.all((leaves as Tensor[]).map(toHost))) as never);
}

/** Uploads a tree of host arrays as fresh engine Tensors. */
function upload(t: unknown): unknown {
  if (Array.isArray(t)) return t.map(upload);
  if (typeof t === "object" && t !== null && !("data" in t)) return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, upload(v)]));
  return fromHost(t as HostTensor);
}

export interface OrtCheck {
  readonly info: CompileInfo;
  readonly ort: HostTensor[];
  readonly jax: HostTensor[];
}

/**
 * Runs `fn` on `args` under compileOrt and eagerly under jax-js, and expects every output leaf to have the same
 * shape and dtype and to agree within `tol` (default TOL.engine, 1e-4 relative). Returns both and the compile info.
 */
export async function expectOrtMatchesJax(
  fn: (...args: never[]) => unknown,
  args: readonly HostTree[],
  tol: Tolerance = TOL.engine,
  label = "output",
): Promise<OrtCheck> {
  await initEngine();
  const compiled = compileOrt(fn);
  try {
    const info = await compiled.compile(...(args as never[]));
    const ort = hostLeaves(await compiled(...(args as never[])));
    const jaxOut = fn(...(args.map(upload) as never[])) as JsTree<Tensor>;
    const jax = await Promise.all(tree.leaves(jaxOut).map((t) => toHost(t)));
    expect(ort.length, `${label}: number of outputs`).toBe(jax.length);
    ort.forEach((o, i) => {
      expect([...o.shape], `${label}[${i}] shape`).toEqual([...jax[i].shape]);
      expect(o.dtype, `${label}[${i}] dtype`).toBe(jax[i].dtype);
      const r = compareAllclose(o.data, jax[i].data, tol, `${label}[${i}]`);
      expect(r.ok, r.message).toBe(true);
    });
    return { info, ort, jax };
  } finally {
    await compiled.dispose();
  }
}
