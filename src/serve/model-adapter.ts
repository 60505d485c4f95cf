// src/model's InternVLA-A1 as the ActionModel the served policy calls: token prefix, cached und/gen pass, then the
// act expert's Euler steps through rtc.ts (so a request can carry real-time chunking guidance).
import { type Tensor, fromF32, keyFromSeed, np, random, toF32, tree } from "../tensor/index.ts";
import { ShapeError } from "../tensor/errors.ts";
import { type ModelConfig, tokenLayout } from "../model/config.ts";
import { eulerSchedule } from "../model/flow.ts";
import { actionStep, disposeCache, embedPrefixAndCache, inferInputs, type InferObservation } from "../model/policy.ts";
import { type ModelParams } from "../model/types.ts";
import { type ActionModel, type ModelInputs } from "./model-policy.ts";
import { disposeGuide, eulerSample, rtcGuide } from "./rtc.ts";

/** Instruction text -> token ids of the understanding tower's vocabulary (the checkpoint's tokenizer). */
export type Tokenize = (text: string) => readonly number[];

/**
 * The prefix the official transform builds: per camera [vision_start, image_pad x n, vision_end], then the task
 * text right-padded (or cut) to n_text_tokens. The mask is 0 on text padding and on every token of a missing camera.
 */
export function prefixTokens(cfg: ModelConfig, prompt: string, imageMask: ArrayLike<number>, tokenize: Tokenize): { ids: Int32Array; mask: Float32Array } {
  const { imageTokens, prefix } = tokenLayout(cfg);
  const ids = new Int32Array(prefix);
  const mask = new Float32Array(prefix);
  let o = 0;
  for (let v = 0; v < cfg.n_views; v++) {
    const present = imageMask[v] ? 1 : 0;
    ids[o] = cfg.vision_start_token_id;
    ids.fill(cfg.image_token_id, o + 1, o + 1 + imageTokens);
    ids[o + 1 + imageTokens] = cfg.vision_end_token_id;
    mask.fill(present, o, o + imageTokens + 2);
    o += imageTokens + 2;
  }
  const text = tokenize(prompt).slice(0, cfg.n_text_tokens);
  const bad = text.find((t) => !Number.isInteger(t) || t < 0 || t >= cfg.text_config.vocab_size);
  if (bad !== undefined) throw new ShapeError(`prefixTokens: token id ${bad} is outside the vocabulary [0, ${cfg.text_config.vocab_size})`);
  ids.fill(cfg.pad_token_id, o);
  ids.set(text, o);
  mask.fill(1, o, o + text.length);
  return { ids, mask };
}

/** The model's batch of one: frames (t-15, t) plus frame t again as the unused t+15 slot, scaled to [0, 1]. */
export function modelObservation(cfg: ModelConfig, inputs: ModelInputs, tokenize: Tokenize): InferObservation {
  const V = cfg.n_views;
  const S = cfg.vision_config.image_size;
  const plane = 3 * S * S;
  if (inputs.images.length !== V * 2 * plane) {
    throw new ShapeError(`model adapter: images must be [${V}, 2, 3, ${S}, ${S}] uint8, got ${inputs.images.length} bytes`);
  }
  const frames = new Float32Array(V * 3 * plane); // [V, 3 frames, 3, S, S]
  for (let v = 0; v < V; v++) {
    for (let f = 0; f < 3; f++) {
      const src = inputs.images.subarray((v * 2 + Math.min(f, 1)) * plane, (v * 2 + Math.min(f, 1) + 1) * plane);
      const dst = (v * 3 + f) * plane;
      for (let i = 0; i < plane; i++) frames[dst + i] = src[i] / 255;
    }
  }
  const { ids, mask } = prefixTokens(cfg, inputs.prompt, inputs.imageMask, tokenize);
  const imageMasks = Float32Array.from(inputs.imageMask);
  return {
    images: fromF32(frames, [1, V, 3, 3, S, S]),
    imageMasks: fromF32(imageMasks, [1, V]),
    tokenIds: np.array(ids, { dtype: np.int32 }).reshape([1, ids.length]),
    tokenMask: fromF32(mask, [1, mask.length]),
    state: fromF32(inputs.state, [1, cfg.max_state_dim]),
    ...inferInputs({ batch: 1, tokenIds: ids, tokenMask: mask, imageMasks }, cfg),
  };
}

/**
 * Wraps parameters (owned from now on: `dispose` frees them) as an ActionModel. Sampling computes the prefix
 * and gen cache once, then `num_inference_steps` Euler steps of the act expert on the model's float32 schedule,
 * guided by RTC when the request asks for it. Noise is N(0, 1) from the given seed.
 */
export function modelActionModel(params: ModelParams, cfg: ModelConfig, tokenize: Tokenize): ActionModel {
  const [H, A] = [cfg.chunk_size, cfg.max_action_dim];
  return {
    views: cfg.n_views,
    imageSize: cfg.vision_config.image_size,
    chunk: H,
    maxStateDim: cfg.max_state_dim,
    maxActionDim: A,
    async sample(inputs, seed, rtc) {
      const obs = modelObservation(cfg, inputs, tokenize);
      const cache = embedPrefixAndCache(params, obs, cfg);
      tree.dispose(obs);
      const guide = rtc ? rtcGuide(rtc.prev, rtc.prevCount, H, A, rtc.inferenceDelay, rtc.config) : undefined;
      try {
        const v = (x: Tensor, t: number): Tensor => actionStep(params.policy, cache, x, np.full([1], t, { dtype: np.float32 }), cfg);
        const noise = random.normal(keyFromSeed(seed), [1, H, A]);
        return await toF32(eulerSample(v, noise, eulerSchedule(cfg.num_inference_steps), guide));
      } finally {
        if (guide) disposeGuide(guide);
        disposeCache(cache);
      }
    },
    dispose: () => tree.dispose(params),
  };
}
