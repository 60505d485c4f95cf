// pi0 / LeRobot cosine decay with warmup vs LeRobot's lambda through torch LambdaLR: scripts/ref/foundation_optim.py writes test/fixtures/nn/optim.safetensors.
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/tensor/errors.ts";
import { cosineDecayWithWarmup, resolveCosineSchedule, type CosineDecayWithWarmupConfig } from "../../src/train/schedule.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

// Host float64 maths on both sides; V8's and CPython's cos may differ in the last bit, so ~1 ulp is allowed.
const SCHEDULE_TOL = { rtol: 1e-14, atol: 0 };

let fx: Fixture;
beforeAll(async () => {
  fx = await loadFixture("nn/optim.safetensors");
});

type Case = { cfg: CosineDecayWithWarmupConfig; total: number; steps: number[]; lrs: number[] };
const CASES = ["default_full", "default_autoscaled", "finetune", "pretrain_constant", "past_decay", "autoscaled_fraction"];

describe("cosineDecayWithWarmup", () => {
  for (const name of CASES) {
    it(`matches LeRobot's lambda through LambdaLR: ${name}`, () => {
      const c = fx.json<Case>(`schedule/${name}`);
      const lr = cosineDecayWithWarmup(c.cfg, c.total);
      expect(c.steps.map(lr)).toBeAllclose(c.lrs, SCHEDULE_TOL, name);
    });
  }
  it("rescales warmup and decay when the run is shorter than the decay", () => {
    const cfg = { numWarmupSteps: 1000, numDecaySteps: 30000, peakLr: 2.5e-5, decayLr: 2.5e-6 };
    expect(resolveCosineSchedule(cfg, 3000)).toEqual({ warmupSteps: 100, decaySteps: 3000 });
    expect(resolveCosineSchedule(cfg, 40000)).toEqual({ warmupSteps: 1000, decaySteps: 30000 });
  });
  it("names the field that breaks a rule", () => {
    const cfg = { numWarmupSteps: -1, numDecaySteps: 10, peakLr: 1, decayLr: 0 };
    expect(() => cosineDecayWithWarmup(cfg, 10)).toThrow(ConfigError);
    expect(() => cosineDecayWithWarmup(cfg, 10)).toThrow(/numWarmupSteps = -1 must be an integer >= 0/);
  });
});
