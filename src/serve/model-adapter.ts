// src/model's InternVLA-A1 as the ActionModel the served policy calls: token prefix (src/model buildPrefix), cached
// und/gen pass, then the act expert's Euler steps through rtc.ts (so a request can carry real-time chunking guidance).
import { type Tensor, fromF32, keyFromSeed, np, random, toF32, tree } from "../tensor/index.ts";
import { ShapeError } from "../tensor/errors.ts";
import { type ModelConfig } from "../model/config.ts";
import { eulerSchedule } from "../model/flow.ts";
import { actionStep, disposeCache, embedPrefixAndCache, inferInputs, type InferObservation } from "../model/policy.ts";
import { type TextTokenizer, buildPrefix } from "../model/tokenizer.ts";
import { type ModelParams } from "../model/types.ts";
import { type ActionModel, type ModelInputs } from "./model-policy.ts";
import { disposeGuide, eulerSample, rtcGuide } from "./rtc.ts";

/** The model's batch of one: frames (t-15, t) plus frame t again as the unused t+15 slot, scaled to [0, 1]. */
export function modelObservation(cfg: ModelConfig, inputs: ModelInputs, tok: TextTokenizer): InferObservation {
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
  const { ids, mask } = buildPrefix(tok, inputs.prompt, Array.from(inputs.imageMask), cfg);
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
export function modelActionModel(params: ModelParams, cfg: ModelConfig, tok: TextTokenizer): ActionModel {
  const [H, A] = [cfg.chunk_size, cfg.max_action_dim];
  return {
    views: cfg.n_views,
    imageSize: cfg.vision_config.image_size,
    chunk: H,
    maxStateDim: cfg.max_state_dim,
    maxActionDim: A,
    async sample(inputs, seed, rtc) {
      const obs = modelObservation(cfg, inputs, tok);
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
