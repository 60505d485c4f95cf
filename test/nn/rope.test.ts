// 1-D RoPE, Qwen3-VL interleaved M-RoPE and rotate_half vs HF transformers: scripts/ref/nn.py writes test/fixtures/nn/rope.safetensors.
import { describe, expect, it } from "vitest";
import { fromF32, jit, makeJaxpr, np, toF32 } from "../../src/tensor/index.ts";
import { applyRope, mropeCosSin, mropeRow, ropeCosSin } from "../../src/nn/index.ts";
import { ShapeError } from "../../src/tensor/errors.ts";
import { checkCase, nnFixture, opts } from "./harness.ts";

const fixture = nnFixture("rope");

async function expectTables(c: string, tables: { cos: ReturnType<typeof np.zeros>; sin: ReturnType<typeof np.zeros> }) {
  expect(tables.cos.shape).toEqual(fixture().get(`${c}/out.cos`).shape);
  expect(await toF32(tables.cos)).toBeAllclose(fixture().f32(`${c}/out.cos`), undefined, `${c} cos`);
  expect(await toF32(tables.sin)).toBeAllclose(fixture().f32(`${c}/out.sin`), undefined, `${c} sin`);
}

describe("ropeCosSin", () => {
  for (const c of ["rope64_1e6", "rope128_5e6"]) {
    it(`matches HF default RoPE tables (${c}, positions up to 2999)`, async () => {
      const { rotDim, theta } = opts(fixture(), c);
      await expectTables(c, ropeCosSin(fixture().tensor(`${c}/in.positions`), rotDim, theta));
    });
  }
});

describe("mropeCosSin", () => {
  for (const c of ["mrope128", "mrope16"]) {
    it(`matches Qwen3-VL interleaved M-RoPE (${c})`, async () => {
      const o = opts<{ rotDim: number; theta: number; section: [number, number, number] }>(fixture(), c);
      await expectTables(c, mropeCosSin(fixture().tensor(`${c}/in.positions`), o.rotDim, o.theta, o.section));
    });
  }
  it("assigns slots as Qwen3-VL does for [24, 20, 20]: THW interleaved up to slot 59, then T", () => {
    const rows = Array.from({ length: 64 }, (_, i) => mropeRow(i, [24, 20, 20]));
    expect(rows.slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(rows.slice(57, 64)).toEqual([0, 1, 2, 0, 0, 0, 0]);
  });
  it("equals 1-D RoPE when the three rows are identical", async () => {
    const pos = fromF32(new Float32Array([3, 17, 250, 1024]), [1, 4]);
    const same = np.broadcastTo(pos.ref.reshape([1, 1, 4]), [3, 1, 4]);
    const a = mropeCosSin(same, 32, 5e6, [6, 5, 5]);
    const b = ropeCosSin(pos, 32, 5e6);
    expect(await toF32(a.cos)).toEqual(await toF32(b.cos));
    expect(await toF32(a.sin)).toEqual(await toF32(b.sin));
  });
  it("gives the same tables under jit and traces to plain primitives (no gather) for the ONNX lowering", async () => {
    const c = "mrope128";
    const o = opts<{ rotDim: number; theta: number; section: [number, number, number] }>(fixture(), c);
    const f = (p: ReturnType<typeof np.zeros>) => mropeCosSin(p, o.rotDim, o.theta, o.section).cos;
    const jitted = jit(f);
    expect(await toF32(jitted(fixture().tensor(`${c}/in.positions`)))).toEqual(await toF32(f(fixture().tensor(`${c}/in.positions`))));
    jitted.dispose();
    const prims = new Set(String(makeJaxpr(f)(fixture().tensor(`${c}/in.positions`)).jaxpr).match(/= \w+/g));
    expect([...prims].sort()).toEqual(["= add", "= concatenate", "= cos", "= dot", "= floor", "= mul", "= neg", "= reshape", "= transpose"]);
  });
  it("rejects a section that does not sum to rotDim/2", () => {
    expect(() => mropeCosSin(np.zeros([3, 1, 2]), 16, 1e4, [3, 3, 3])).toThrow(ShapeError);
  });
});

describe("applyRope", () => {
  it("matches HF apply_rotary_pos_emb (rotate_half), gradients for x, cos and sin", async () => {
    await checkCase(fixture(), "apply", (t) => applyRope(t.x, t.cos, t.sin));
  });
});
