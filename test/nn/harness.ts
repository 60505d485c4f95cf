// Shared check for src/nn tests: forward output and d(sum(out * R))/d(leaves) against a scripts/ref/nn.py case.
import { beforeAll, expect } from "vitest";
import { grad, initEngine, np, toF32, type Tensor } from "../../src/tensor/index.ts";
import { TOL, type Tolerance } from "../helpers/allclose.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

export type Leaves = Record<string, Tensor>;

/** Leaf names of case `c` ("in.x" -> "x"), split into inputs and parameters. */
function leafNames(fx: Fixture, c: string): { inputs: string[]; params: string[] } {
  const inputs: string[] = [];
  const params: string[] = [];
  for (const key of fx.arrays.keys()) {
    if (key.startsWith(`${c}/in.`)) inputs.push(key.slice(c.length + 4));
    if (key.startsWith(`${c}/p.`)) params.push(key.slice(c.length + 3));
  }
  return { inputs, params };
}

function load(fx: Fixture, c: string, names: { inputs: string[]; params: string[] }, keep: (n: string) => boolean): Leaves {
  const out: Leaves = {};
  for (const n of names.inputs) if (keep(n)) out[n] = fx.tensor(`${c}/in.${n}`);
  for (const n of names.params) if (keep(n)) out[n] = fx.tensor(`${c}/p.${n}`);
  return out;
}

/**
 * Runs `forward(leaves)` on case `c` of `fx` and checks the output (tolerance `fwd`) and, for every leaf
 * the fixture has a gradient for, d(sum(out * R))/d(leaf) (tolerance `grd`). `forward` consumes inputs and
 * borrows parameters; the harness frees the parameters afterwards.
 */
export async function checkCase(
  fx: Fixture,
  c: string,
  forward: (t: Leaves) => Tensor,
  tol: { fwd?: Tolerance; grd?: Tolerance } = {},
): Promise<void> {
  const names = leafNames(fx, c);
  const isParam = (n: string) => names.params.includes(n);
  const differentiable = [...names.inputs, ...names.params].filter((n) => fx.has(`${c}/grad.${n}`));
  const run = (leaves: Leaves): Tensor => {
    const out = forward(leaves);
    for (const n of Object.keys(leaves)) if (isParam(n)) leaves[n].dispose();
    return out;
  };

  const out = run(load(fx, c, names, () => true));
  expect(out.shape).toEqual(fx.get(`${c}/out`).shape);
  expect(await toF32(out)).toBeAllclose(fx.f32(`${c}/out`), tol.fwd ?? TOL.f32, `${c} forward`);
  if (differentiable.length === 0) return;

  const fixed = () => load(fx, c, names, (n) => !differentiable.includes(n));
  const loss = (d: Leaves): Tensor => run({ ...fixed(), ...d }).mul(fx.tensor(`${c}/R`)).sum();
  const grads = grad(loss)(load(fx, c, names, (n) => differentiable.includes(n))) as Leaves;
  for (const n of differentiable) {
    expect(grads[n].shape, `${c} grad ${n} shape`).toEqual(fx.get(`${c}/grad.${n}`).shape);
    expect(await toF32(grads[n]), `${c} grad ${n}`).toBeAllclose(fx.f32(`${c}/grad.${n}`), tol.grd ?? TOL.grad, `${c} grad.${n}`);
  }
}

/** Reads a case's call options from the fixture metadata. */
export function opts<T = Record<string, number>>(fx: Fixture, c: string): T {
  return fx.json<T>(`${c}/opts`);
}

/** Integer ids stored by the fixture (as float32) converted to an int32 Tensor (consumes `t`). */
export function asInt32(t: Tensor): Tensor {
  return t.astype(np.int32);
}

/** Starts the engine and loads test/fixtures/nn/<topic>.safetensors before the file's tests; call the getter inside tests. */
export function nnFixture(topic: string): () => Fixture {
  let fx: Fixture | undefined;
  beforeAll(async () => {
    await initEngine();
    fx = await loadFixture(`nn/${topic}.safetensors`);
  });
  return () => {
    if (!fx) throw new Error(`nnFixture(${topic}): read before beforeAll ran`);
    return fx;
  };
}
