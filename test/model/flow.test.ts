// Flow-matching checks: the float64-accurate time embedding, the Euler schedule, and exact analytic sampler cases.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { fromF32, initEngine, keyFromSeed, np, toF32, tree } from "../../src/tensor/index.ts";
import { parseConfig, type ModelConfig } from "../../src/model/config.ts";
import { eulerSchedule, sampleTime, timeEmbedding } from "../../src/model/flow.ts";
import { initModel } from "../../src/model/params.ts";
import { inferInputs, sampleActions } from "../../src/model/policy.ts";
import { type ModelParams } from "../../src/model/types.ts";
import { TOL } from "../helpers/allclose.ts";
import { loadFixture } from "../helpers/fixtures.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", "parity");
let cfg: ModelConfig;

beforeAll(async () => {
  await initEngine();
  cfg = parseConfig(readFileSync(resolve(DIR, "config.json"), "utf8")).config;
});

/** Runs the sampler on the fixture inputs with `params`; returns [actions, noise] as arrays. */
async function sampleOnFixture(params: ModelParams): Promise<[Float32Array, Float32Array]> {
  const inp = await loadFixture("model/parity/in.safetensors", { script: "scripts/ref/model.py" });
  const host = { batch: 2, tokenIds: inp.f32("token_ids"), tokenMask: inp.f32("token_mask"), imageMasks: inp.f32("image_masks") };
  const ids = np.array(Int32Array.from(inp.f32("token_ids")), { dtype: np.int32 }).reshape([...inp.get("token_ids").shape]);
  const obs = { images: inp.tensor("images"), imageMasks: inp.tensor("image_masks"), tokenIds: ids, tokenMask: inp.tensor("token_mask"), state: inp.tensor("state"), ...inferInputs(host, cfg) };
  const actions = await toF32(sampleActions(params, obs, cfg, inp.tensor("noise")));
  for (const t of Object.values(obs)) t.dispose();
  return [actions, inp.f32("noise")];
}

describe("time embedding", () => {
  it("matches the float64 sinusoid (official create_sinusoidal_pos_embedding) to float32 accuracy", async () => {
    const times = Float32Array.from({ length: 64 }, (_, i) => Math.fround(0.001 + (0.999 * i) / 63));
    const got = await toF32(timeEmbedding(fromF32(times, [64]), 64, 4e-3, 4.0));
    const want = new Float32Array(64 * 64);
    times.forEach((t, b) => {
      for (let j = 0; j < 32; j++) {
        const period = 4e-3 * (4.0 / 4e-3) ** (j / 31);
        want[b * 64 + j] = Math.sin((2 * Math.PI * t) / period);
        want[b * 64 + 32 + j] = Math.cos((2 * Math.PI * t) / period);
      }
    });
    // A plain float32 t/period product would be off by up to ~1e-4 here; the compensated form keeps ~1e-7.
    expect(got).toBeAllclose(want, { rtol: 0, atol: 1e-6 });
  });

  it("matches the PyTorch reference's suffix time embedding", async () => {
    const ref = await loadFixture("model/parity/ref.safetensors", { script: "scripts/ref/model.py" });
    const inp = await loadFixture("model/parity/in.safetensors", { script: "scripts/ref/model.py" });
    const got = await toF32(timeEmbedding(inp.tensor("time"), cfg.expert_config.hidden_size, cfg.min_period, cfg.max_period));
    expect(got).toBeAllclose(ref.f32("suffix.time_emb"), TOL.f32);
  });
});

describe("sampler", () => {
  it("runs exactly num_inference_steps float32 Euler steps from t = 1", () => {
    const { times, dt } = eulerSchedule(10);
    expect(times.length).toBe(10);
    expect(times[0]).toBe(1);
    expect(dt).toBe(Math.fround(-0.1));
    expect(times[9]).toBeCloseTo(0.1, 6);
  });

  it("returns the noise unchanged when the action output is zero-initialised (v_t = 0)", async () => {
    const params = initModel(cfg, keyFromSeed(3));
    const p = params.policy.action_out_proj;
    p.weight = np.zerosLike(p.weight);
    p.bias = np.zerosLike(p.bias!);
    const [actions, noise] = await sampleOnFixture(params);
    expect(Array.from(actions)).toEqual(Array.from(noise));
    tree.dispose(params as never);
  });

  it("integrates a constant velocity exactly (x = noise + sum of dt * c, in float32)", async () => {
    const params = initModel(cfg, keyFromSeed(4));
    const p = params.policy.action_out_proj;
    const c = Float32Array.from({ length: cfg.max_action_dim }, (_, i) => Math.fround(0.25 * (i - 16)));
    p.weight = np.zerosLike(p.weight);
    p.bias = fromF32(c, [cfg.max_action_dim]);
    const [actions, noise] = await sampleOnFixture(params);
    const { times, dt } = eulerSchedule(cfg.num_inference_steps);
    const want = noise.map((x, i) => {
      let y = x;
      for (let k = 0; k < times.length; k++) y = Math.fround(y + Math.fround(c[i % cfg.max_action_dim] * dt));
      return y;
    });
    expect(Array.from(actions)).toEqual(Array.from(want));
    tree.dispose(params as never);
  });

  it("draws training times from Beta(1.5, 1) * 0.999 + 0.001", async () => {
    const t = await toF32(sampleTime(keyFromSeed(7), 8192, cfg));
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0.001);
    expect(Math.max(...t)).toBeLessThanOrEqual(1);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    // E[Beta(1.5, 1)] = 0.6, so E[t] = 0.6004; the standard error of 8192 draws is ~0.0025.
    expect(Math.abs(mean - 0.6004)).toBeLessThan(0.01);
  });
});
