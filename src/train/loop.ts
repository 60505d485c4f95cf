// The training loop: data -> batches (prefetched, encoded) -> steps -> metrics.jsonl, progress, checkpoints, resume.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../tensor/errors.ts";
import { type HostTensor } from "../tensor/compile/index.ts";
import { type Tensor } from "../tensor/index.ts";
import { type ParsedArgs } from "../cli/args.ts";
import { Loader } from "../data/loader.ts";
import { type PipelineGroup, type PipelineSpec } from "../data/pipeline.ts";
import { type TextTokenizer } from "../model/tokenizer.ts";
import { type ModelParams, type PolicyParams } from "../model/types.ts";
import { cosineDecayWithWarmup } from "./schedule.ts";
import { FRAME_OFFSETS, assembleBatch, framesOf, latentsOf, sampleLayout, zeroLatents, type HostBatch } from "./batch.ts";
import { type Checkpoint, LATEST, latestCheckpointDir, loadTrainingCheckpoint, saveCheckpoint, type Resumed } from "./checkpoint.ts";
import { type TrainConfig, resumeConfig } from "./config.ts";
import { type DataSummary, readDataArgument, summariseData } from "./data.ts";
import { type FnRunner, type Host, type StepRunner, fnRunner, initialOptimizer, scalar, stepRunner } from "./engine.ts";
import { checkpointFolder, chooseTextTokenizer, initialWeights } from "./setup.ts";
import { encodeStep, policyStep, type OptimState, type PolicyInputs, type PolicyMetrics } from "./step.ts";
import { cachedEncoder } from "./latent-cache.ts";

export interface TrainRunOptions {
  /** The run's config (a new run); on --resume the checkpoint's config is used with `overrides` applied. */
  readonly config: TrainConfig;
  /** The CLI's `--a.b=value` overrides: applied to the checkpoint's config on resume (resumable fields only). */
  readonly overrides?: ParsedArgs["overrides"];
  /** A dataset folder or a mixture file (see data.ts). */
  readonly data: string;
  /** The run folder: checkpoints/<step>/, latest, metrics.jsonl. */
  readonly out: string;
  /** Continue the run in `out` from its latest checkpoint, bit-exactly. */
  readonly resume?: boolean;
  /** Post-training: start from this checkpoint's weights (a checkpoint folder or a run folder). */
  readonly initFrom?: string;
  /** A train-tokenizer folder: the frozen Cosmos tokenizer to use. */
  readonly tokenizer?: string;
  /** A Hugging Face tokenizer.json for the task text (a1-3b); tiny configs build their own vocabulary. */
  readonly textTokenizer?: string;
  /** Aborting saves a checkpoint at the current step and stops. */
  readonly signal?: AbortSignal;
  /** Called once set up, before the first step (a resumed run starts at `startStep`). */
  readonly onStart?: (info: { readonly startStep: number; readonly steps: number; readonly config: TrainConfig }) => void;
  readonly onProgress?: (p: StepLog) => void;
  readonly onLog?: (message: string) => void;
}

/** One line of metrics.jsonl. */
export interface StepLog {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly loss_action: number;
  readonly loss_gen: number;
  readonly grad_norm: number;
  readonly param_norm: number;
  readonly lr: number;
  /** Samples per second over this step's wall time (data wait + encode + step). */
  readonly samples_per_s: number;
  readonly step_ms: number;
  /** Time the step waited for its batch (0 when prefetching kept up). */
  readonly wait_ms: number;
  readonly elapsed_s: number;
}

export interface TrainSummary {
  readonly out: string;
  /** The newest checkpoint folder. */
  readonly checkpoint: string;
  readonly startStep: number;
  readonly step: number;
  readonly steps: number;
  readonly seconds: number;
  readonly last?: StepLog;
  readonly interrupted: boolean;
}

/** Everything a run is made of once set up. */
interface Run {
  readonly cfg: TrainConfig;
  readonly startStep: number;
  readonly data: DataSummary;
  readonly text: { tokenizer: TextTokenizer; files: Readonly<Record<string, string>> };
  readonly params: Host<ModelParams>;
  readonly opt: Host<OptimState<PolicyParams>["opt"]>;
  readonly robot: string;
}

/** The step's host key: (seed, step) as the two words of a threefry key, so any step's noise is reproducible alone. */
export function stepKey(seed: number, step: number): HostTensor {
  return { dtype: "uint32", shape: [2], data: Uint32Array.of(seed >>> 0, step >>> 0) };
}

/** Keeps metrics.jsonl lines up to `step` (a resumed run rewrites what followed its checkpoint). */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  // A line cut short by a kill during the append is dropped with the rest after the checkpoint.
  const parse = (l: string): StepLog | undefined => {
    try {
      return JSON.parse(l) as StepLog;
    } catch {
      return undefined;
    }
  };
  const keep = readFileSync(path, "utf8").split("\n").filter((l) => (parse(l)?.step ?? Infinity) <= step);
  writeFileSync(path, keep.map((l) => l + "\n").join(""));
}

