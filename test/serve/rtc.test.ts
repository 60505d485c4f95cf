// Real-time chunking guidance against PyTorch autograd (fixture: scripts/ref/serve_rtc.py, regenerate with
// `OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/ref/serve_rtc.py`) and on analytic fields.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Tensor, fromF32, initEngine, np, toF32 } from "../../src/tensor/index.ts";
import { withSafetensors } from "../../src/tensor/safetensors.ts";
import {
  type PrefixSchedule, type VelocityFn, disposeGuide, eulerSample, guidanceWeight, guidedVelocity, prefixWeights, rtcGuide,
} from "../../src/serve/rtc.ts";
import { TOL } from "../helpers/allclose.ts";

const FIXTURE = new URL("../fixtures/serve/rtc.safetensors", import.meta.url).pathname;
const FORMAT_VERSION = "1";

let fx: Record<string, Float32Array>;
let meta: Record<string, string>;
let cfg: { B: number; H: number; A: number; steps: number; prev_count: number; delay: number; execution_horizon: number; max_guidance_weight: number };
let w1: Tensor, b1: Tensor, w2: Tensor;

beforeAll(async () => {
  await initEngine();
  await withSafetensors(FIXTURE, async (r) => {
    meta = { ...r.metadata };
    fx = {};
    for (const n of r.names()) fx[n] = await r.readF32(n);
  });
  cfg = JSON.parse(meta.config);
  const hid = fx.b1.length;
  w1 = fromF32(fx.w1, [cfg.A, hid]);
  b1 = fromF32(fx.b1, [hid]);
  w2 = fromF32(fx.w2, [hid, cfg.A]);
});
afterAll(() => [w1, b1, w2].forEach((t) => t.dispose()));

/** The fixture's field v(x, t) = tanh(x W1 + t b1) W2 + 0.5 t x. */
const field: VelocityFn = (x, t) => np.matmul(np.tanh(np.matmul(x.ref, w1.ref).add(b1.ref.mul(t))), w2.ref).add(x.mul(0.5 * t));
const noise = (): Tensor => fromF32(fx.noise, [cfg.B, cfg.H, cfg.A]);
/** The reference's schedule: t_k = 1 + k dt in float64, dt = -1/steps. */
const eulerTimes = (steps: number) => ({ times: Array.from({ length: steps }, (_, k) => 1 + k * (-1 / steps)), dt: -1 / steps });
const guide = (schedule: PrefixSchedule) =>
  rtcGuide(fx.prev, cfg.prev_count, cfg.H, cfg.A, cfg.delay, { executionHorizon: cfg.execution_horizon, maxGuidanceWeight: cfg.max_guidance_weight, schedule });

