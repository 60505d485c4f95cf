// The tiny InternVLA-A1 config with random weights and a random host batch, for ORT-vs-jax-js model tests and benches.
import { keyFromSeed } from "../../src/tensor/index.ts";
import { type HostTensor, toHost } from "../../src/tensor/compile/index.ts";
import { presetConfig, tokenLayout, type ModelConfig } from "../../src/model/config.ts";
import { trainPositionsAndMask, type HostMasks } from "../../src/model/layout.ts";
import { inferInputs } from "../../src/model/policy.ts";
import { initModel } from "../../src/model/params.ts";
import { type ModelParams } from "../../src/model/types.ts";
import { rand, rng } from "./inputs.ts";

export const TINY: ModelConfig = presetConfig("tiny");

export function tinyParams(seed = 0): ModelParams {
  return initModel(TINY, keyFromSeed(seed));
}

/** Token ids and masks of a batch: per camera vision_start, image pads, vision_end, then random text, some padding. */
export function hostMasks(batch: number, seed: number, missingCamera = false): HostMasks {
  const { imageTokens, prefix } = tokenLayout(TINY);
  const r = rng(seed);
  const ids = new Int32Array(batch * prefix);
  const mask = new Float32Array(batch * prefix);
  const imageMasks = new Float32Array(batch * TINY.n_views).fill(1);
  for (let b = 0; b < batch; b++) {
    let o = b * prefix;
    const camOff = missingCamera && b === batch - 1 ? TINY.n_views - 1 : -1;
    for (let v = 0; v < TINY.n_views; v++) {
      const present = v === camOff ? 0 : 1;
      imageMasks[b * TINY.n_views + v] = present;
      ids[o] = TINY.vision_start_token_id;
      ids.fill(TINY.image_token_id, o + 1, o + 1 + imageTokens);
      ids[o + 1 + imageTokens] = TINY.vision_end_token_id;
      mask.fill(present, o, o + imageTokens + 2);
      o += imageTokens + 2;
    }
    const textLen = TINY.n_text_tokens - 3 - b;
    for (let i = 0; i < TINY.n_text_tokens; i++) {
      ids[o + i] = i < textLen ? 1 + Math.floor(r() * 500) : TINY.pad_token_id;
      mask[o + i] = i < textLen ? 1 : 0;
    }
  }
  return { batch, tokenIds: ids, tokenMask: mask, imageMasks };
}

const f32 = (data: Float32Array, shape: number[]): HostTensor => ({ dtype: "float32", shape, data });

/** The observation fields shared by training and inference, as host arrays. */
function observation(h: HostMasks, seed: number): Record<string, HostTensor> {
  const { prefix } = tokenLayout(TINY);
  const S = TINY.vision_config.image_size;
  const B = h.batch;
  return {
    images: rand([B, TINY.n_views, 3, 3, S, S], seed, 0, 1),
    imageMasks: f32(Float32Array.from(h.imageMasks), [B, TINY.n_views]),
    tokenIds: { dtype: "int32", shape: [B, prefix], data: Int32Array.from(h.tokenIds) },
    tokenMask: f32(Float32Array.from(h.tokenMask), [B, prefix]),
    state: rand([B, TINY.max_state_dim], seed + 1),
  };
}

/** A training batch (TrainBatch fields) plus noise and time, as host arrays. */
export function trainBatch(batch: number, seed: number): { batch: Record<string, HostTensor>; noise: HostTensor; time: HostTensor } {
  const h = hostMasks(batch, seed, batch > 1);
  const { positions, mask } = trainPositionsAndMask(h, TINY);
  const n = positions.length / 3 / batch;
  return {
    batch: {
      ...observation(h, seed),
      actions: rand([batch, TINY.chunk_size, TINY.max_action_dim], seed + 2),
      positions: f32(positions, [3, batch, n]),
      mask: f32(mask, [batch, 1, n, n]),
    },
    noise: rand([batch, TINY.chunk_size, TINY.max_action_dim], seed + 3),
    time: rand([batch], seed + 4, 0.05, 0.95),
  };
}

/** An inference observation (InferObservation fields, layout from policy.ts inferInputs) and the initial noise. */
export async function inferObservation(batch: number, seed: number): Promise<{ obs: Record<string, HostTensor>; noise: HostTensor }> {
  const h = hostMasks(batch, seed);
  const layout: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(inferInputs(h, TINY))) layout[k] = await toHost(t);
  return { obs: { ...observation(h, seed), ...layout }, noise: rand([batch, TINY.chunk_size, TINY.max_action_dim], seed + 5) };
}