/** The robot with the most frames: the one robot.json describes (a post-training run has exactly one). */
function mainRobot(data: DataSummary): string {
  return Object.entries(data.robotFrames).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
}

async function setUp(opts: TrainRunOptions, groups: ReturnType<typeof readDataArgument>): Promise<Run> {
  const log = opts.onLog ?? (() => {});
  let resumed: Resumed | undefined;
  if (opts.resume) {
    const dir = latestCheckpointDir(opts.out);
    if (!dir) throw new ConfigError(`internvla train: --resume: ${opts.out} has no checkpoint (${LATEST} is missing)`, "start the run without --resume");
    log(`resuming from ${dir}`);
    resumed = await loadTrainingCheckpoint(dir);
  } else if (existsSync(join(opts.out, LATEST)) || existsSync(join(opts.out, "metrics.jsonl"))) {
    throw new ConfigError(`internvla train: ${opts.out} already holds a run`, "pass --resume to continue it, or choose another --out");
  }
  const cfg = resumed ? resumeConfig(resumed.config, opts.overrides ?? [], "internvla train --resume") : opts.config;
  const m = cfg.model;
  const data = await summariseData(groups, {
    actionMode: cfg.data.action_mode, norm: cfg.data.norm, chunk: m.chunk_size, views: m.n_views, frameGap: -FRAME_OFFSETS[0], featureStats: resumed?.featureStats,
    onProgress: (name, done, total) => done === total && log(`norm stats: ${name} (${total} episodes)`),
  });
  const initFrom = opts.initFrom ? checkpointFolder(opts.initFrom) : undefined;
  const text = chooseTextTokenizer(m, data.tasks, { checkpoint: resumed?.dir ?? initFrom, hfFile: opts.textTokenizer });
  if (resumed) {
    return { cfg, startStep: resumed.state.step, data, text, params: resumed.params, opt: resumed.opt, robot: mainRobot(data) };
  }
  if (!opts.tokenizer && !initFrom) log("no --tokenizer: the frozen Cosmos encoder keeps its random initialisation");
  const params = await initialWeights(m, cfg.train.seed, { initFrom, cosmos: opts.tokenizer });
  return { cfg, startStep: 0, data, text, params, opt: initialOptimizer<PolicyParams>(params.policy), robot: mainRobot(data) };
}

/** Prefetching batch preparation: loader batch -> model inputs -> frozen-encoder latents, one step ahead. */
function batchPipeline(loader: Loader, encoder: LatentEncoder, run: Run) {
  // Loader calls stay sequential: an in-process loader (workers 0) decodes video on this thread, one batch at a time.
  let fetched: Promise<unknown> = Promise.resolve();
  const prepare = async (): Promise<{ batch: HostBatch; latents: HostTensor }> => {
    const raw = fetched.then(() => loader.next());
    fetched = raw.catch(() => undefined);
    const batch = assembleBatch(await raw, run.cfg.model, run.text.tokenizer);
    const latents = run.cfg.model.use_gen_expert ? latentsOf(batch, await encoder.run(framesOf(batch))) : zeroLatents(batch, run.cfg.model);
    return { batch, latents };
  };
  let ahead = prepare();
  ahead.catch(() => undefined);
  return {
    /** The prepared batch of this step; starts preparing the next one unless this is the last. */
    next(last: boolean) {
      const cur = ahead;
      if (!last) {
        ahead = prepare();
        ahead.catch(() => undefined);
      }
      return cur;
    },
  };
}

type LatentEncoder = ReturnType<typeof cachedEncoder>;

/** Frames per frozen-encoder call: small enough that a batch's few new frames waste little padding. */
const ENCODE_CHUNK = 16;

/** The run's workers: loader (positioned after the samples already drawn), frozen encoder (compiled, and behind the latent cache), stateful step. */
interface Workers {
  readonly loader: Loader;
  readonly encoder: FnRunner<Tensor, Tensor>;
  readonly latents: LatentEncoder;
  readonly stepper: StepRunner<OptimState<PolicyParams>, PolicyInputs, PolicyMetrics>;
}

async function openWorkers(run: Run, groups: readonly PipelineGroup[]): Promise<Workers> {
  const { cfg } = run;
  const spec: PipelineSpec = {
    groups, seed: cfg.train.seed, stats: run.data.featureStats,
    config: { layout: sampleLayout(cfg.model), actionMode: cfg.data.action_mode, norm: cfg.data.norm, frameCacheBytes: cfg.data.frame_cache_mb * 2 ** 20 },
  };
  const B = cfg.train.batch_size;
  const loader = await Loader.create(spec, { batchSize: B, workers: cfg.data.workers, prefetch: cfg.data.prefetch, skip: run.startStep * B });
  const encoder = fnRunner(cfg.train.engine, encodeStep(cfg.model), run.params.cosmos, cfg.train.threads);
  const latents = cachedEncoder((frames) => encoder.run(frames as never) as Promise<HostTensor>, { chunk: ENCODE_CHUNK, maxBytes: cfg.data.latent_cache_mb * 2 ** 20 });
  const init = { params: run.params.policy, opt: run.opt } as Host<OptimState<PolicyParams>>;
  return { loader, encoder, latents, stepper: stepRunner(cfg.train.engine, policyStep(cfg), init, cfg.train.threads) };
}

