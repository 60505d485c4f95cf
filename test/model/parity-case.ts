// The tiny parity model of scripts/ref/model.py (weights, inputs, config) as tensors, for tests beyond parity.test.ts.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromF32, initEngine, np, type Tensor } from "../../src/tensor/index.ts";
import { parseConfig, type ModelConfig } from "../../src/model/config.ts";
import { type HostMasks } from "../../src/model/layout.ts";
import { ropeTables, runLayers, towerCfg } from "../../src/model/mot.ts";
import { trainInputs } from "../../src/model/policy.ts";
import { type ModelParams, type PolicyParams } from "../../src/model/types.ts";
import { loadWeights } from "../../src/model/weights.ts";
import { loadFixture, type Fixture } from "../helpers/fixtures.ts";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "model");

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

/** A parity fixture folder under test/fixtures/model/ (default: the 3B one) and the script that wrote it. */
export async function loadParityCase(folder = "parity", script = "scripts/ref/model.py"): Promise<ParityCase> {
  await initEngine();
  const dir = resolve(FIXTURES, folder);
  const cfg = parseConfig(readFileSync(resolve(dir, "config.json"), "utf8")).config;
  const params = await loadWeights(resolve(dir, "model.safetensors"), cfg);
  const inp = await loadFixture(`model/${folder}/in.safetensors`, { script });
  const ref = await loadFixture(`model/${folder}/ref.safetensors`, { script });
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

/**
 * The training forward's layers on the embeddings `xs` ([prefix, middle, suffix]) with the training positions and
 * mask of `host`: every layer's outputs, named as the reference trace (`train.layer{l}.{und|gen|act}`; the caller
 * owns them), and the final-normed gen output. Consumes `xs`.
 */
export function trainLayerOutputs(p: PolicyParams, cfg: ModelConfig, host: HostMasks, xs: Tensor[]): { seen: [string, Tensor][]; gen: Tensor } {
  const layout = trainInputs(host, cfg);
  const { cos, sin } = ropeTables(layout.positions, cfg);
  const seen: [string, Tensor][] = [];
  const names = ["und", "gen", "act"] as const;
  const towers = names.map((n) => ({ params: p[n], cfg: towerCfg(cfg, n) }));
  const [und, gen, act] = runLayers(towers, xs, cos, sin, layout.mask, {
    onLayer: (l, outs) => outs.forEach((o, i) => seen.push([`train.layer${l}.${names[i]}`, o.ref])),
  });
  for (const t of [cos, sin, layout.mask, und, act]) t.dispose();
  return { seen, gen };
}
