// SwiGLU MLP vs HF Qwen3MLP: scripts/ref/nn.py writes test/fixtures/nn/mlp.safetensors.
import { beforeAll, describe, it } from "vitest";
import { initEngine } from "../../src/tensor/index.ts";
import { swiglu } from "../../src/nn/index.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";
import { checkCase } from "./harness.ts";

let fx: Fixture;
beforeAll(async () => {
  await initEngine();
  fx = await loadFixture("nn/mlp.safetensors");
});

describe("swiglu", () => {
  it("matches down(silu(gate x) * up x), forward and gradients", async () => {
    await checkCase(fx, "swiglu", (t) =>
      swiglu({ gate_proj: { weight: t.gate }, up_proj: { weight: t.up }, down_proj: { weight: t.down } }, t.x),
    );
  });
});
