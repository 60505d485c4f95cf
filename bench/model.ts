// Model benchmark (JSON): tiny sampleActions (batch 1, jax-js and ONNX Runtime) and training step (batch 16); a1-3b size and load memory.
//
// npm run bench:model                 tiny timings + a1-3b parameter count
// npm run bench:model -- --load-3b    (or --load-3b-only) also writes a random a1-3b checkpoint in official names (bf16, ~6.4 GB,
//                                     in the OS temp dir, deleted after) and streams it in as float32 host arrays,
//                                     reporting peak RSS against the float32 weights' size (needs ~14 GB RAM).
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fromF32, initEngine, jit, keyFromSeed, np, random, splitKey, toF32, tree, valueAndGrad, type Tensor } from "../src/tensor/index.ts";
import { compileOrt } from "../src/tensor/compile/index.ts";
import { SafetensorsWriter } from "../src/tensor/safetensors-writer.ts";
import { adamwInit, adamwUpdate, clipByGlobalNorm, INTERNVLA_ADAMW, type AdamWState } from "../src/train/optim.ts";
import {
  actionStep, buildPrefix, builtinTokenizer, cacheFromLatents, countParams, disposeCache, encodeFrames, eulerSchedule, inferInputs, initModel,
  lossFromLatents, paramTable, presetConfig, sampleActions, streamWeights, trainInputs, type ModelConfig, type ModelParams, type PolicyParams, type PrefixCache, type TrainBatch,
} from "../src/model/index.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (t0: number) => performance.now() - t0;

/** A random batch of `b` samples in the documented layout (all cameras present). */
function randomBatch(cfg: ModelConfig, b: number, seed: number) {
  const s = cfg.vision_config.image_size;
  const [k1, k2, k3] = splitKey(keyFromSeed(seed), 3);
  const tok = builtinTokenizer(cfg.text_config.vocab_size);
  const rows = Array.from({ length: b }, () => buildPrefix(tok, "pick up the red cube and place it in the blue bin", Array(cfg.n_views).fill(1), cfg));
  const ids = Int32Array.from(rows.flatMap((r) => Array.from(r.ids)));
  const mask = Float32Array.from(rows.flatMap((r) => Array.from(r.mask)));
  const host = { batch: b, tokenIds: ids, tokenMask: mask, imageMasks: new Float32Array(b * cfg.n_views).fill(1) };
  const base = {
    images: random.uniform(k1, [b, cfg.n_views, 3, 3, s, s]),
    imageMasks: np.ones([b, cfg.n_views]),
    tokenIds: np.array(ids, { dtype: np.int32 }).reshape([b, ids.length / b]),
    tokenMask: fromF32(mask, [b, mask.length / b]),
    state: random.normal(k2, [b, cfg.max_state_dim]),
    actions: random.normal(k3, [b, cfg.chunk_size, cfg.max_action_dim]),
  };
  return { base, host };
}

async function benchSampling(cfg: ModelConfig, runs: number) {
  const params = initModel(cfg, keyFromSeed(0));
  const { base, host } = randomBatch(cfg, 1, 1);
  const obs = { ...base, ...inferInputs(host, cfg) };
  const noise = () => random.normal(keyFromSeed(5), [1, cfg.chunk_size, cfg.max_action_dim]);
  const eager: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    await toF32(sampleActions(params, obs, cfg, noise()));
    eager.push(ms(t0));
  }
  const t1 = performance.now();
  const latents = encodeFrames(params.cosmos, obs.images.ref.slice([], [], [0, 2]), cfg);
  await latents.blockUntilReady();
  const out: Record<string, unknown> = { jaxjs_eager_ms: Math.round(eager[1]), cosmos_encode_ms: Math.round(ms(t1)) };
  out.jaxjs_jit = await benchSamplingJit(cfg, params.policy, obs, latents, runs);
  try {
    out.ort = await benchSamplingOrt(cfg, params, obs, runs);
  } catch (e) {
    out.ort = { error: String((e as Error).message).split("\n")[0] };
  }
  tree.dispose(params as never);
  return out;
}

type Obs = Parameters<typeof cacheFromLatents>[1];

