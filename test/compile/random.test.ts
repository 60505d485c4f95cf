// Random keys inside compiled functions: the key prologue runs threefry on the host, bit-exact with jax-js.
import { describe, expect, it } from "vitest";
import { initEngine, jit, keyFromSeed, np, random, type Tensor, valueAndGrad } from "../../src/tensor/index.ts";
import { silu } from "../../src/nn/index.ts";
import { compileOrt, toHost, UnsupportedError } from "../../src/tensor/compile/index.ts";
import { expectOrtMatchesJax, rand } from "./harness.ts";

const EXACT = { rtol: 0, atol: 0 };

async function keyHost(seed: number) {
  await initEngine();
  return toHost(keyFromSeed(seed));
}

describe("random numbers from a key input", () => {
  it("random bits, split keys and uniforms are bit-exact with jax-js", async () => {
    const key = await keyHost(42);
    const f = (k: Tensor) => {
      const [a, b] = random.split(k, 2);
      return [random.bits(a.ref, [3, 5]), a, b, random.uniform(b.ref, [4])];
    };
    const check = await expectOrtMatchesJax(f, [key], EXACT);
    expect(check.info.program.host.length).toBeGreaterThan(0);
    // Only the float step of uniform (bits as [1, 2) floats, minus 1) runs in the graph.
    expect(check.info.program.stats.ops).toEqual({ Add: 1 });
  });

  it("normal noise feeds the graph (flow-matching style x_t = t*noise + (1-t)*x) and gradients flow around it", async () => {
    const key = await keyHost(7);
    const x = rand([2, 6, 4], 1);
    const w = rand([4, 4], 2);
    const loss = (wt: Tensor, xt: Tensor, k: Tensor) => {
      const [kn, kt] = random.split(k, 2);
      const noise = random.normal(kn, [2, 6, 4]);
      const t = random.uniform(kt, [2, 1, 1]);
      const xt2 = t.ref.mul(noise.ref).add(t.neg().add(1).mul(xt.ref));
      return np.square(np.matmul(xt2, wt).sub(noise.sub(xt))).mean();
    };
    const check = await expectOrtMatchesJax(valueAndGrad(loss), [w, x, key]);
    expect(Object.keys(check.info.program.stats.ops)).not.toContain("random_bits");
  });
});

describe("nested jit and unsupported primitives", () => {
  it("nested jit is flattened", async () => {
    const inner = jit((a: Tensor) => silu(a.ref).mul(a));
    const f = (a: Tensor, b: Tensor) => inner(a.mul(b));
    await expectOrtMatchesJax(valueAndGrad((a: Tensor, b: Tensor) => f(a, b).sum()), [rand([3, 4], 3), rand([4], 4)]);
  });

  it("sort has no lowering and says so", async () => {
    const compiled = compileOrt((a: Tensor) => np.sort(a));
    await expect(compiled.compile(rand([5], 5))).rejects.toThrow(UnsupportedError);
    await expect(compiled.compile(rand([5], 5))).rejects.toThrow(/sort: no ONNX lowering/);
    await compiled.dispose();
  });
});
