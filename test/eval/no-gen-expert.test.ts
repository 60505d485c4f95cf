// The "w/o generation expert" ablation switch (model config use_gen_expert = false), by analytic invariants: no middle
// tokens, nothing flows from the gen tower or the latents into the actions (while it does with the expert on), and the
// cached inference pass reproduces the training pass's velocity (equal positions and masks without a middle segment).
import { beforeAll, describe, expect, it } from "vitest";
import { type Tensor, fromF32, initEngine, keyFromSeed, np, random, splitKey, toF32, tree } from "../../src/tensor/index.ts";
import { presetConfig, tokenLayout, type ModelConfig } from "../../src/model/config.ts";
import { initModel } from "../../src/model/params.ts";
import { actionStep, disposeCache, cacheFromLatents, inferInputs, lossFromLatents, trainInputs, type TrainBatch } from "../../src/model/policy.ts";
import { DEFAULT_WORDS, buildPrefix, builtinTokenizer } from "../../src/model/tokenizer.ts";
import { type ModelParams } from "../../src/model/types.ts";
import { TOL } from "../helpers/allclose.ts";

const ON = presetConfig("tiny");
const OFF: ModelConfig = { ...ON, use_gen_expert: false };
const B = 2;
const IMAGE_MASK = [1, 1, 0]; // arm5: top and wrist, no right wrist

let params: ModelParams;

function rand(seed: number, shape: number[], scale = 1): Tensor {
  return random.normal(keyFromSeed(seed), shape).mul(scale);
}

/** Host ids and masks of a batch of two instructions (both cameras present, the third slot missing). */
function host(cfg: ModelConfig) {
  const tok = builtinTokenizer(cfg.text_config.vocab_size, DEFAULT_WORDS);
  const rows = ["put the red cube on the blue pad", "sort the parcels into the bins"].map((t) => buildPrefix(tok, t, IMAGE_MASK, cfg));
  const ids = new Int32Array(rows.flatMap((r) => [...r.ids]));
  const mask = new Float32Array(rows.flatMap((r) => [...r.mask]));
  return { batch: B, tokenIds: ids, tokenMask: mask, imageMasks: new Float32Array([...IMAGE_MASK, ...IMAGE_MASK]) };
}

/** A training batch with random images, state and actions (seeded), and its layout for `cfg`. */
function batchFor(cfg: ModelConfig): TrainBatch {
  const h = host(cfg);
  const S = cfg.vision_config.image_size;
  return {
    images: random.uniform(keyFromSeed(1), [B, cfg.n_views, 3, 3, S, S]),
    imageMasks: fromF32(Float32Array.from(h.imageMasks), [B, cfg.n_views]),
    tokenIds: np.array(h.tokenIds, { dtype: np.int32 }).reshape([B, h.tokenIds.length / B]),
    tokenMask: fromF32(h.tokenMask, [B, h.tokenMask.length / B]),
    state: rand(2, [B, cfg.max_state_dim]),
    actions: rand(3, [B, cfg.chunk_size, cfg.max_action_dim]),
    ...trainInputs(h, cfg),
  };
}

function latents(cfg: ModelConfig, seed: number): Tensor {
  const c = cfg.cosmos_config;
  const side = c.resolution / c.spatial_compression;
  return rand(seed, [B, cfg.n_views, 3, c.latent_channels, side, side]);
}

const TIME = () => fromF32(Float32Array.of(0.7, 0.3), [B]);

/** v_t and the loss parts of the training pass. */
async function trainPass(p: ModelParams, cfg: ModelConfig, lat: Tensor) {
  const batch = batchFor(cfg);
  const o = lossFromLatents(p.policy, batch, lat, cfg, rand(4, [B, cfg.chunk_size, cfg.max_action_dim]), TIME());
  tree.dispose(batch as never);
  o.genPred.dispose();
  o.loss.dispose();
  return { vT: await toF32(o.vT), lossGen: await toF32(o.lossGen), lossAction: await toF32(o.lossAction) };
}

/** The gen tower's weights replaced by fresh random ones (everything else shared). */
function withOtherGen(p: ModelParams): ModelParams {
  const other = initModel(ON, keyFromSeed(99));
  const out = { cosmos: tree.ref(p.cosmos), policy: { ...tree.ref(p.policy), gen: other.policy.gen } } as ModelParams;
  tree.dispose({ ...other.policy, gen: undefined } as never);
  tree.dispose(other.cosmos as never);
  return out;
}

beforeAll(async () => {
  await initEngine();
  params = initModel(ON, keyFromSeed(5));
});

describe("use_gen_expert = false", () => {
  it("drops the middle segment from the layout", () => {
    expect(tokenLayout(OFF).middle).toBe(0);
    expect(tokenLayout(OFF).total).toBe(tokenLayout(ON).total - tokenLayout(ON).middle);
    const t = trainInputs(host(OFF), OFF);
    expect(t.positions.shape).toEqual([3, B, tokenLayout(OFF).total]);
    tree.dispose(t as never);
  });

  it("has loss_gen 0 and actions independent of the gen tower and the latents; with the expert on they depend on them", async () => {
    const p2 = withOtherGen(params);
    const base = await trainPass(params, OFF, latents(OFF, 10));
    const other = await trainPass(p2, OFF, latents(OFF, 11));
    expect(Array.from(base.lossGen)).toEqual([0]);
    expect(other.vT).toEqual(base.vT);
    expect(other.lossAction).toEqual(base.lossAction);
    const on = await trainPass(params, ON, latents(ON, 10));
    const onOther = await trainPass(p2, ON, latents(ON, 11));
    tree.dispose(p2 as never);
    expect(on.lossGen[0]).toBeGreaterThan(0);
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    expect(maxDiff(on.vT, onOther.vT)).toBeGreaterThan(1e-4);
  });

  it("gives the training pass's velocity through the cached inference pass (prefix K/V only)", async () => {
    const h = host(OFF);
    const batch = batchFor(OFF);
    const [kn] = splitKey(keyFromSeed(4), 1);
    const noise = random.normal(kn, [B, OFF.chunk_size, OFF.max_action_dim]);
    const train = lossFromLatents(params.policy, batch, latents(OFF, 10), OFF, noise.ref, TIME());
    const { actions, ...obsPart } = batch;
    const obs = { ...obsPart, ...inferInputs(h, OFF) };
    const cache = cacheFromLatents(params.policy, obs as never, undefined, OFF);
    expect(cache.genOut.shape).toEqual([B, 0, OFF.expert_config.hidden_size]);
    const t = TIME().reshape([B, 1, 1]);
    const xT = t.ref.mul(noise).add(t.neg().add(1).mul(actions.ref));
    const v = actionStep(params.policy, cache, xT, TIME(), OFF);
    expect(await toF32(v)).toBeAllclose(await toF32(train.vT), TOL.model, "v_t: inference cache vs training pass");
    disposeCache(cache);
    for (const x of [train.loss, train.lossAction, train.lossGen, train.genPred, actions]) x.dispose();
    tree.dispose(obs as never);
  });
});
