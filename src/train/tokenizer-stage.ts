// The image tokenizer stage: trains the Cosmos-architecture autoencoder on dataset frames, saves it, reports PSNR.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "../tensor/errors.ts";
import { keyFromSeed, tree, type Tensor } from "../tensor/index.ts";
import { type HostTensor } from "../tensor/compile/index.ts";
import { SafetensorsReader } from "../tensor/safetensors.ts";
import { Loader } from "../data/loader.ts";
import { type PipelineGroup, type PipelineSpec } from "../data/pipeline.ts";
import { type Batch as DataBatch } from "../data/types.ts";
import { parseConfig, type ModelConfig } from "../model/config.ts";
import { initModel, paramTable, setPath } from "../model/params.ts";
import { checkCheckpoint, formatReport } from "../model/weights.ts";
import { type CosmosParams } from "../model/types.ts";
import { cosineDecayWithWarmup } from "./schedule.ts";
import { type TrainConfig } from "./config.ts";
import { readDataArgument } from "./data.ts";
import { type Host, fnRunner, initialOptimizer, scalar, stepRunner, toHostTree } from "./engine.ts";
import { saveHostWeights } from "./checkpoint.ts";
import { psnrFromMse, reconstructionLoss, tokenizerStep, type OptimState } from "./step.ts";

export const TOKENIZER_FORMAT = "internvla-cosmos-tokenizer/1";
const SUMMARY_FILE = "cosmos_tokenizer.json";

const cosmosTable = (cfg: ModelConfig) => paramTable(cfg).filter((e) => e.path[0] === "cosmos");

/**
 * Loads a tokenizer folder (train-tokenizer output, or any model.safetensors holding model.cosmos.*) for `cfg`.
 * The folder's cosmos_config must equal the model's; missing, unexpected or mis-shaped tensors are all reported.
 */