/** cacheFromLatents (returning only the K/V and gen outputs; the rest is the observation's) and actionStep as functions to compile. */
function tracedParts(cfg: ModelConfig) {
  const cache = (p: PolicyParams, o: Obs, l: Tensor) => {
    const c = cacheFromLatents(p, o, l, cfg);
    for (const t of [c.suffixPositions, c.suffixMask, c.state]) t.dispose();
    tree.dispose(o as never);
    return { keys: c.keys, values: c.values, genOut: c.genOut };
  };
  const step = (p: PolicyParams, c: PrefixCache, x: Tensor, t: Tensor) => {
    const v = actionStep(p, c, x, t, cfg);
    disposeCache(c);
    return v;
  };
  return { cache, step };
}

/** Runs the cached sampler `runs + 1` times with the given cache and step functions; the first run is warm-up. */
async function timeSampler(
  cfg: ModelConfig,
  obs: Obs,
  makeCache: () => Promise<Pick<PrefixCache, "keys" | "values" | "genOut">>,
  step: (c: PrefixCache, x: Tensor, t: Tensor) => Promise<Tensor>,
  runs: number,
) {
  const { times, dt } = eulerSchedule(cfg.num_inference_steps);
  const all: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const cache: PrefixCache = { ...(await makeCache()), suffixPositions: obs.suffixPositions.ref, suffixMask: obs.suffixMask.ref, state: obs.state.ref };
    let x = random.normal(keyFromSeed(5), [1, cfg.chunk_size, cfg.max_action_dim]);
    for (const t of times) x = x.add((await step(tree.ref(cache as never), x.ref, np.full([1], t, { dtype: np.float32 }))).mul(dt));
    await toF32(x);
    disposeCache(cache);
    all.push(ms(t0));
  }
  const steady = median(all.slice(1));
  return { ms_without_cosmos: Math.round(steady), hz_without_cosmos: +(1000 / steady).toFixed(1), first_ms: Math.round(all[0]) };
}

async function benchSamplingJit(cfg: ModelConfig, policy: PolicyParams, obs: Obs, latents: Tensor, runs: number) {
  const parts = tracedParts(cfg);
  const cacheJ = jit((p: PolicyParams, o: Obs, l: Tensor) => {
    const r = parts.cache(p, o, l);
    tree.dispose(p as never);
    return r as never;
  });
  const stepJ = jit((p: PolicyParams, c: PrefixCache, x: Tensor, t: Tensor) => {
    const v = parts.step(p, c, x, t);
    tree.dispose(p as never);
    return v;
  });
  const pol = () => tree.ref(policy as never) as PolicyParams;
  const r = await timeSampler(cfg, obs, async () => cacheJ(pol(), tree.ref(obs as never), latents.ref) as Pick<PrefixCache, "keys" | "values" | "genOut">, async (c, x, t) => stepJ(pol(), c, x, t), runs);
  cacheJ.dispose();
  stepJ.dispose();
  return r;
}

/** The whole sampler (Cosmos encode, cache pass, 10 unrolled Euler steps) compiled to ONNX Runtime, weights baked (docs/compile.md recipe). */
async function benchSamplingOrt(cfg: ModelConfig, params: ModelParams, obs: Obs, runs: number) {
  const fn = compileOrt((o: Obs, n: Tensor) => sampleActions(params, o, cfg, n));
  try {
    const all: number[] = [];
    for (let i = 0; i <= runs + 1; i++) {
      const t0 = performance.now();
      await fn(tree.ref(obs as never), random.normal(keyFromSeed(5), [1, cfg.chunk_size, cfg.max_action_dim]));
      all.push(ms(t0));
    }
    const steady = median(all.slice(2));
    return { ms_with_cosmos: Math.round(steady), hz_with_cosmos: +(1000 / steady).toFixed(1), first_ms: Math.round(all[0]) };
  } finally {
    await fn.dispose();
  }
}

