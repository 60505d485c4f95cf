// rmsNorm (Qwen3), layerNorm and groupNorm vs PyTorch: scripts/ref/nn.py writes test/fixtures/nn/norm.safetensors.
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine, np } from "../../src/tensor/index.ts";
import { groupNorm, layerNorm, rmsNorm } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";
import { checkCase, opts } from "./harness.ts";

let fx: Fixture;
beforeAll(async () => {
  await initEngine();
  fx = await loadFixture("nn/norm.safetensors");
});

describe("norms", () => {
  it("rmsNorm matches the Qwen3 RMSNorm (float32 statistics, then weight)", async () => {
    const { eps } = opts(fx, "rms");
    await checkCase(fx, "rms", (t) => rmsNorm(t.weight, t.x, eps));
  });
  it("layerNorm matches F.layer_norm", async () => {
    const { eps } = opts(fx, "layer");
    await checkCase(fx, "layer", (t) => layerNorm({ weight: t.weight, bias: t.bias }, t.x, eps));
  });
  it("groupNorm matches F.group_norm", async () => {
    const { eps, groups } = opts(fx, "group");
    await checkCase(fx, "group", (t) => groupNorm({ weight: t.weight, bias: t.bias }, t.x, groups, eps));
  });
  it("rejects a weight of the wrong width and channels not divisible by groups", () => {
    expect(() => rmsNorm(np.ones([3]), np.ones([2, 4]), 1e-6)).toThrow(ShapeError);
    const p = { weight: np.ones([6]), bias: np.zeros([6]) };
    expect(() => groupNorm(p, np.ones([1, 6, 2, 2]), 4, 1e-6)).toThrow(/divisible by groups=4/);
  });
});
