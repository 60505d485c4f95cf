// The engine switch: one compiled-function interface over ONNX Runtime (compileOrt) and jax-js (jit).
import { jit, type Tensor, tree } from "../index.ts";
import { ConfigError } from "../errors.ts";
import { type CompiledFn, compileOrt, type CompileOrtOptions } from "./compile-ort.ts";
import { fromHost, isHostTensor, toHost } from "./host.ts";

/** Where a compiled function runs: ONNX Runtime's native CPU kernels, or jax-js's wasm kernels. */
export type Engine = "ort" | "jax";

export const ENGINES: readonly Engine[] = ["ort", "jax"];

/** Checks an engine name (from a CLI flag or config), with the accepted values in the error. */
export function parseEngine(name: string): Engine {
  if (name === "ort" || name === "jax") return name;
  throw new ConfigError(`engine: unknown engine "${name}"; expected one of ${ENGINES.join(", ")}`);
}

/** Host leaves become Tensors (copied); Tensor leaves pass through (consumed by the call, as with jit). */
function uploadTree(x: unknown): unknown {
  if (isHostTensor(x)) return fromHost(x);
  if (Array.isArray(x)) return x.map(uploadTree);
  if (typeof x === "object" && x !== null && x.constructor === Object) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, uploadTree(v)]));
  }
  return x;
}

/** `jit(fn)` behind the compiled-function interface, so callers can switch engines with one flag. */
export function compileJax<F extends (...args: never[]) => unknown>(fn: F): CompiledFn<F> {
  const jitted = jit(fn as never) as unknown as (...args: unknown[]) => unknown;
  const tensors = async (...args: unknown[]) => jitted(...args.map(uploadTree));
  const compiled = async (...args: unknown[]) => {
    const [leaves, def] = tree.flatten((await tensors(...args)) as never);
    return tree.unflatten(def, (await Promise.all((leaves as Tensor[]).map(toHost))) as never[]);
  };
  compiled.tensors = tensors;
  compiled.dispose = async () => (jitted as unknown as { dispose(): void }).dispose();
  return compiled as unknown as CompiledFn<F>;
}

/** compileOrt or compileJax by name; `opts` applies to ONNX Runtime only. */
export function compileWith<F extends (...args: never[]) => unknown>(engine: Engine, fn: F, opts: CompileOrtOptions = {}): CompiledFn<F> {
  return engine === "ort" ? compileOrt(fn, opts) : compileJax(fn);
}
