// Horizontal batching of isomorphic elementwise chains (batch.ts): fewer kernels, same results, dependencies kept.
import { describe, expect, it } from "vitest";
import { np, type Tensor } from "../../src/tensor/index.ts";
import { expectOrtMatchesJax, rand } from "./harness.ts";

/** An AdamW-like chain over one tensor: 5+ elementwise ops with shared scalar operands. */
function chain(p: Tensor, g: Tensor, m: Tensor, scale: Tensor): [Tensor, Tensor] {
  const m2 = m.mul(0.9).add(g.ref.mul(0.1));
  const denom = np.sqrt(g.ref.mul(g)).add(1e-8);
  const p2 = p.sub(m2.ref.div(denom).mul(scale));
  return [p2, m2];
}

describe("batchElementwise", () => {
  it("runs the same chain over four tensors once, with results equal to jax-js", async () => {
    const shapes = [[3, 4], [7], [2, 2, 2], [5, 1]];
    const args = shapes.flatMap((s, i) => [rand(s, 10 * i + 1), rand(s, 10 * i + 2), rand(s, 10 * i + 3)]);
    const f = (scale: Tensor, ...xs: Tensor[]) => {
      const outs: Tensor[] = [];
      for (let i = 0; i < shapes.length; i++) outs.push(...chain(xs[3 * i], xs[3 * i + 1], xs[3 * i + 2], scale.ref));
      scale.dispose();
      return outs;
    };
    const check = await expectOrtMatchesJax(f, [rand([], 99, 0.5, 1), ...args]);
    const { ops } = check.info.program.stats;
    expect(ops.Sqrt).toBe(1);
    expect(ops.Concat).toBe(3);
    expect(ops.Split).toBe(2);
  });

  it("keeps chains apart when one reads the other's output (sequential layers)", async () => {
    const f = (x: Tensor, w: Tensor, g: Tensor, m: Tensor, g2: Tensor, m2: Tensor, s: Tensor) => {
      const [a, ma] = chain(x, g, m, s.ref);
      const y = np.matmul(a, w); // the second chain's input depends on the first chain
      const [b, mb] = chain(y, g2, m2, s);
      return [b, ma, mb];
    };
    const args = [1, 2, 3, 4, 6, 7].map((seed) => rand([4, 4], seed));
    const check = await expectOrtMatchesJax(f, [...args, rand([], 5, 0.5, 1)]);
    expect(check.info.program.stats.ops.Sqrt).toBe(2);
    expect(check.info.program.stats.ops.Concat ?? 0).toBe(0);
  });
});