async function benchTraining(cfg: ModelConfig, batch: number, steps: number) {
  const params = initModel(cfg, keyFromSeed(0));
  const { base, host } = randomBatch(cfg, batch, 2);
  const b: TrainBatch = { ...base, ...trainInputs(host, cfg) };
  const t0 = performance.now();
  const latents = encodeFrames(params.cosmos, b.images.ref, cfg);
  await latents.blockUntilReady();
  const cosmosMs = ms(t0);
  type State = { params: PolicyParams; opt: AdamWState<PolicyParams> };
  const step = jit((s: State, bt: TrainBatch, lat: Tensor, noise: Tensor, time: Tensor, lr: Tensor) => {
    const [loss, grads] = valueAndGrad((p: PolicyParams) => {
      const o = lossFromLatents(p, bt, lat.ref, cfg, noise.ref, time.ref);
      for (const t of [o.lossAction, o.lossGen, o.vT, o.genPred]) t.dispose();
      return o.loss;
    })(s.params);
    const clipped = clipByGlobalNorm(grads, 1.0);
    clipped.norm.dispose();
    const next = adamwUpdate(s.params, clipped.grads, s.opt, lr, INTERNVLA_ADAMW);
    for (const t of [lat, noise, time]) t.dispose();
    tree.dispose(bt as never);
    return { loss, state: { params: next.params, opt: next.state } };
  });
  let state: State = { params: params.policy, opt: adamwInit(params.policy) };
  const runs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const [kn, kt] = splitKey(keyFromSeed(100 + i), 2);
    const t1 = performance.now();
    const out = step(state, tree.ref(b as never), latents.ref, random.normal(kn, [batch, cfg.chunk_size, cfg.max_action_dim]), random.uniform(kt, [batch]), np.array(1e-3));
    losses.push((await toF32(out.loss))[0]);
    await Promise.all(tree.leaves(out.state as never).map((t: Tensor) => t.blockUntilReady()));
    state = out.state;
    runs.push(ms(t1));
  }
  step.dispose();
  return { ms: Math.round(median(runs.slice(1))), first_ms: Math.round(runs[0]), cosmos_latents_ms: Math.round(cosmosMs), loss_first_last: [losses[0], losses[losses.length - 1]] };
}

/** Writes a random a1-3b checkpoint (bf16, official names) and streams it back as float32 host arrays. */
async function benchLoad3b() {
  const cfg = presetConfig("a1-3b");
  const table = paramTable(cfg);
  const dir = mkdtempSync(join(tmpdir(), "internvla-a1-3b-"));
  const path = join(dir, "model.safetensors");
  try {
    const t0 = performance.now();
    const w = await SafetensorsWriter.create(path, table.map((e) => ({ name: e.name, dtype: "BF16" as const, shape: e.shape })));
    let seed = 1;
    for (const e of table) {
      const n = e.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24 - 0.5) * 0.04;
      await w.write(e.name, data);
    }
    await w.close();
    const writeS = ms(t0) / 1000;
    const rss0 = process.memoryUsage().rss;
    const kept: Float32Array[] = [];
    const t1 = performance.now();
    let peak = rss0;
    await streamWeights(path, cfg, (_, data) => {
      kept.push(data);
      peak = Math.max(peak, process.memoryUsage().rss);
    });
    const f32Bytes = countParams(table) * 4;
    return {
      tensors: kept.length, write_s: Math.round(writeS), load_s: Math.round(ms(t1) / 1000), f32_gb: +(f32Bytes / 1e9).toFixed(2),
      peak_rss_gb: +(peak / 1e9).toFixed(2), rss_before_gb: +(rss0 / 1e9).toFixed(2), peak_over_weights: +((peak - rss0) / f32Bytes).toFixed(3),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sizes() {
  const table = paramTable(presetConfig("a1-3b"));
  const cosmos = table.filter((e) => e.name.startsWith("model.cosmos."));
  const policy = table.filter((e) => !e.name.startsWith("model.cosmos."));
  return { tensors: table.length, policy_params: countParams(policy), cosmos_params: countParams(cosmos), total_params: countParams(table) };
}

async function main() {
  await initEngine();
  const cfg = presetConfig("tiny");
  const onlyLoad = process.argv.includes("--load-3b-only");
  const result: Record<string, unknown> = {
    conditions: { threads: availableParallelism(), loadavg_1m: +loadavg()[0].toFixed(2), note: "measured under load: shared 2-core machine" },
  };
  if (!onlyLoad) {
    result.tiny_sample_actions_b1 = await benchSampling(cfg, 3);
    result.tiny_train_step_b16 = await benchTraining(cfg, 16, 3);
  }
  result.a1_3b = sizes();
  if (onlyLoad || process.argv.includes("--load-3b")) result.a1_3b_load = await benchLoad3b();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
// The engine's worker pool leaves message ports open after large kernels; exit once the figures are out.
process.exit(0);
