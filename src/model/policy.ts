// The policy entry points: training loss, prefix/gen cache, one Euler step of the act expert, and the sampler.
import { fromF32, np, type Tensor } from "../tensor/index.ts";
import { ConfigError } from "../tensor/errors.ts";
import { linear } from "../nn/index.ts";
import { type ModelConfig } from "./config.ts";
import { encodeFrames } from "./cosmos.ts";
import { embedMiddle, embedPrefix, embedSuffix, foresightHead } from "./embed.ts";
import { eulerSchedule, interpolate } from "./flow.ts";
import { inferLayout, trainPositionsAndMask, type HostMasks } from "./layout.ts";
import { ropeTables, runLayers, towerCfg, type LayerKv } from "./mot.ts";
import { type Batch, type InferLayoutTensors, type ModelParams, type Observation, type PolicyParams, type PrefixCache, type TrainLayout } from "./types.ts";

/** A training batch with its host-built positions and mask (see `trainInputs`). */
export type TrainBatch = Batch & TrainLayout;
/** An observation with its host-built inference layout (see `inferInputs`). */
export type InferObservation = Observation & InferLayoutTensors;

/** The training positions [3, B, N] and additive mask [B, 1, N, N] as tensors. */
export function trainInputs(h: HostMasks, cfg: ModelConfig): TrainLayout {
  const { positions, mask } = trainPositionsAndMask(h, cfg);
  const n = positions.length / 3 / h.batch;
  return { positions: fromF32(positions, [3, h.batch, n]), mask: fromF32(mask, [h.batch, 1, n, n]) };
}

/** The inference positions and masks of the prefix, middle and suffix passes, as tensors. */
export function inferInputs(h: HostMasks, cfg: ModelConfig): InferLayoutTensors {
  const l = inferLayout(h, cfg);
  const B = h.batch;
  const len = (a: Float32Array) => a.length / 3 / B;
  const [lp, lm, ls] = [len(l.prefixPositions), len(l.middlePositions), len(l.suffixPositions)];
  // Without the gen expert the middle is empty (lm = 0); jax-js cannot build an array from no values.
  const middle = (a: Float32Array, shape: number[]) => (lm === 0 ? np.zeros(shape, { dtype: np.float32 }) : fromF32(a, shape));
  return {
    prefixPositions: fromF32(l.prefixPositions, [3, B, lp]),
    middlePositions: middle(l.middlePositions, [3, B, lm]),
    suffixPositions: fromF32(l.suffixPositions, [3, B, ls]),
    prefixMask: fromF32(l.prefixMask, [B, 1, lp, lp]),
    middleMask: middle(l.middleMask, [B, 1, lm, lp + lm]),
    suffixMask: fromF32(l.suffixMask, [B, 1, ls, lp + lm + ls]),
  };
}

/** Everything the training path produces. */
export interface LossOutputs {
  readonly loss: Tensor;
  readonly lossAction: Tensor;
  readonly lossGen: Tensor;
  /** Predicted velocity [B, chunk, A]. */
  readonly vT: Tensor;
  /** Predicted Cosmos latent of frame t+15 [B, V, z, h, w]. */
  readonly genPred: Tensor;
}

/** MSE over the valid views only (F.mse_loss on pred[img_masks]): sum of squares / (n_valid * z*h*w). Consumes all. */
function maskedLatentMse(pred: Tensor, target: Tensor, imageMasks: Tensor): Tensor {
  const [, , z, h, w] = pred.shape;
  const perView = np.sum(np.square(pred.sub(target)).reshape([pred.shape[0], pred.shape[1], z * h * w]), 2); // [B, V]
  return np.sum(perView.mul(imageMasks.ref)).mul(np.reciprocal(np.sum(imageMasks).mul(z * h * w)));
}

/**
 * The training forward (official QwenA1.forward + the policy's loss reduction) from precomputed Cosmos latents
 * [B, V, 3, z, h, w] of frames (t-15, t, t+15): the form a trainer traces (the frozen encoder stays outside).
 * loss_action is the mean over ALL max_action_dim dims, padding included, as the official code does (the
 * padded dims' target is pure noise). Borrows `p` and `batch`; consumes `latents`, `noise` [B, chunk, A], `time` [B].
 */
