// rmsNorm (Qwen3), layerNorm and groupNorm vs PyTorch: scripts/ref/nn.py writes test/fixtures/nn/norm.safetensors.
import { describe, expect, it } from "vitest";
import { np } from "../../src/tensor/index.ts";
import { groupNorm, layerNorm, rmsNorm } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { checkCase, nnFixture, opts } from "./harness.ts";

const fixture = nnFixture("norm");

describe("norms", () => {
  it("rmsNorm matches the Qwen3 RMSNorm (float32 statistics, then weight)", async () => {
    const { eps } = opts(fixture(), "rms");
    await checkCase(fixture(), "rms", (t) => rmsNorm(t.weight, t.x, eps));
  });
  it("layerNorm matches F.layer_norm", async () => {
    const { eps } = opts(fixture(), "layer");
    await checkCase(fixture(), "layer", (t) => layerNorm({ weight: t.weight, bias: t.bias }, t.x, eps));
  });
  it("groupNorm matches F.group_norm", async () => {
    const { eps, groups } = opts(fixture(), "group");
    await checkCase(fixture(), "group", (t) => groupNorm({ weight: t.weight, bias: t.bias }, t.x, groups, eps));
  });
  it("rejects a weight of the wrong width and channels not divisible by groups", () => {
    expect(() => rmsNorm(np.ones([3]), np.ones([2, 4]), 1e-6)).toThrow(ShapeError);
    const p = { weight: np.ones([6]), bias: np.zeros([6]) };
    expect(() => groupNorm(p, np.ones([1, 6, 2, 2]), 4, 1e-6)).toThrow(/divisible by groups=4/);
  });
});