describe("against PyTorch (LeRobot rules, full vjp through v)", () => {
  it("uses the fixture format this test expects", () => {
    expect(meta.format_version, "regenerate with scripts/ref/serve_rtc.py").toBe(FORMAT_VERSION);
  });

  it("prefix weights for every schedule match LeRobot's linspace construction", () => {
    const combos = JSON.parse(meta.combos) as [number, number, number, PrefixSchedule][];
    const ours = combos.flatMap(([s, e, n, sch]) => [...prefixWeights(s, e, n, sch)]);
    expect(ours).toBeAllclose(fx.prefix_weights, TOL.f32);
  });

  it("guidance weights min(c * inv_r2, beta) over time", () => {
    const times = JSON.parse(meta.times) as number[];
    expect(times.map((t) => guidanceWeight(t, cfg.max_guidance_weight))).toBeAllclose(fx.guidance_weights, TOL.f32);
  });

  for (const schedule of ["linear", "exp"] as const) {
    for (const t of [1.0, 0.7, 0.3, 0.1]) {
      it(`guided velocity, ${schedule} schedule, t = ${t}`, async () => {
        const g = guide(schedule);
        const v = await toF32(guidedVelocity(field, noise(), t, g));
        disposeGuide(g);
        // The vjp goes through tanh and two matmuls: gradient tolerance.
        expect(v).toBeAllclose(fx[`guided_${schedule}_t${t.toFixed(1)}`], TOL.grad, `guided ${schedule} t=${t}`);
      });
    }
    it(`a whole guided Euler sample (${schedule}, 10 steps)`, async () => {
      const g = guide(schedule);
      const x = await toF32(eulerSample(field, noise(), eulerTimes(cfg.steps), g));
      disposeGuide(g);
      expect(x).toBeAllclose(fx[`sample_guided_${schedule}`], TOL.grad, `sample ${schedule}`);
    });
  }

  it("an unguided sample, and guidance pulls the frozen prefix onto the previous chunk", async () => {
    const plain = await toF32(eulerSample(field, noise(), eulerTimes(cfg.steps)));
    expect(plain).toBeAllclose(fx.sample_plain, TOL.f32, "plain sample");
    const g = guide("linear");
    const guided = await toF32(eulerSample(field, noise(), eulerTimes(cfg.steps), g));
    disposeGuide(g);
    const prefixErr = (x: Float32Array): number => {
      let e = 0;
      for (let b = 0; b < cfg.B; b++) {
        for (let i = 0; i < cfg.delay * cfg.A; i++) e = Math.max(e, Math.abs(x[b * cfg.H * cfg.A + i] - fx.prev[i]));
      }
      return e;
    };
    expect(prefixErr(guided)).toBeLessThan(0.1 * prefixErr(plain));
  });
});

describe("analytic velocity fields", () => {
  const shape = [1, 6, 2];
  const target = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
  const eps = Float32Array.from({ length: 12 }, (_, i) => Math.cos(3 * i));

  it("the exact flow to a fixed a* (v = (x - a*)/t): Euler lands on a*, and guidance changes nothing (J = 0)", async () => {
    const aStar = fromF32(target, shape);
    const exact: VelocityFn = (x, t) => x.sub(aStar.ref).div(t);
    const prev = Float32Array.from({ length: 8 }, () => 5);
    const g = rtcGuide(prev, 4, 6, 2, 2, { executionHorizon: 4, maxGuidanceWeight: 10, schedule: "linear" });
    const plain = await toF32(eulerSample(exact, fromF32(eps, shape), eulerTimes(10)));
    const guided = await toF32(eulerSample(exact, fromF32(eps, shape), eulerTimes(10), g));
    disposeGuide(g);
    aStar.dispose();
    // Constant velocity along the straight path: Euler is exact up to float32 rounding.
    expect(plain).toBeAllclose(target, { rtol: 1e-5, atol: 1e-5 });
    expect(guided).toBeAllclose(plain, { rtol: 1e-5, atol: 1e-5 });
  });

  it("a linear field v = c x has J = (1 - t c) I, so the correction is (1 - t c) W (Y - (1 - t c) x)", async () => {
    const c = 0.8;
    const t = 0.6;
    const prev = Float32Array.from({ length: 10 }, (_, i) => 1 - 0.3 * i);
    const g = rtcGuide(prev, 5, 6, 2, 1, { executionHorizon: 4, maxGuidanceWeight: 10, schedule: "exp" });
    const got = await toF32(guidedVelocity((x) => x.mul(c), fromF32(eps, shape), t, g));
    disposeGuide(g);
    const w = prefixWeights(1, 4, 6, "exp");
    const gw = guidanceWeight(t, 10);
    const k = 1 - t * c;
    const want = eps.map((x, i) => {
      const y = i < 10 ? prev[i] : 0;
      return c * x - gw * k * w[Math.floor(i / 2)] * (y - k * x);
    });
    expect(got).toBeAllclose(want, TOL.f32);
  });

  it("rtcGuide refuses a previous chunk that does not fit", () => {
    expect(() => rtcGuide(new Float32Array(9), 3, 6, 2, 1, { executionHorizon: 4, maxGuidanceWeight: 10, schedule: "linear" })).toThrow(
      /previous actions \[3, 3\] must fit the chunk \[6, 2\]/,
    );
  });
});