export function lossFromLatents(p: PolicyParams, batch: TrainBatch, latents: Tensor, cfg: ModelConfig, noise: Tensor, time: Tensor): LossOutputs {
  const { xT, target } = interpolate(batch.actions.ref, noise, time.ref);
  const pre = embedPrefix(p, batch.images.ref, batch.tokenIds.ref, cfg);
  const suf = embedSuffix(p, batch.state.ref, xT, time, cfg);
  const { cos, sin } = ropeTables(batch.positions.ref, cfg);
  const names = cfg.use_gen_expert ? (["und", "gen", "act"] as const) : (["und", "act"] as const);
  const towers = names.map((n) => ({ params: p[n], cfg: towerCfg(cfg, n) }));
  const inputs = cfg.use_gen_expert ? [pre, embedMiddle(p, latents.ref.slice([], [], [0, 2]), cfg), suf] : [pre, suf];
  const outs = runLayers(towers, inputs, cos, sin, batch.mask);
  cos.dispose();
  sin.dispose();
  outs[0].dispose();
  const act = outs[outs.length - 1];
  const { genPred, lossGen } = cfg.use_gen_expert ? foresightLoss(p, outs[1], latents, batch.imageMasks.ref, cfg) : noForesight(latents);
  const vT = linear(p.action_out_proj, act.slice([], [1], [])); // the last chunk tokens (state output dropped)
  const lossAction = np.mean(np.square(target.sub(vT.ref)));
  const loss = lossAction.ref.add(lossGen.ref.mul(cfg.lambda_gen));
  return { loss, lossAction, lossGen, vT, genPred };
}

/** The foresight head on the gen outputs and its masked MSE against the t+15 latent. Consumes all. */
function foresightLoss(p: PolicyParams, gen: Tensor, latents: Tensor, imageMasks: Tensor, cfg: ModelConfig): { genPred: Tensor; lossGen: Tensor } {
  const genPred = foresightHead(p, gen, cfg);
  return { genPred, lossGen: maskedLatentMse(genPred.ref, latents.slice([], [], 2), imageMasks) };
}

/** Without the gen expert nothing is predicted: a zero latent [B, V, z, h, w] and loss_gen 0. Consumes `latents`. */
function noForesight(latents: Tensor): { genPred: Tensor; lossGen: Tensor } {
  const [B, V, , z, h, w] = latents.shape;
  latents.dispose();
  return { genPred: np.zeros([B, V, z, h, w], { dtype: np.float32 }), lossGen: np.zeros([], { dtype: np.float32 }) };
}

/** Cosmos latents [B, V, F, z, h, w] of every frame of `images` [B, V, F, 3, H, W], out of the gradient. Borrows both. */
export function frameLatents(params: ModelParams, images: Tensor, cfg: ModelConfig): Tensor {
  return encodeFrames(params.cosmos, images.ref, cfg);
}

/**
 * loss = loss_action + lambda_gen * loss_gen, with both parts, v_t and the foresight prediction. Noise and time
 * are injected (see flow.ts `sampleNoiseAndTime`). Borrows `params` and `batch`; consumes `noise` and `time`.
 */
export function computeLoss(params: ModelParams, batch: TrainBatch, cfg: ModelConfig, noise: Tensor, time: Tensor): LossOutputs {
  const latents = frameLatents(params, batch.images, cfg);
  return lossFromLatents(params.policy, batch, latents, cfg, noise, time);
}

/**
 * The per-control-step cache from latents [B, V, 2, z, h, w] of frames (t-15, t): the und tower runs alone on
 * the prefix, then the gen tower on the middle tokens attending to the prefix K/V; both K/V sets are kept.
 * Without the gen expert (`use_gen_expert` false) the cache holds the prefix K/V only, `genOut` has no tokens
 * [B, 0, De], and `latents` is not needed. Borrows `p` and `obs`; consumes `latents`.
 */
