// The tiny parity model of scripts/ref/model.py (weights, inputs, config) as tensors, for tests beyond parity.test.ts.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromF32, initEngine, np, type Tensor } from "../../src/tensor/index.ts";
import { parseConfig, type ModelConfig } from "../../src/model/config.ts";
import { type HostMasks } from "../../src/model/layout.ts";
import { type ModelParams } from "../../src/model/types.ts";
import { loadWeights } from "../../src/model/weights.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model", "parity");

export interface ParityCase {
  /** The fixture's config (inference_positions "official", as the reference sampler). */
  readonly cfg: ModelConfig;
  readonly params: ModelParams;
  readonly inp: Fixture;
  readonly ref: Fixture;
  readonly host: HostMasks;
  /** A fresh tensor of input `name`. */
  tensor(name: string): Tensor;
  /** Fresh observation tensors: images, image and token masks, token ids, state. */
  observation(): { images: Tensor; imageMasks: Tensor; tokenMask: Tensor; tokenIds: Tensor; state: Tensor };
}

export async function loadParityCase(): Promise<ParityCase> {
  await initEngine();
  const cfg = parseConfig(readFileSync(resolve(DIR, "config.json"), "utf8")).config;
  const params = await loadWeights(resolve(DIR, "model.safetensors"), cfg);
  const inp = await loadFixture("model/parity/in.safetensors", { script: "scripts/ref/model.py" });
  const ref = await loadFixture("model/parity/ref.safetensors", { script: "scripts/ref/model.py" });
  const ids = inp.f32("token_ids");
  const B = inp.arrays.get("images")!.shape[0];
  const tensor = (name: string): Tensor => fromF32(inp.f32(name), inp.arrays.get(name)!.shape);
  return {
    cfg, params, inp, ref, tensor,
    host: { batch: B, tokenIds: ids, tokenMask: inp.f32("token_mask"), imageMasks: inp.f32("image_masks") },
    observation: () => ({
      images: tensor("images"), imageMasks: tensor("image_masks"), tokenMask: tensor("token_mask"), state: tensor("state"),
      tokenIds: np.array(Int32Array.from(ids), { dtype: np.int32 }).reshape([B, ids.length / B]),
    }),
  };
}