export async function loadCosmos(dir: string, cfg: ModelConfig): Promise<Host<CosmosParams>> {
  const cfgPath = join(dir, "config.json");
  if (existsSync(cfgPath)) {
    const theirs = parseConfig(readFileSync(cfgPath, "utf8"), cfgPath).config.cosmos_config;
    if (JSON.stringify(theirs) !== JSON.stringify(cfg.cosmos_config)) {
      throw new ConfigError(`${dir}: its cosmos_config ${JSON.stringify(theirs)} differs from the model's ${JSON.stringify(cfg.cosmos_config)}`, "train the tokenizer with the same --config");
    }
  }
  const path = join(dir, "model.safetensors");
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing`, "pass the --out folder of internvla train-tokenizer");
  const table = cosmosTable(cfg);
  const reader = await SafetensorsReader.open(path);
  try {
    const shapes = new Map(reader.names().filter((n) => n.startsWith("model.cosmos.")).map((n) => [n, reader.info(n).shape] as const));
    const message = formatReport(path, checkCheckpoint(table, shapes));
    if (message) throw new CheckpointError(message, "train the tokenizer with the same model config");
    const root: Record<string, unknown> = {};
    for (const e of table) setPath(root, e.path.slice(1), { dtype: "float32", shape: [...e.shape], data: await reader.readF32(e.name) });
    return root as Host<CosmosParams>;
  } finally {
    await reader.close();
  }
}

/**
 * Frames [N, 3, S, S] (N = batch_size * views) from a batch of samples: every present camera's frame t, the
 * list cycled to a fixed length (a missing camera never contributes its blank image).
 */
function framesOfBatch(b: DataBatch, count: number): HostTensor {
  const { views, imageSize: S } = b.layout;
  const plane = 3 * S * S;
  const present: number[] = [];
  for (let i = 0; i < b.size * views; i++) if (b.imageMask[i]) present.push(i);
  const data = new Float32Array(count * plane);
  for (let k = 0; k < count; k++) {
    const src = present[k % present.length] * plane;
    for (let j = 0; j < plane; j++) data[k * plane + j] = b.images[src + j] / 255;
  }
  return { dtype: "float32", shape: [count, 3, S, S], data };
}

export interface TokenizerRunOptions {
  readonly config: TrainConfig;
  readonly data: string;
  readonly out: string;
  /** Batches of held-out draws (another seed) on which PSNR is measured before and after training. */
  readonly evalBatches?: number;
  readonly onProgress?: (step: number, steps: number, loss: number) => void;
}

export interface TokenizerSummary {
  readonly format: typeof TOKENIZER_FORMAT;
  readonly steps: number;
  readonly frames_per_step: number;
  readonly eval_frames: number;
  /** Reconstruction PSNR (dB, images in [0, 1]) of the evaluation frames at the random init and after training. */
  readonly psnr_init: number;
  readonly psnr: number;
  readonly final_loss: number;
  readonly seconds: number;
}

function pipelineSpec(groups: PipelineGroup[], cfg: TrainConfig, seed: number): PipelineSpec {
  const m = cfg.model;
  const layout = { views: m.n_views, frameOffsets: [0], imageSize: m.vision_config.image_size, chunk: 1, maxStateDim: m.max_state_dim, maxActionDim: m.max_action_dim };
  return { groups, seed, config: { layout, actionMode: "abs", norm: "none", frameCacheBytes: cfg.data.frame_cache_mb * 2 ** 20 } };
}

async function measurePsnr(cfg: TrainConfig, cosmos: Host<CosmosParams>, frames: readonly HostTensor[]): Promise<number> {
  const run = fnRunner(cfg.train.engine, (p: CosmosParams, x: { frames: Tensor }) => reconstructionLoss(p, x.frames, cfg.model), cosmos, cfg.train.threads);
  try {
    let sum = 0;
    for (const f of frames) sum += scalar((await run.run({ frames: f })) as HostTensor);
    return psnrFromMse(sum / frames.length);
  } finally {
    await run.dispose();
  }
}

/**
 * Trains the Cosmos autoencoder of `config.model` (reconstruction MSE, the policy's AdamW recipe) and writes
 * `out/model.safetensors` (model.cosmos.* names), `out/config.json`, `out/metrics.jsonl` and
 * `out/cosmos_tokenizer.json` with the PSNR before and after.
 */
export async function trainTokenizer(opts: TokenizerRunOptions): Promise<TokenizerSummary> {
  const { config: cfg, out } = opts;
  if (cfg.preset.startsWith("a1-")) throw new ConfigError(`train-tokenizer: ${cfg.preset} uses NVIDIA's released Cosmos CI8x8 weights`, "train-tokenizer is for configs without official weights (tiny, small)");
  const t0 = performance.now();
  const groups = readDataArgument(opts.data, "internvla train-tokenizer");
  mkdirSync(out, { recursive: true });
  const count = cfg.train.batch_size * cfg.model.n_views;
  const model = initModel(cfg.model, keyFromSeed(cfg.train.seed));
  tree.dispose(model.policy);
  const cosmos = toHostTree(model.cosmos);
  const init = { params: cosmos, opt: initialOptimizer<CosmosParams>(cosmos) } as Host<OptimState<CosmosParams>>;
  const evalLoader = await Loader.create(pipelineSpec(groups, cfg, cfg.train.seed + 1), { batchSize: cfg.train.batch_size, workers: 0, prefetch: 0 });
  const evalFrames: HostTensor[] = [];
  for (let i = 0; i < (opts.evalBatches ?? 2); i++) evalFrames.push(framesOfBatch(await evalLoader.next(), count));
  await evalLoader.close();
  const psnrInit = await measurePsnr(cfg, init.params, evalFrames);
  const runner = stepRunner(cfg.train.engine, tokenizerStep(cfg), init, cfg.train.threads);
  const loader = await Loader.create(pipelineSpec(groups, cfg, cfg.train.seed), { batchSize: cfg.train.batch_size, workers: cfg.data.workers, prefetch: cfg.data.prefetch });
  const s = cfg.schedule;
  const lrAt = cosineDecayWithWarmup({ peakLr: s.peak_lr, numWarmupSteps: s.warmup_steps, numDecaySteps: s.decay_steps, decayLr: s.decay_lr }, cfg.train.steps);
  writeFileSync(join(out, "metrics.jsonl"), "");
  let loss = NaN;
  try {
    for (let step = 0; step < cfg.train.steps; step++) {
      const frames = framesOfBatch(await loader.next(), count);
      const lr = lrAt(step);
      const m = await runner.run({ frames, lr: { dtype: "float32", shape: [], data: Float32Array.of(lr) } });
      loss = scalar(m.loss);
      appendFileSync(join(out, "metrics.jsonl"), JSON.stringify({ step: step + 1, loss, grad_norm: scalar(m.gradNorm), param_norm: scalar(m.paramNorm), lr }) + "\n");
      opts.onProgress?.(step + 1, cfg.train.steps, loss);
    }
    const trained = (await runner.state()).params;
    const psnr = await measurePsnr(cfg, trained, evalFrames);
    await saveHostWeights(join(out, "model.safetensors"), trained, cosmosTable(cfg.model), 1);
    writeFileSync(join(out, "config.json"), JSON.stringify(cfg.model, null, 2) + "\n");
    const summary: TokenizerSummary = {
      format: TOKENIZER_FORMAT, steps: cfg.train.steps, frames_per_step: count, eval_frames: evalFrames.length * count,
      psnr_init: psnrInit, psnr, final_loss: loss, seconds: (performance.now() - t0) / 1000,
    };
    writeFileSync(join(out, SUMMARY_FILE), JSON.stringify(summary, null, 2) + "\n");
    return summary;
  } finally {
    await loader.close();
    await runner.dispose();
  }
}