/** Saves the stepper's current state as checkpoint `step` of the run. */
async function saveRun(opts: TrainRunOptions, run: Run, w: Workers, step: number, metrics: Record<string, number>): Promise<string> {
  const st = await w.stepper.state();
  const ck: Checkpoint = {
    step, config: run.cfg, params: { policy: st.params, cosmos: run.params.cosmos } as Host<ModelParams>, opt: st.opt, data: run.data, robot: run.robot,
    tokenizerFiles: run.text.files, draws: step * run.cfg.train.batch_size, metrics,
  };
  return saveCheckpoint(opts.out, ck, run.cfg.checkpoint.keep);
}

/** Runs steps from run.startStep until the end or an abort; logs, reports and checkpoints. */
async function stepLoop(opts: TrainRunOptions, run: Run, w: Workers, t0: number): Promise<{ step: number; last?: StepLog; checkpoint: string }> {
  const { cfg } = run;
  const B = cfg.train.batch_size;
  const s = cfg.schedule;
  const lrAt = cosineDecayWithWarmup({ peakLr: s.peak_lr, numWarmupSteps: s.warmup_steps, numDecaySteps: s.decay_steps, decayLr: s.decay_lr }, cfg.train.steps);
  const metricsPath = join(opts.out, "metrics.jsonl");
  let step = run.startStep;
  let last: StepLog | undefined;
  let checkpoint = step > 0 ? latestCheckpointDir(opts.out)! : "";
  let savedAt = step > 0 ? step : -1;
  const batches = step < cfg.train.steps ? batchPipeline(w.loader, w.latents, run) : undefined;
  let tick = performance.now();
  while (step < cfg.train.steps && !opts.signal?.aborted) {
    const w0 = performance.now();
    const { batch, latents } = await batches!.next(step + 1 >= cfg.train.steps);
    const wait = performance.now() - w0;
    const lr = lrAt(step);
    const out = await w.stepper.run({ batch, latents, key: stepKey(cfg.train.seed, step), lr: { dtype: "float32", shape: [], data: Float32Array.of(lr) } } as Host<PolicyInputs>);
    step++;
    const now = performance.now();
    last = {
      step, steps: cfg.train.steps, loss: scalar(out.loss), loss_action: scalar(out.lossAction), loss_gen: scalar(out.lossGen),
      grad_norm: scalar(out.gradNorm), param_norm: scalar(out.paramNorm), lr, samples_per_s: (B * 1000) / (now - tick), step_ms: now - tick,
      wait_ms: wait, elapsed_s: (now - t0) / 1000,
    };
    tick = now;
    if (step % cfg.log.every === 0 || step === cfg.train.steps) appendFileSync(metricsPath, JSON.stringify(last) + "\n");
    opts.onProgress?.(last);
    if (step % cfg.checkpoint.every === 0 || step === cfg.train.steps) {
      checkpoint = await saveRun(opts, run, w, step, { ...last });
      savedAt = step;
    }
  }
  if (savedAt !== step) checkpoint = await saveRun(opts, run, w, step, last ? { ...last } : {});
  return { step, last, checkpoint };
}

/**
 * Trains the policy (see TrainRunOptions). Batches are prepared (assembled, Cosmos-encoded) one step ahead
 * while the step runs; a checkpoint is written every `checkpoint.every` steps, at the end and on abort.
 */
export async function train(opts: TrainRunOptions): Promise<TrainSummary> {
  const t0 = performance.now();
  const groups = readDataArgument(opts.data, "internvla train");
  const run = await setUp(opts, groups);
  mkdirSync(opts.out, { recursive: true });
  truncateMetrics(join(opts.out, "metrics.jsonl"), run.startStep);
  const w = await openWorkers(run, groups);
  opts.onStart?.({ startStep: run.startStep, steps: run.cfg.train.steps, config: run.cfg });
  try {
    const { step, last, checkpoint } = await stepLoop(opts, run, w, t0);
    const steps = run.cfg.train.steps;
    return { out: opts.out, checkpoint, startStep: run.startStep, step, steps, seconds: (performance.now() - t0) / 1000, last, interrupted: step < steps };
  } finally {
    await w.loader.close();
    await w.encoder.dispose();
    await w.stepper.dispose();
  }
}
