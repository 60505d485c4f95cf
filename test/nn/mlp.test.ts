// SwiGLU MLP vs HF Qwen3MLP: scripts/ref/nn.py writes test/fixtures/nn/mlp.safetensors.
import { describe, it } from "vitest";
import { swiglu } from "../../src/nn/index.ts";
import { checkCase, nnFixture } from "./harness.ts";

const fixture = nnFixture("mlp");

describe("swiglu", () => {
  it("matches down(silu(gate x) * up x), forward and gradients", async () => {
    await checkCase(fixture(), "swiglu", (t) =>
      swiglu({ gate_proj: { weight: t.gate }, up_proj: { weight: t.up }, down_proj: { weight: t.down } }, t.x),
    );
  });
});
