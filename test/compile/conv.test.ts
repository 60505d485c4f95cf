// conv (strided, padded, dilated, grouped, transposed) and pooling under ONNX Runtime vs jax-js, with gradients.
import { describe, expect, it } from "vitest";
import { grad, lax, np, type Tensor } from "../../src/tensor/index.ts";
import { conv2d, convTranspose2d, groupNorm, upsampleNearest2x } from "../../src/nn/index.ts";
import { expectOrtMatchesJax, rand } from "./harness.ts";

type ConvFn = (x: Tensor, w: Tensor) => Tensor;

/** Values, and the gradients of sum(conv * r) for a random r, with respect to input and kernel. */
async function checkConv(f: ConvFn, x: ReturnType<typeof rand>, w: ReturnType<typeof rand>, label: string) {
  const check = await expectOrtMatchesJax(f, [x, w], undefined, label);
  const outShape = check.jax[0].shape;
  const r = rand(outShape, 99);
  const loss = (a: Tensor, b: Tensor, c: Tensor) => f(a, b).mul(c).sum();
  return expectOrtMatchesJax(grad(loss, { argnums: [0, 1] } as never), [x, w, r], undefined, `d ${label}`);
}

describe("conv", () => {
  const x = rand([2, 3, 9, 8], 1);
  const w = rand([4, 3, 3, 3], 2);

  it("stride 1, SAME padding", async () => {
    await checkConv((a, b) => lax.conv(a, b, [1, 1], "SAME"), x, w, "same");
  });

  it("stride 2, asymmetric padding (gradients use lhsDilation -> ConvTranspose, rhsDilation -> dilations)", async () => {
    const check = await checkConv((a, b) => lax.convGeneralDilated(a, b, [2, 2], [[1, 0], [2, 1]]), x, w, "stride2");
    expect(check.info.program.stats.ops.ConvTranspose).toBe(1);
  });

  it("negative padding crops the input", async () => {
    await checkConv((a, b) => lax.convGeneralDilated(a, b, [1, 2], [[-1, 1], [0, -2]]), x, w, "negpad");
  });

  it("kernel dilation (rhsDilation)", async () => {
    await checkConv((a, b) => lax.convGeneralDilated(a, b, [1, 1], [[2, 2], [1, 1]], { rhsDilation: [2, 2] }), x, w, "dilated");
  });

  it("grouped conv (featureGroupCount, vmapDims) and depthwise", async () => {
    const xg = rand([2, 4, 7, 7], 3);
    await checkConv((a, b) => lax.convGeneralDilated(a, b, [1, 1], "SAME", { featureGroupCount: 2 }), xg, rand([6, 2, 3, 3], 4), "groups2");
    await checkConv((a, b) => lax.convGeneralDilated(a, b, [2, 2], [[1, 1], [1, 1]], { featureGroupCount: 4 }), xg, rand([4, 1, 3, 3], 5), "depthwise");
  });

  it("1-D and 3-D convs", async () => {
    await checkConv((a, b) => lax.conv(a, b, [2], "VALID"), rand([2, 3, 11], 6), rand([5, 3, 3], 7), "conv1d");
    await checkConv((a, b) => lax.conv(a, b, [1, 2, 1], "SAME"), rand([1, 2, 4, 5, 4], 8), rand([3, 2, 2, 3, 2], 9), "conv3d");
  });

  it("transposed convs: lhsDilation alone and with a stride", async () => {
    await checkConv((a, b) => lax.convTranspose(a, b, [2, 2], [[1, 1], [1, 1]], { transposeKernel: true }), x, rand([3, 4, 3, 3], 10), "convT");
    await checkConv((a, b) => lax.convGeneralDilated(a, b, [2, 1], [[1, 1], [0, 0]], { lhsDilation: [2, 3] }), x, w, "lhsdil+stride");
  });

  it("src/nn conv2d, convTranspose2d (overlapping and patch forms), upsampleNearest2x and groupNorm", async () => {
    const f = (a: Tensor, k: Tensor, kt: Tensor, kp: Tensor, g: Tensor, b: Tensor) => {
      const y = conv2d({ weight: k, bias: b.ref }, a.ref, { stride: 2, padding: 1 }); // [2, 4, 5, 4]
      const z = convTranspose2d({ weight: kt }, y, { stride: 2, padding: 1 }); // [2, 3, 9, 7]
      const p = convTranspose2d({ weight: kp }, a.slice([], [], [0, 8], [0, 8]), { stride: 2 }); // [2, 2, 16, 16]
      b.dispose();
      return [z.ref, upsampleNearest2x(p), groupNorm({ weight: g.ref, bias: g }, np.square(z), 1, 1e-5)];
    };
    const args = [x, w, rand([4, 3, 3, 3], 11), rand([3, 2, 2, 2], 12), rand([3], 13), rand([4], 14)];
    await expectOrtMatchesJax(f, args);
  });
});

describe("pooling (reduceWindow)", () => {
  const x = rand([2, 3, 8, 7], 20);

  it("avg and max pool, overlapping and not, with gradients", async () => {
    const pools: [string, (t: Tensor) => Tensor][] = [
      ["avg2x2", (t) => lax.reduceWindow(t, (w: Tensor) => np.mean(w), [2, 2], [2, 2])],
      ["sum3x3s2", (t) => lax.reduceWindow(t, (w: Tensor) => np.sum(w), [3, 3], [2, 2])],
      ["max3x2s1", (t) => lax.reduceWindow(t, (w: Tensor) => np.max(w), [3, 2], [1, 1])],
    ];
    for (const [name, f] of pools) {
      const check = await expectOrtMatchesJax(f, [x], undefined, name);
      const r = rand(check.jax[0].shape, 21);
      await expectOrtMatchesJax(grad((t: Tensor, c: Tensor) => f(t).mul(c).sum()), [x, r], undefined, `d ${name}`);
    }
  });
});
