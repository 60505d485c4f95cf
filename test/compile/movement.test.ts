// Movement primitives (reshape/transpose/broadcast views, concat, split, slice, pad, flip) and gather/scatter vs jax-js.
import { describe, expect, it } from "vitest";
import { grad, np, type Tensor, valueAndGrad } from "../../src/tensor/index.ts";
import { embedding } from "../../src/nn/index.ts";
import { expectOrtMatchesJax, rand, randInt } from "./harness.ts";

describe("views: reshape, transpose, broadcast", () => {
  const x = rand([2, 3, 4, 5], 1);

  it("chains of reshapes and transposes, splitting and merging axes", async () => {
    const f = (t: Tensor) => [
      t.ref.reshape([6, 20]).transpose([1, 0]).reshape([4, 5, 2, 3]),
      t.ref.transpose([2, 0, 3, 1]).reshape([8, 15]),
      t.ref.reshape([2, 3, 20]).transpose([2, 1, 0]).reshape([10, 2, 6]),
      t.transpose([0, 2, 1, 3]).reshape([2, 4, 15]).transpose([1, 0, 2]),
    ];
    await expectOrtMatchesJax(f, [x]);
  });

  it("a reshape whose boundaries fall inside merged axes (6x4 -> 4x6) is materialised correctly", async () => {
    await expectOrtMatchesJax((t: Tensor) => t.transpose([1, 0]).reshape([4, 6]).mul(2), [rand([4, 6], 2)]);
  });

  it("broadcastTo outputs are made real only at the graph output", async () => {
    const f = (t: Tensor) => np.broadcastTo(t.reshape([1, 5, 1]), [3, 5, 4]);
    const check = await expectOrtMatchesJax(f, [rand([5], 3)]);
    expect(check.info.program.stats.materialized.map((m) => m.reason)).toEqual(["graph output is a broadcast"]);
  });

  it("gradients through transposes and broadcasts", async () => {
    const f = (t: Tensor, b: Tensor) => t.transpose([3, 1, 0, 2]).mul(b).sum();
    await expectOrtMatchesJax(grad(f, { argnums: [0, 1] } as never), [x, rand([3, 1, 4], 4)]);
  });
});

describe("concatenate, split, slice, pad, flip", () => {
  const a = rand([3, 4], 10);
  const b = rand([3, 2], 11);

  it("concatenate and its gradient (split)", async () => {
    const f = (p: Tensor, q: Tensor) => np.concatenate([p, q], 1).mul(np.arange(6).astype(np.float32)).sum();
    await expectOrtMatchesJax(valueAndGrad(f, { argnums: [0, 1] } as never), [a, b]);
  });

  it("concatenate of broadcast inputs", async () => {
    const f = (p: Tensor, q: Tensor) => np.concatenate([np.broadcastTo(p.reshape([1, 4]), [3, 4]), q], 1);
    await expectOrtMatchesJax(f, [rand([4], 12), b]);
  });

  it("split into unequal parts, including an empty one", async () => {
    const f = (p: Tensor) => np.split(p, [1, 1, 3], 1);
    await expectOrtMatchesJax(f, [a]);
  });

  it("slices and their gradients (pad)", async () => {
    const f = (p: Tensor) => p.slice([1, 3], [0, 3]);
    await expectOrtMatchesJax(f, [a]);
    const g = (p: Tensor) => p.ref.slice([1, 3], [1, 3]).mul(p.slice([0, 2], [0, 2])).sum();
    await expectOrtMatchesJax(valueAndGrad(g), [a]);
  });

  it("pad with zeros and its gradient (shrink)", async () => {
    const f = (p: Tensor) => np.pad(p, [[1, 2], [0, 3]]).mul(np.arange(42).astype(np.float32).reshape([6, 7])).sum();
    await expectOrtMatchesJax(valueAndGrad(f), [a]);
  });

  it("flip and its gradient", async () => {
    const f = (p: Tensor) => np.flip(p, 1).mul(np.arange(12).astype(np.float32).reshape([3, 4])).sum();
    await expectOrtMatchesJax(valueAndGrad(f), [a]);
  });
});

describe("gather and scatter", () => {
  const table = rand([10, 6], 20);
  const ids = randInt([2, 3], 21, 0, 10);

  it("embedding lookup (gather on axis 0) and its gradient (scatter-add, repeated ids)", async () => {
    const repeated = { ...ids, data: Int32Array.from([1, 4, 1, 9, 4, 4]) };
    await expectOrtMatchesJax((t: Tensor, i: Tensor) => embedding(t, i), [table, repeated]);
    const w = rand([2, 3, 6], 22);
    const loss = (t: Tensor, i: Tensor, v: Tensor) => embedding(t, i).mul(v).sum();
    await expectOrtMatchesJax(valueAndGrad(loss), [table, repeated, w]);
  });

  it("take along axis 1, and takeAlongAxis (two index arrays)", async () => {
    const cols = randInt([4], 23, 0, 6);
    await expectOrtMatchesJax((t: Tensor, i: Tensor) => np.take(t, i, 1), [table, cols]);
    const idx = randInt([10, 2], 24, 0, 6);
    const f = (t: Tensor, i: Tensor) => np.takeAlongAxis(t, i, 1);
    await expectOrtMatchesJax(f, [table, idx]);
    const w = rand([10, 2], 25);
    await expectOrtMatchesJax(grad((t: Tensor, i: Tensor, v: Tensor) => f(t, i).mul(v).sum()), [table, idx, w]);
  });
});
