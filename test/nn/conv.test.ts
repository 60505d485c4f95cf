// conv2d, convTranspose2d and nearest upsampling vs torch.nn.functional: scripts/ref/nn.py writes test/fixtures/nn/conv.safetensors.
import { describe, expect, it } from "vitest";
import { np } from "../../src/tensor/index.ts";
import { conv2d, convTranspose2d, upsampleNearest2x } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { checkCase, type Leaves, nnFixture, opts } from "./harness.ts";

const fixture = nnFixture("conv");

const params = (t: Leaves) => (t.bias ? { weight: t.weight, bias: t.bias } : { weight: t.weight });

describe("conv2d", () => {
  const cases: [string, string][] = [
    ["k3s1p1", "3x3, stride 1, padding 1, bias"],
    ["k3s2_down", "Cosmos Downsample: 3x3 stride 2, pad bottom/right 1"],
    ["k1", "1x1 (matmul path)"],
    ["k4s4_patch", "4x4 stride 4 (patch matmul path), no bias"],
  ];
  for (const [c, what] of cases) {
    it(`matches F.conv2d: ${what}`, async () => {
      const o = opts<{ stride: number; padding: [number, number, number, number] }>(fixture(), c);
      await checkCase(fixture(), c, (t) => conv2d(params(t), t.x, o));
    });
  }
  it("rejects a channel mismatch", () => {
    expect(() => conv2d({ weight: np.zeros([2, 3, 1, 1]) }, np.zeros([1, 4, 2, 2]))).toThrow(ShapeError);
  });
});

describe("convTranspose2d", () => {
  const cases: [string, string][] = [
    ["t_k4s2p1", "4x4 stride 2 padding 1, bias"],
    ["t_k2s2", "2x2 stride 2 (block matmul path), bias"],
    ["t_k3s1", "3x3 stride 1"],
  ];
  for (const [c, what] of cases) {
    it(`matches F.conv_transpose2d: ${what}`, async () => {
      const o = opts<{ stride: number; padding: number }>(fixture(), c);
      await checkCase(fixture(), c, (t) => convTranspose2d(params(t), t.x, o));
    });
  }
});

describe("upsampleNearest2x", () => {
  it("matches F.interpolate(scale_factor=2, mode='nearest') and its gradient", async () => {
    await checkCase(fixture(), "upsample", (t) => upsampleNearest2x(t.x));
  });
});
