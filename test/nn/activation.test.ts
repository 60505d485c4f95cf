// silu, exact and tanh GELU over [-12, 12] vs PyTorch: scripts/ref/nn.py writes test/fixtures/nn/activation.safetensors.
import { describe, it } from "vitest";
import { type Tensor } from "../../src/tensor/index.ts";
import { geluExact, geluTanh, silu } from "../../src/nn/index.ts";
import { checkCase, nnFixture } from "./harness.ts";

const fixture = nnFixture("activation");
const CASES: [string, string, (x: Tensor) => Tensor][] = [
  ["silu", "F.silu", silu],
  ["gelu_exact", "F.gelu", geluExact],
  ["gelu_tanh", "F.gelu(approximate='tanh')", geluTanh],
];

describe("activations", () => {
  for (const [c, reference, fn] of CASES) {
    it(`${fn.name} matches ${reference}, value and gradient`, async () => {
      await checkCase(fixture(), c, (t) => fn(t.x));
    });
  }
});
