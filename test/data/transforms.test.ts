// Transforms: delta/undelta and normalise/unnormalise identities, official masks, padding, letterbox geometry.
import { describe, expect, it } from "vitest";
import { TOL } from "../helpers/allclose.ts";
import { letterboxBox, letterboxToChw } from "../../src/data/image.ts";
import { RunningStats } from "../../src/data/lerobot/stats.ts";
import { SeededRandom } from "../../src/data/sampler.ts";
import {
  MASK_MAPPING, deltaMaskFor, fromDelta, makeBoolMask, makeNormalizer, normalize, padRows, toDelta, unnormalize, unpadRows,
} from "../../src/data/transforms.ts";

function randn(rng: SeededRandom, n: number, scale = 1, shift = 0): Float32Array {
  return Float32Array.from({ length: n }, () => shift + scale * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next()));
}

describe("delta actions", () => {
  it("undelta(delta(a)) is the identity and only masked dims move", () => {
    const rng = new SeededRandom(1);
    const mask = MASK_MAPPING.aloha;
    const state = randn(rng, 14);
    const actions = randn(rng, 50 * 14, 2);
    const d = toDelta(actions, 14, state, mask);
    expect(fromDelta(d, 14, state, mask)).toBeAllclose(actions, TOL.f32);
    for (let k = 0; k < 50; k++) {
      expect(d[k * 14 + 6]).toBe(actions[k * 14 + 6]);
      expect(d[k * 14 + 13]).toBe(actions[k * 14 + 13]);
      expect(d[k * 14 + 2]).toBe(Math.fround(actions[k * 14 + 2] - state[2]));
    }
  });

  it("uses the official masks and the gripper rule for other robots", () => {
    expect(makeBoolMask(6, -1, 6, -1)).toEqual([...Array(6).fill(true), false, ...Array(6).fill(true), false]);
    expect(MASK_MAPPING.genie1.filter((x) => !x).length).toBe(2);
    expect(MASK_MAPPING.franka).toEqual([...Array(7).fill(true), false]);
    expect(deltaMaskFor("cr5", ["j0", "j1", "left_gripper", "j3"], 4)).toEqual([true, true, false, true]);
    expect(deltaMaskFor("franka", [], 8)).toEqual(MASK_MAPPING.franka);
    expect(deltaMaskFor("unknown", [null, null], 2)).toEqual([true, true]);
    expect(() => toDelta(new Float32Array(10), 5, new Float32Array(3), [true, true, true, true])).toThrow(/state has only 3 dims/);
  });
});

describe("normalisation", () => {
  const rng = new SeededRandom(2);
  const data = randn(rng, 2000 * 4, 3, 1.5);
  const rs = new RunningStats(4);
  rs.update(data);
  const stats = rs.result();

  it.each(["mean_std", "quantile"] as const)("%s: unnormalise(normalise(x)) is the identity", (mode) => {
    const n = makeNormalizer(stats, mode, 4, "test");
    const x = normalize(Float32Array.from(data), n);
    // Two float32 roundings of (x - shift) / scale and back: relative error a few 1e-7 of |shift| / |x|.
    expect(unnormalize(Float32Array.from(x), n)).toBeAllclose(data, TOL.grad);
  });

  it("mean_std uses (x - mean) / (std + 1e-6); quantile maps q01 and q99 to -1 and 1", () => {
    const ms = makeNormalizer(stats, "mean_std", 4, "test");
    const x = Float32Array.from(stats.mean);
    expect(normalize(x, ms)).toBeAllclose([0, 0, 0, 0], TOL.f32);
    const q = makeNormalizer(stats, "quantile", 4, "test");
    expect(normalize(Float32Array.from(stats.quantiles!.q01!), q)).toBeAllclose([-1, -1, -1, -1], TOL.grad);
    expect(normalize(Float32Array.from(stats.quantiles!.q99!), q)).toBeAllclose([1, 1, 1, 1], TOL.grad);
    expect(() => makeNormalizer(stats, "mean_std", 5, "robot x")).toThrow(/robot x: stats have 4 dims; the data has 5/);
  });
});

describe("padding and letterbox", () => {
  it("pads rows to 32 with zeros and unpads exactly", () => {
    const x = Float32Array.from({ length: 3 * 7 }, (_, i) => i + 1);
    const p = padRows(x, 7, 32, "t");
    expect(p.length).toBe(96);
    expect(Array.from(p.subarray(7, 32)).every((v) => v === 0)).toBe(true);
    expect(unpadRows(p, 7, 32)).toEqual(x);
    expect(() => padRows(new Float32Array(44), 44, 32, "gr00t state")).toThrow(/gr00t state: 44 dims exceed the model's maximum 32/);
  });

  it("letterboxes like openpi resize_with_pad: aspect kept, centred, zero padding", () => {
    expect(letterboxBox(640, 480, 224, 224)).toEqual({ rw: 224, rh: 168, x0: 0, y0: 28 });
    expect(letterboxBox(256, 256, 224, 224)).toEqual({ rw: 224, rh: 224, x0: 0, y0: 0 });
    const rgb = new Uint8Array(8 * 4 * 3).fill(200);
    const out = new Uint8Array(3 * 8 * 8);
    letterboxToChw({ rgb, width: 8, height: 4 }, 8, 8, out);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 8; y++) {
        const row = Array.from(out.subarray(c * 64 + y * 8, c * 64 + y * 8 + 8));
        expect(row).toEqual(new Array(8).fill(y >= 2 && y < 6 ? 200 : 0));
      }
    }
  });
});
