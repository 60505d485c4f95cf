// Cosmos Haar patcher / unpatcher (one and two levels) vs a PyTorch copy of Cosmos-Tokenizer patching.py: scripts/ref/nn.py writes test/fixtures/nn/wavelet.safetensors.
import { describe, expect, it } from "vitest";
import { np, random, keyFromSeed, toF32 } from "../../src/tensor/index.ts";
import { haarPatch, haarUnpatch } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { TOL } from "../helpers/allclose.ts";
import { checkCase, nnFixture } from "./harness.ts";

const fixture = nnFixture("wavelet");

describe("haarPatch / haarUnpatch", () => {
  it("haarPatch matches Patcher._dwt (band-major [LL, LH, HL, HH], /2)", async () => {
    await checkCase(fixture(), "patch", (t) => haarPatch(t.x));
  });
  it("haarUnpatch matches UnPatcher._idwt (x2 rescale)", async () => {
    await checkCase(fixture(), "unpatch", (t) => haarUnpatch(t.x));
  });
  it("two levels match the Cosmos patch_size=4 patcher and unpatcher", async () => {
    await checkCase(fixture(), "patch2", (t) => haarPatch(haarPatch(t.x)));
    await checkCase(fixture(), "unpatch2", (t) => haarUnpatch(haarUnpatch(t.x)));
  });
  it("unpatch inverts patch", async () => {
    const x = random.normal(keyFromSeed(7), [2, 3, 8, 4]);
    const back = haarUnpatch(haarPatch(x.ref));
    expect(await toF32(back)).toBeAllclose(await toF32(x), TOL.f32);
  });
  it("rejects odd spatial sizes", () => {
    expect(() => haarPatch(np.zeros([1, 1, 3, 4]))).toThrow(ShapeError);
  });
});
