// The cached sampler sees the positions the weights were trained with: training v_t = first Euler step's v_t at t = 1.
// Weights and inputs: the parity fixture (scripts/ref/model.py), whose second sample has a missing camera.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { fromF32, initEngine, np, toF32, type Tensor } from "../../src/tensor/index.ts";
import { parseConfig, type ModelConfig } from "../../src/model/config.ts";
import { actionStep, cacheFromLatents, computeLoss, disposeCache, frameLatents, inferInputs, trainInputs } from "../../src/model/policy.ts";
import { type ModelParams } from "../../src/model/types.ts";
import { loadWeights } from "../../src/model/weights.ts";
import { compareAllclose, TOL } from "../helpers/allclose.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", "parity");
let official: ModelConfig;
let params: ModelParams;
let inp: Fixture;

beforeAll(async () => {
  await initEngine();
  official = parseConfig(readFileSync(resolve(DIR, "config.json"), "utf8")).config;
  params = await loadWeights(resolve(DIR, "model.safetensors"), official);
  inp = await loadFixture("model/parity/in.safetensors", { script: "scripts/ref/model.py" });
});

/** Per sample, the largest |v_train - v_infer| at t = 1 (x_t = noise) under `cfg`. */
async function trainInferGap(cfg: ModelConfig): Promise<number[]> {
  const t = (name: string): Tensor => fromF32(inp.f32(name), inp.arrays.get(name)!.shape);
  const ids = inp.f32("token_ids");
  const B = inp.arrays.get("images")!.shape[0];
  const host = { batch: B, tokenIds: ids, tokenMask: inp.f32("token_mask"), imageMasks: inp.f32("image_masks") };
  const obs = {
    images: t("images"), imageMasks: t("image_masks"), tokenMask: t("token_mask"), state: t("state"),
    tokenIds: np.array(Int32Array.from(ids), { dtype: np.int32 }).reshape([B, ids.length / B]),
  };
  const one = () => np.full([B], 1, { dtype: np.float32 });
  const train = computeLoss(params, { ...obs, actions: t("actions"), ...trainInputs(host, cfg) } as never, cfg, t("noise"), one());
  const cache = cacheFromLatents(params.policy, { ...obs, ...inferInputs(host, cfg) } as never, frameLatents(params, obs.images.ref.slice([], [], [0, 2]), cfg), cfg);
  const a = await toF32(train.vT);
  const b = await toF32(actionStep(params.policy, cache, t("noise"), one(), cfg));
  disposeCache(cache);
  const per = a.length / B;
  return Array.from({ length: B }, (_, s) => {
    const r = compareAllclose(a.subarray(s * per, (s + 1) * per), b.subarray(s * per, (s + 1) * per), TOL.model, `sample ${s}`);
    return r.maxAbs;
  });
}

describe("inference positions", () => {
  it("as_trained (default): the sampler's velocity equals the training forward's, with and without a missing camera", async () => {
    const gaps = await trainInferGap({ ...official, inference_positions: "as_trained" });
    for (const g of gaps) expect(g).toBeLessThan(TOL.model.atol * 10);
  });

  it("official: equal when every camera is present; a missing camera shifts the gen and suffix positions", async () => {
    const [full, missing] = await trainInferGap(official);
    expect(full).toBeLessThan(TOL.model.atol * 10);
    expect(missing).toBeGreaterThan(0.05);
  });
});
