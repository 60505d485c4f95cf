// silu, exact and tanh GELU over [-12, 12] vs PyTorch: scripts/ref/nn.py writes test/fixtures/nn/activation.safetensors.
import { beforeAll, describe, it } from "vitest";
import { initEngine } from "../../src/tensor/index.ts";
import { geluExact, geluTanh, silu } from "../../src/nn/index.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";
import { checkCase } from "./harness.ts";

let fx: Fixture;
beforeAll(async () => {
  await initEngine();
  fx = await loadFixture("nn/activation.safetensors");
});

describe("activations", () => {
  it("silu matches F.silu", async () => {
    await checkCase(fx, "silu", (t) => silu(t.x));
  });
  it("geluExact matches F.gelu", async () => {
    await checkCase(fx, "gelu_exact", (t) => geluExact(t.x));
  });
  it("geluTanh matches F.gelu(approximate='tanh')", async () => {
    await checkCase(fx, "gelu_tanh", (t) => geluTanh(t.x));
  });
});
