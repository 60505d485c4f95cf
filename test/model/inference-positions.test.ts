// The cached sampler sees the positions the weights were trained with: training v_t = first Euler step's v_t at t = 1.
// Weights and inputs: the parity fixture (scripts/ref/model.py), whose second sample has a missing camera.
import { beforeAll, describe, expect, it } from "vitest";
import { np, toF32 } from "../../src/tensor/index.ts";
import { type ModelConfig } from "../../src/model/config.ts";
import { actionStep, cacheFromLatents, computeLoss, disposeCache, frameLatents, inferInputs, trainInputs } from "../../src/model/policy.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadParityCase, type ParityCase } from "./parity-case.ts";

let pc: ParityCase;

beforeAll(async () => {
  pc = await loadParityCase();
});

/** Per sample, the largest |v_train - v_infer| at t = 1 (x_t = noise) under `cfg`. */
async function trainInferGap(cfg: ModelConfig): Promise<number[]> {
  const { params, host } = pc;
  const B = host.batch;
  const obs = pc.observation();
  const one = () => np.full([B], 1, { dtype: np.float32 });
  const train = computeLoss(params, { ...obs, actions: pc.tensor("actions"), ...trainInputs(host, cfg) } as never, cfg, pc.tensor("noise"), one());
  const cache = cacheFromLatents(params.policy, { ...obs, ...inferInputs(host, cfg) } as never, frameLatents(params, obs.images.ref.slice([], [], [0, 2]), cfg), cfg);
  const a = await toF32(train.vT);
  const b = await toF32(actionStep(params.policy, cache, pc.tensor("noise"), one(), cfg));
  disposeCache(cache);
  const per = a.length / B;
  return Array.from({ length: B }, (_, s) => compareAllclose(a.subarray(s * per, (s + 1) * per), b.subarray(s * per, (s + 1) * per), TOL.model, `sample ${s}`).maxAbs);
}

describe("inference positions", () => {
  it("as_trained (default): the sampler's velocity equals the training forward's, with and without a missing camera", async () => {
    const gaps = await trainInferGap({ ...pc.cfg, inference_positions: "as_trained" });
    for (const g of gaps) expect(g).toBeLessThan(TOL.model.atol * 10);
  });

  it("official: equal when every camera is present; a missing camera shifts the gen and suffix positions", async () => {
    const [full, missing] = await trainInferGap(pc.cfg);
    expect(full).toBeLessThan(TOL.model.atol * 10);
    expect(missing).toBeGreaterThan(0.05);
  });
});