export function cacheFromLatents(p: PolicyParams, obs: InferObservation, latents: Tensor | undefined, cfg: ModelConfig): PrefixCache {
  const pre = embedPrefix(p, obs.images.ref, obs.tokenIds.ref, cfg);
  const kvPre: LayerKv[] = [];
  const t1 = ropeTables(obs.prefixPositions.ref, cfg);
  runLayers([{ params: p.und, cfg: cfg.text_config }], [pre], t1.cos, t1.sin, obs.prefixMask, { collect: kvPre })[0].dispose();
  const rest = { suffixPositions: obs.suffixPositions.ref, suffixMask: obs.suffixMask.ref, state: obs.state.ref };
  if (!cfg.use_gen_expert) {
    latents?.dispose();
    for (const t of [t1.cos, t1.sin]) t.dispose();
    const De = cfg.expert_config.hidden_size;
    return { keys: kvPre.map((a) => a.k), values: kvPre.map((a) => a.v), ...rest, genOut: np.zeros([obs.state.shape[0], 0, De], { dtype: np.float32 }) };
  }
  if (!latents) throw new ConfigError("cacheFromLatents: the gen expert needs the Cosmos latents of frames t-15 and t");
  const kvMid: LayerKv[] = [];
  const t2 = ropeTables(obs.middlePositions.ref, cfg);
  const [genOut] = runLayers([{ params: p.gen, cfg: cfg.expert_config }], [embedMiddle(p, latents, cfg)], t2.cos, t2.sin, obs.middleMask, {
    past: kvPre,
    collect: kvMid,
  });
  for (const t of [t1.cos, t1.sin, t2.cos, t2.sin]) t.dispose();
  const keys = kvPre.map((a, l) => np.concatenate([a.k, kvMid[l].k], 2));
  const values = kvPre.map((a, l) => np.concatenate([a.v, kvMid[l].v], 2));
  return { keys, values, ...rest, genOut };
}

/** embedPrefixAndCache: Cosmos-encodes frames (t-15, t) (with the gen expert), then `cacheFromLatents`. Borrows `params` and `obs`. */
export function embedPrefixAndCache(params: ModelParams, obs: InferObservation, cfg: ModelConfig): PrefixCache {
  const latents = cfg.use_gen_expert ? encodeFrames(params.cosmos, obs.images.ref.slice([], [], [0, 2]), cfg) : undefined;
  return cacheFromLatents(params.policy, obs, latents, cfg);
}

/**
 * One Euler step's act-expert pass: the suffix (state + noisy actions at time t) attends to the cached prefix
 * and gen K/V (the cache is not modified). Returns v_t [B, chunk, A]. Borrows `p` and `cache`; consumes `xT`, `t` [B].
 */
export function actionStep(p: PolicyParams, cache: PrefixCache, xT: Tensor, t: Tensor, cfg: ModelConfig): Tensor {
  const suf = embedSuffix(p, cache.state.ref, xT, t, cfg);
  const { cos, sin } = ropeTables(cache.suffixPositions.ref, cfg);
  const past = cache.keys.map((k, l) => ({ k, v: cache.values[l] }));
  const [out] = runLayers([{ params: p.act, cfg: cfg.expert_config }], [suf], cos, sin, cache.suffixMask, { past });
  cos.dispose();
  sin.dispose();
  return linear(p.action_out_proj, out.slice([], [1], []));
}

/** Frees a cache. */
export function disposeCache(cache: PrefixCache): void {
  for (const t of [...cache.keys, ...cache.values, cache.suffixPositions, cache.suffixMask, cache.state, cache.genOut]) t.dispose();
}

/**
 * The Euler steps of the official sampler on a built cache: from x = noise at t = 1 with dt = -1/steps (float32
 * schedule, flow.ts) down to t = 0. Returns actions [B, chunk, A]. Borrows `p` and `cache`; consumes `noise`.
 */
export function eulerFromCache(p: PolicyParams, cache: PrefixCache, noise: Tensor, cfg: ModelConfig): Tensor {
  const { times, dt } = eulerSchedule(cfg.num_inference_steps);
  const b = noise.shape[0];
  let x = noise;
  for (const t of times) {
    const v = actionStep(p, cache, x.ref, np.full([b], t, { dtype: np.float32 }), cfg);
    x = x.add(v.mul(dt));
  }
  return x;
}

/**
 * The official sampler: cache once, then `num_inference_steps` Euler steps (`eulerFromCache`). Returns actions
 * [B, chunk, A] (still padded to max_action_dim). Borrows `params` and `obs`; consumes `noise`.
 */
export function sampleActions(params: ModelParams, obs: InferObservation, cfg: ModelConfig, noise: Tensor): Tensor {
  const cache = embedPrefixAndCache(params, obs, cfg);
  try {
    return eulerFromCache(params.policy, cache, noise, cfg);
  } finally {
    disposeCache(cache);
  }
}
