// linear (with/without bias) and embedding vs torch F.linear / F.embedding: scripts/ref/nn.py writes test/fixtures/nn/linear.safetensors.
import { describe, expect, it } from "vitest";
import { keyFromSeed, toF32 } from "../../src/tensor/index.ts";
import { embedding, initLinear, linear } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { asInt32, checkCase, nnFixture } from "./harness.ts";

const fixture = nnFixture("linear");

describe("linear", () => {
  it("matches F.linear with a bias, forward and gradients", async () => {
    await checkCase(fixture(), "bias", (t) => linear({ weight: t.weight, bias: t.bias }, t.x));
  });
  it("matches F.linear without a bias", async () => {
    await checkCase(fixture(), "nobias", (t) => linear({ weight: t.weight }, t.x));
  });
  it("rejects a mismatched input width", () => {
    const p = initLinear(keyFromSeed(1), 4, 3);
    expect(() => linear(p, initLinear(keyFromSeed(2), 5, 2).weight)).toThrow(ShapeError);
  });
  it("initLinear draws N(0, std^2) weights and zero biases", async () => {
    const p = initLinear(keyFromSeed(3), 64, 128, { std: 0.5, bias: true });
    const w = await toF32(p.weight);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.02); // 8192 draws: 3 standard errors of the mean
    expect(Math.abs(std - 0.5)).toBeLessThan(0.02);
    expect(Array.from(await toF32(p.bias!))).toEqual(new Array(128).fill(0));
  });
});

describe("embedding", () => {
  it("matches F.embedding, with the gradient accumulated over repeated ids", async () => {
    await checkCase(fixture(), "embedding", (t) => embedding(t.table, asInt32(t.ids)));
  });
  it("refuses float ids", () => {
    const p = initLinear(keyFromSeed(4), 4, 3);
    expect(() => embedding(p.weight, initLinear(keyFromSeed(5), 2, 2).weight)).toThrow(/int32/);
  });
});
