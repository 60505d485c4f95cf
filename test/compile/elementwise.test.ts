// Elementwise, compare/where, cast and reduce primitives under ONNX Runtime vs jax-js, values and gradients.
import { describe, expect, it } from "vitest";
import { grad, lax, np, type Tensor, valueAndGrad } from "../../src/tensor/index.ts";
import { softmax } from "../../src/nn/index.ts";
import { expectOrtMatchesJax, rand, randInt } from "./harness.ts";

type Unary = (x: Tensor) => Tensor;

// [name, function, input range] (ranges keep log/sqrt/reciprocal/asin in their domains).
const UNARY: [string, Unary, number, number][] = [
  ["neg", (x) => x.neg(), -3, 3],
  ["reciprocal", (x) => np.reciprocal(x), 0.5, 3],
  ["floor", (x) => np.floor(x), -3, 3],
  ["ceil", (x) => np.ceil(x), -3, 3],
  ["sin", (x) => np.sin(x), -3, 3],
  ["cos", (x) => np.cos(x), -3, 3],
  ["asin", (x) => np.arcsin(x), -0.9, 0.9],
  ["atan", (x) => np.arctan(x), -3, 3],
  ["exp", (x) => np.exp(x), -3, 3],
  ["log", (x) => np.log(x), 0.1, 3],
  ["erf", (x) => lax.erf(x), -3, 3],
  ["erfc", (x) => lax.erfc(x), -2, 2],
  ["sqrt", (x) => np.sqrt(x), 0.1, 3],
  ["tanh", (x) => np.tanh(x), -3, 3],
];

describe("unary primitives", () => {
  for (const [name, f, lo, hi] of UNARY) {
    it(`${name}: values and gradient`, async () => {
      const x = rand([3, 5], 11, lo, hi);
      await expectOrtMatchesJax(f, [x], undefined, name);
      if (name === "floor" || name === "ceil") return;
      const w = rand([3, 5], 12);
      await expectOrtMatchesJax(grad((a: Tensor, b: Tensor) => f(a).mul(b).sum()), [x, w], undefined, `d ${name}`);
    });
  }
});

describe("binary primitives with numpy broadcasting", () => {
  const a = rand([2, 3, 4], 1);
  const b = rand([3, 1], 2, 0.5, 2);
  const cases: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ["add", (x, y) => x.add(y)],
    ["sub", (x, y) => x.sub(y)],
    ["mul", (x, y) => x.mul(y)],
    ["div", (x, y) => x.div(y)],
    ["minimum", (x, y) => np.minimum(x, y)],
    ["maximum", (x, y) => np.maximum(x, y)],
    ["power", (x, y) => np.power(np.abs(x).add(0.5), y)],
  ];
  for (const [name, f] of cases) {
    it(`${name}: values and both gradients`, async () => {
      await expectOrtMatchesJax(f, [a, b], undefined, name);
      const loss = (x: Tensor, y: Tensor) => f(x, y).sum();
      await expectOrtMatchesJax(grad(loss, { argnums: [0, 1] } as never), [a, b], undefined, `d ${name}`);
    });
  }

  it("integer floor division and remainder follow jax-js (C-style idiv/mod underneath)", async () => {
    const x = randInt([4, 6], 3, -50, 50);
    const y = randInt([6], 4, 1, 9);
    await expectOrtMatchesJax((p: Tensor, q: Tensor) => [np.floorDivide(p.ref, q.ref), np.remainder(p.ref, q.ref), np.fmod(p, q)], [x, y]);
  });

  it("float floor division and remainder", async () => {
    const x = rand([4, 6], 5, -5, 5);
    const y = rand([6], 6, 0.5, 2);
    await expectOrtMatchesJax((p: Tensor, q: Tensor) => [np.floorDivide(p.ref, q.ref), np.remainder(p, q)], [x, y]);
  });

  it("bitwise and/or/xor on int32", async () => {
    const x = randInt([5], 7, 0, 1000);
    const y = randInt([5], 8, 0, 1000);
    await expectOrtMatchesJax((p: Tensor, q: Tensor) => [np.bitwiseAnd(p.ref, q.ref), np.bitwiseOr(p.ref, q.ref), np.bitwiseXor(p, q)], [x, y]);
  });
});

describe("compare, where and cast", () => {
  const a = rand([4, 5], 21, -2, 2);
  const b = rand([5], 22, -2, 2);

  it("less, less_equal, equal, not_equal, greater", async () => {
    const bRounded = { ...b, data: b.data.map(Math.round) };
    const aRounded = { ...a, data: a.data.map(Math.round) };
    const f = (x: Tensor, y: Tensor) => [np.less(x.ref, y.ref), np.lessEqual(x.ref, y.ref), np.equal(x.ref, y.ref), np.notEqual(x.ref, y.ref), np.greater(x, y)];
    await expectOrtMatchesJax(f, [aRounded, bRounded]);
  });

  it("where (relu and its gradient) with a broadcast condition", async () => {
    const f = (x: Tensor, y: Tensor) => np.where(np.less(y.ref, 0), x.ref.mul(2), np.maximum(x, 0)).sum();
    await expectOrtMatchesJax(valueAndGrad(f), [a, b]);
  });

  it("casts float -> int32 (truncation) -> float and bool -> float", async () => {
    const f = (x: Tensor) => [x.ref.astype(np.int32), x.ref.astype(np.int32).astype(np.float32), np.less(x, 0).astype(np.float32)];
    await expectOrtMatchesJax(f, [a]);
  });
});

describe("reductions", () => {
  const x = rand([3, 4, 5], 31, 0.5, 1.5);

  it("sum, max, min, prod over single and multiple axes", async () => {
    const f = (t: Tensor) => [
      np.sum(t.ref, 1),
      np.max(t.ref, [0, 2]),
      np.min(t.ref, -1),
      np.prod(t.ref, 0),
      np.sum(t.ref),
      np.mean(t, [1, 2], { keepdims: true }),
    ];
    await expectOrtMatchesJax(f, [x]);
  });

  it("reductions of transposed and broadcast views read the source in place", async () => {
    const f = (t: Tensor, s: Tensor) => [
      np.sum(t.ref.transpose([2, 0, 1]), [0, 2]),
      np.sum(np.broadcastTo(s.ref.reshape([1, 5]), [7, 5]), 0),
      np.max(np.broadcastTo(s.reshape([1, 5]), [7, 5]), 0),
      np.sum(t.transpose([1, 2, 0]).reshape([20, 3]), 0),
    ];
    const check = await expectOrtMatchesJax(f, [x, rand([5], 32)]);
    expect(check.info.program.stats.ops.Transpose ?? 0).toBe(0);
  });

  it("argmax, softmax and logsumexp with their gradients", async () => {
    await expectOrtMatchesJax((t: Tensor) => np.argmax(t, -1), [x]);
    const w = rand([3, 4, 5], 33);
    const sm = (t: Tensor, v: Tensor) => softmax(t).mul(v).sum();
    await expectOrtMatchesJax(valueAndGrad(sm), [x, w]);
  });
});
