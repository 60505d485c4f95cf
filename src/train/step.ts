// The pure training steps: policy (flow matching + foresight, clip, AdamW) and Cosmos tokenizer (reconstruction).
import { np, tree, valueAndGrad, type JsTree, type Key, type Tensor } from "../tensor/index.ts";
import { type ModelConfig } from "../model/config.ts";
import { cosmosDecode, cosmosEncode, encodeFrames, resizeBilinear } from "../model/cosmos.ts";
import { sampleNoiseAndTime } from "../model/flow.ts";
import { lossFromLatents, type TrainBatch } from "../model/policy.ts";
import { type CosmosParams, type PolicyParams } from "../model/types.ts";
import { adamwUpdate, clipByGlobalNorm, type AdamWConfig, type AdamWState } from "./optim.ts";
import { type TrainConfig } from "./config.ts";

/** Parameters and optimizer state: what a step carries from one call to the next. */
export type OptimState<P> = { params: P; opt: AdamWState<P> };

/** The numbers every policy step reports (scalars). */
export type PolicyMetrics = { loss: Tensor; lossAction: Tensor; lossGen: Tensor; gradNorm: Tensor; paramNorm: Tensor };

/** Inputs of one policy step: the batch, its frozen-encoder latents [B, V, 3, z, h, w], a key and the LR. */
export type PolicyInputs = { batch: TrainBatch; latents: Tensor; key: Key; lr: Tensor };

export function adamwConfig(cfg: TrainConfig): AdamWConfig {
  const o = cfg.optim;
  return { b1: o.b1, b2: o.b2, eps: o.eps, weightDecay: o.weight_decay };
}

/** sqrt(sum of squares) over every leaf of a tree (borrowed). */
function treeNorm(t: JsTree<Tensor>): Tensor {
  const leaves = tree.leaves(t) as Tensor[];
  let sum = np.sum(np.square(leaves[0].ref));
  for (let i = 1; i < leaves.length; i++) sum = sum.add(np.sum(np.square(leaves[i].ref)));
  return np.sqrt(sum);
}

/** clip_grad_norm_ then one AdamW update (consumes params, grads and opt; borrows lr). */
function update<P extends JsTree<Tensor>>(s: OptimState<P>, grads: P, lr: Tensor, cfg: TrainConfig): { state: OptimState<P>; gradNorm: Tensor; paramNorm: Tensor } {
  const { grads: clipped, norm } = clipByGlobalNorm(grads, cfg.optim.clip_norm);
  const next = adamwUpdate(s.params, clipped, s.opt, lr.ref, adamwConfig(cfg));
  return { state: { params: next.params, opt: next.state }, gradNorm: norm, paramNorm: treeNorm(next.params as JsTree<Tensor>) };
}

/**
 * One policy training step, pure (openpi's train_step): flow noise and time from `key` (t ~ Beta(1.5, 1) *
 * 0.999 + 0.001), loss = loss_action + lambda_gen * loss_gen from the precomputed latents, gradients w.r.t. the
 * policy (the Cosmos tokenizer is frozen and outside), global-norm clip, AdamW. grad_norm is measured before
 * clipping, param_norm after the update. Consumes `state` and `inputs`.
 */
export function policyStep(cfg: TrainConfig) {
  const model = cfg.model;
  return (state: OptimState<PolicyParams>, inputs: PolicyInputs): { state: OptimState<PolicyParams>; metrics: PolicyMetrics } => {
    const { batch, latents, key, lr } = inputs;
    const { noise, time } = sampleNoiseAndTime(key, batch.actions.shape[0], model);
    const lossFn = (p: PolicyParams) => {
      const o = lossFromLatents(p, batch, latents.ref, model, noise.ref, time.ref);
      o.vT.dispose();
      o.genPred.dispose();
      return [o.loss, { lossAction: o.lossAction, lossGen: o.lossGen }] as [Tensor, { lossAction: Tensor; lossGen: Tensor }];
    };
    const [[loss, aux], grads] = valueAndGrad(lossFn, { hasAux: true })(tree.ref(state.params));
    for (const t of [latents, noise, time]) t.dispose();
    tree.dispose(batch as unknown as JsTree<Tensor>);
    const u = update(state, grads as PolicyParams, lr, cfg);
    lr.dispose();
    return { state: u.state, metrics: { loss, lossAction: aux.lossAction, lossGen: aux.lossGen, gradNorm: u.gradNorm, paramNorm: u.paramNorm } };
  };
}

/** The frozen encoder on frames [N, 3, H, W] in [0, 1] -> latents [N, z, h, w] (out of the gradient). Borrows `cosmos`. */
export function encodeStep(cfg: ModelConfig) {
  return (cosmos: CosmosParams, frames: Tensor): Tensor => encodeFrames(cosmos, frames, cfg);
}

/** Tokenizer reconstruction: frames resized to the Cosmos input, mapped to [-1, 1], encoded, decoded; MSE. */
export function reconstructionLoss(p: CosmosParams, frames: Tensor, cfg: ModelConfig): Tensor {
  const s = cfg.cosmos_config.resolution;
  const x = resizeBilinear(frames, s, s).mul(2).sub(1); // [N, 3, s, s] in [-1, 1]
  const y = cosmosDecode(p, cosmosEncode(p, x.ref, cfg), cfg);
  return np.mean(np.square(y.sub(x)));
}

export type TokenizerMetrics = { loss: Tensor; gradNorm: Tensor; paramNorm: Tensor };

/**
 * One tokenizer training step on frames [N, 3, H, W] in [0, 1]: reconstruction MSE in [-1, 1] units, clip,
 * AdamW (the policy's recipe). Consumes `state`, `frames` and `lr`.
 */
export function tokenizerStep(cfg: TrainConfig) {
  return (state: OptimState<CosmosParams>, inputs: { frames: Tensor; lr: Tensor }): { state: OptimState<CosmosParams>; metrics: TokenizerMetrics } => {
    const [loss, grads] = valueAndGrad((p: CosmosParams) => reconstructionLoss(p, inputs.frames.ref, cfg.model))(tree.ref(state.params));
    inputs.frames.dispose();
    const u = update(state, grads as CosmosParams, inputs.lr, cfg);
    inputs.lr.dispose();
    return { state: u.state, metrics: { loss, gradNorm: u.gradNorm, paramNorm: u.paramNorm } };
  };
}

/** PSNR in dB of images in [0, 1] from an MSE measured in [-1, 1] units (a factor 4). */
export function psnrFromMse(mseSigned: number): number {
  return 10 * Math.log10(4 / mseSigned);
}
