// Grouped-query softmax attention with additive masks vs HF eager attention: scripts/ref/nn.py writes test/fixtures/nn/attention.safetensors.
import { describe, expect, it } from "vitest";
import { np } from "../../src/tensor/index.ts";
import { attention } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { checkCase, nnFixture, opts } from "./harness.ts";

const fixture = nnFixture("attention");

describe("attention", () => {
  it("matches HF repeat_kv + eager attention with a pi0 mask and a fully masked row", async () => {
    const { scale } = opts(fixture(), "gqa_mask");
    await checkCase(fixture(), "gqa_mask", (t) => attention(t.q, t.k, t.v, t.mask, scale));
  });
  it("matches plain multi-head attention without a mask", async () => {
    const { scale } = opts(fixture(), "mha_nomask");
    await checkCase(fixture(), "mha_nomask", (t) => attention(t.q, t.k, t.v, null, scale));
  });
  it("matches a per-head mask with a single kv head", async () => {
    const { scale } = opts(fixture(), "gqa_headmask");
    await checkCase(fixture(), "gqa_headmask", (t) => attention(t.q, t.k, t.v, t.mask, scale));
  });
  it("rejects query heads that are not a multiple of kv heads", () => {
    const q = np.zeros([1, 3, 2, 4]);
    const kv = () => np.zeros([1, 2, 2, 4]);
    expect(() => attention(q, kv(), kv(), null, 1)).toThrow(ShapeError);
  });
});
