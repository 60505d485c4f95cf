// dot recovered as MatMul/FusedMatMul: matmul shapes, batched and broadcast operands, gradients, no materialisation.
import { describe, expect, it } from "vitest";
import { np, type Tensor, valueAndGrad } from "../../src/tensor/index.ts";
import { attention, linear } from "../../src/nn/index.ts";
import { expectOrtMatchesJax, rand } from "./harness.ts";

const matmulOps = (ops: Record<string, number>) => (ops.MatMul ?? 0) + (ops.FusedMatMul ?? 0);

describe("dot as MatMul", () => {
  it("2-D, batched, broadcast-batch, vector-matrix and matrix-vector products", async () => {
    const f = (a: Tensor, b: Tensor, c: Tensor, v: Tensor) => [
      np.matmul(a.ref, b.ref), // [5,7] @ [7,3]
      np.matmul(c.ref, b.ref), // [2,4,5,7] @ [7,3] (weights shared over batch)
      np.matmul(c.ref, c.ref.transpose([0, 1, 3, 2])), // batched a @ a^T
      np.matmul(v.ref, b), // [7] @ [7,3]
      np.matmul(a, v), // [5,7] @ [7]
      np.matmul(c.reshape([40, 7]).slice([0, 5]), np.ones([7, 2])), // [5,7] @ a constant
    ];
    const check = await expectOrtMatchesJax(f, [rand([5, 7], 1), rand([7, 3], 2), rand([2, 4, 5, 7], 3), rand([7], 4)]);
    expect(check.info.program.stats.materialized).toEqual([]);
  });

  it("products of transposed operands use FusedMatMul instead of Transpose", async () => {
    const f = (a: Tensor, b: Tensor) => [np.matmul(a.ref, b.ref.transpose()), np.matmul(a.transpose(), b)];
    const check = await expectOrtMatchesJax(f, [rand([6, 4], 5), rand([6, 4], 6)]);
    expect(check.info.program.stats.ops.Transpose ?? 0).toBe(0);
    expect(check.info.program.stats.ops.FusedMatMul).toBe(2);
  });

  it("linear layer gradients: dX, dW and db are MatMuls with no broadcast made real", async () => {
    const B = 4;
    const T = 8;
    const D = 16;
    const F = 24;
    const loss = (w: Tensor, b: Tensor, x: Tensor, y: Tensor) => np.square(linear({ weight: w, bias: b }, x).sub(y)).sum();
    const args = [rand([F, D], 7), rand([F], 8), rand([B, T, D], 9), rand([B, T, F], 10)];
    const check = await expectOrtMatchesJax(valueAndGrad(loss, { argnums: [0, 1, 2] } as never), args);
    const { stats } = check.info.program;
    expect(stats.materialized).toEqual([]);
    // jax-js's dW is dot(broadcast(ct, [B,T,F,D]), ...): lowered naively that is a B*T*F*D tensor.
    expect(stats.maxNodeOutput).toBeLessThanOrEqual(B * T * F);
    expect(matmulOps(stats.ops)).toBe(3);
    expect(stats.ops.Transpose ?? 0).toBe(0);
  });

  it("masked multi-head attention forward and backward", async () => {
    const [B, H, L, hd] = [2, 2, 5, 4];
    const mask = rand([1, 1, L, L], 11, -1, 0);
    const loss = (q: Tensor, k: Tensor, v: Tensor, m: Tensor, w: Tensor) => attention(q, k, v, m, 0.5).mul(w).sum();
    const args = [rand([B, H, L, hd], 12), rand([B, H, L, hd], 13), rand([B, H, L, hd], 14), mask, rand([B, H, L, hd], 15)];
    const check = await expectOrtMatchesJax(valueAndGrad(loss, { argnums: [0, 1, 2] } as never), args);
    expect(check.info.program.stats.materialized).toEqual([]);
    expect(check.info.program.stats.maxNodeOutput).toBeLessThanOrEqual(B * H * L * L);
  });

  it("contractions over an axis one or both operands only broadcast along (and constant cotangents)", async () => {
    const f = (a: Tensor, b: Tensor) => [
      np.matmul(np.broadcastTo(a.ref.reshape([3, 1]), [3, 5]), b.ref),
      np.matmul(np.broadcastTo(a.ref.reshape([3, 1]), [3, 5]), np.broadcastTo(b.ref.slice([0, 1]), [5, 2])),
      np.matmul(a.reshape([3, 1]), b.slice([0, 1])),
    ];
    const args = [rand([3], 16), rand([5, 2], 17)];
    await expectOrtMatchesJax(f, args);
    const loss = (w: Tensor, b: Tensor, x: Tensor) => linear({ weight: w, bias: b }, x).mul(2).sum();
    await expectOrtMatchesJax(valueAndGrad(loss, { argnums: [0, 1, 2] } as never), [rand([6, 4], 18), rand([6], 19), rand([2, 3, 4], 20)]);
  });
});
