// Dataset generation: scripted episodes in worker threads (one simulator each), kept in seed order, written as LeRobot v3.0.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { ensureCodecs } from "../../data/lerobot/video.ts";
import { LeRobotWriter, type WriterSpec } from "../../data/lerobot/writer.ts";
import { ConfigError } from "../../tensor/errors.ts";
import { resolveImageSize, type EnvConfig } from "../env.ts";
import { SimError } from "../mujoco.ts";
import { encodeGif, montage } from "../render/image.ts";
import { getRobot, type RobotType } from "../robots/index.ts";
import { PHYSICS } from "../scene/build.ts";
import { type Level, type Split } from "../scene/colours.ts";
import { resolveRobot } from "../tasks/common.ts";
import { getTask } from "../tasks/index.ts";
import { writerSpec } from "./features.ts";
import { EpisodePool } from "./pool.ts";
import { type EpisodeConfig, type EpisodeResult } from "./protocol.ts";

export interface GenerateOptions {
  readonly out: string;
  readonly task: string;
  readonly robot?: RobotType;
  readonly level?: Level;
  readonly split?: Split;
  /** Episodes to keep (failed expert runs are dropped and do not count). */
  readonly episodes: number;
  /** Seed of the first candidate episode; candidate j uses seed + j. */
  readonly seed?: number;
  readonly imageSize?: EnvConfig["imageSize"];
  readonly cameras?: readonly string[];
  readonly controlHz?: number;
  /** Worker processes, each with its own MuJoCo (default: one per core). */
  readonly workers?: number;
  readonly codec?: "av1" | "h264";
  /** A worker with no result for this long is taken as stuck, killed and its episode rerun (default 120 s). */
  readonly stallSeconds?: number;
  /** Continue a partial dataset in `out` (same settings). */
  readonly resume?: boolean;
  /** Write animated GIFs (all cameras side by side) of the first N kept episodes to `<out>-preview/`. */
  readonly preview?: number;
  /** Aborting stops after the episode being written; the folder stays a partial dataset that `resume` completes. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: GenerateProgress) => void;
}

export interface GenerateProgress {
  readonly written: number;
  readonly target: number;
  readonly attempts: number;
  readonly failures: number;
}

export interface GenerateSummary extends GenerateProgress {
  readonly dir: string;
  /** Kept / attempted episodes over the whole dataset (the expert's success rate on these seeds). */
  readonly expertSuccessRate: number;
  readonly interrupted: boolean;
  /** Scene seed of every kept episode, in dataset order (Environment.reset(seed) replays its scene). */
  readonly seeds: readonly number[];
  /**
   * Where this run's time went: wall seconds the workers spent simulating and rendering, and encoding videos with
   * image statistics (summed over workers), and the seconds the writer spent staging episodes and finalising.
   */
  readonly seconds: RunSeconds;
}

export interface RunSeconds {
  simulate: number;
  encode: number;
  write: number;
  finalize: number;
}

/** The generator's own record next to the dataset: settings, kept seeds and the candidate cursor (for resume). */
interface Progress {
  readonly format: "internvla-sim-generate/1";
  readonly config: EpisodeConfig & { readonly seed: number; readonly codec: string };
  readonly target: number;
  seeds: number[];
  next: number;
  pending: number | null;
  attempts: number;
  failures: number;
  complete: boolean;
}

export const PROGRESS_FILE = "meta/sim_generate.json";
/** An episode takes 1-20 s on a loaded 2-core machine; two minutes without a result means a stuck encoder. */
const STALL_SECONDS = 120;

function saveProgress(dir: string, p: Progress): void {
  const path = join(dir, PROGRESS_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(p, null, 1));
  renameSync(`${path}.tmp`, path);
}

/** Loads the progress of a partial dataset and reconciles it with the episodes the writer holds. */
function resumeProgress(dir: string, fresh: Progress, written: number): Progress {
  const path = join(dir, PROGRESS_FILE);
  if (!existsSync(path)) throw new ConfigError(`generate --resume: ${path} is missing; this partial dataset was not written by internvla generate`);
  const old = JSON.parse(readFileSync(path, "utf8")) as Progress;
  if (JSON.stringify(old.config) !== JSON.stringify(fresh.config)) {
    throw new ConfigError(`generate --resume: settings differ from the run being resumed; started with ${JSON.stringify(old.config)}, got ${JSON.stringify(fresh.config)}`,
      "resume with the same task, robot, level, split, seed, image size, cameras and codec");
  }
  // A crash between staging an episode and saving progress leaves `pending` as the last written episode's candidate.
  if (written === old.seeds.length + 1 && old.pending !== null) {
    old.seeds.push(old.config.seed + old.pending);
    old.next = old.pending + 1;
  } else if (written !== old.seeds.length) {
    throw new SimError(`generate --resume: the dataset holds ${written} episodes but ${PROGRESS_FILE} lists ${old.seeds.length}`);
  }
  return { ...old, target: fresh.target, pending: null };
}

/** Generates (or completes) a dataset; returns when it is finalised, or partial after an abort. */
export async function generateDataset(opts: GenerateOptions): Promise<GenerateSummary> {
  const task = getTask(opts.task);
  const robot = getRobot(resolveRobot(task, opts));
  const { width, height } = resolveImageSize(opts.imageSize, "generate");
  if (!Number.isInteger(opts.episodes) || opts.episodes < 1) throw new ConfigError(`generate: episodes must be a positive integer; got ${opts.episodes}`);
  const cameras = opts.cameras ?? robot.cameras;
  const config: Progress["config"] = {
    task: task.name, robot: robot.name, level: opts.level ?? "clean", split: opts.split ?? "train", width, height, cameras,
    controlHz: opts.controlHz ?? PHYSICS.controlHz, seed: opts.seed ?? 0, codec: opts.codec ?? "av1",
  };
  if (!opts.resume && existsSync(join(opts.out, "meta", "PARTIAL"))) {
    throw new ConfigError(`generate: ${opts.out} holds a partial dataset`, "rerun with --resume and the same settings to complete it, or delete the folder");
  }
  const spec = writerSpec(robot, { fps: config.controlHz, width, height, cameras, codec: opts.codec });
  const writer = await LeRobotWriter.create(opts.out, spec, { resume: opts.resume });
  const fresh: Progress = { format: "internvla-sim-generate/1", config, target: opts.episodes, seeds: [], next: 0, pending: null, attempts: 0, failures: 0, complete: false };
  const progress = opts.resume ? resumeProgress(opts.out, fresh, writer.episodesWritten) : fresh;
  saveProgress(opts.out, progress);
  const seconds: RunSeconds = { simulate: 0, encode: 0, write: 0, finalize: 0 };
  const run: Run = { opts, writer, progress, spec, seconds };
  const interrupted = progress.seeds.length < progress.target ? await runWorkers(run) : false;
  if (!interrupted) {
    const t0 = performance.now();
    await writer.finalize();
    seconds.finalize = (performance.now() - t0) / 1000;
    progress.complete = true;
    saveProgress(opts.out, progress);
  }
  const { seeds, attempts, failures, target } = progress;
  return { dir: opts.out, written: seeds.length, target, attempts, failures, expertSuccessRate: attempts > 0 ? seeds.length / attempts : 1, interrupted, seeds, seconds };
}

/** One generation run: its options, writer, persisted progress, the dataset spec and the time spent so far. */
interface Run {
  readonly opts: GenerateOptions;
  readonly writer: LeRobotWriter;
  readonly progress: Progress;
  readonly spec: WriterSpec;
  readonly seconds: RunSeconds;
}

/** Runs candidates on the worker processes and commits results in candidate order; returns true when aborted. */
async function runWorkers(run: Run): Promise<boolean> {
  const { opts, progress } = run;
  const count = Math.max(1, Math.min(opts.workers ?? availableParallelism(), progress.target - progress.seeds.length));
  // Codec setup here sets SVT_LOG in the environment the worker processes inherit (see ensureCodecs).
  ensureCodecs();
  const maxCandidates = progress.next + 4 * (progress.target - progress.seeds.length) + 20;
  const results = new Map<number, EpisodeResult>();
  let issued = progress.next;
  let chain = Promise.resolve();
  let pool: EpisodePool | undefined;
  let quiet: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (e: unknown): void => reject(e instanceof Error ? e : new Error(String(e)));
      quiet = progressDeadline(opts.stallSeconds ?? STALL_SECONDS, fail);
      const issue = (): void => {
        const p = pool!;
        const finished = progress.seeds.length >= progress.target || opts.signal?.aborted;
        // Bounded look-ahead: recorded episodes wait in memory until the writer (one at a time) takes them.
        const lookahead = 2 * p.size;
        while (!finished && p.idle > 0 && issued - progress.next < lookahead && progress.seeds.length + (issued - progress.next) < progress.target) {
          if (issued >= maxCandidates) return fail(new SimError(`generate: only ${progress.seeds.length} of ${progress.target} episodes succeeded in ${issued} attempts; the ${progress.config.task} expert fails too often on ${progress.config.robot}`));
          // Frames travel back only while the candidate could still be one of the first `preview` kept episodes.
          const keepFrames = progress.seeds.length < (opts.preview ?? 0);
          p.run({ type: "run", candidate: issued, seed: progress.config.seed + issued, config: progress.config, spec: run.spec, keepFrames });
          issued++;
        }
        if (p.idle === p.size && (finished || issued === progress.next)) resolve();
      };
      const onResult = (candidate: number, result: EpisodeResult): void => {
        quiet?.refresh();
        results.set(candidate, result);
        run.seconds.simulate += result.seconds.simulate;
        run.seconds.encode += result.seconds.encode;
        chain = chain.then(() => commit(run, results)).then(issue, fail);
      };
      EpisodePool.start(count, opts.stallSeconds ?? STALL_SECONDS, { onResult, onError: fail }).then((p) => {
        pool = p;
        issue();
      }, fail);
    });
    await chain;
  } finally {
    clearTimeout(quiet);
    await pool?.close();
  }
  return progress.seeds.length < progress.target;
}

/**
 * The last line of defence against a hang the per-worker watchdog cannot see (observed once: a worker stuck in the
 * encoder after its job was accounted for, every slot idle, the run waiting forever): no result from any worker for
 * twice the stall limit fails the run, which stays a partial dataset that `resume` continues.
 */
function progressDeadline(stallSeconds: number, fail: (e: Error) => void): NodeJS.Timeout {
  const seconds = 2 * stallSeconds + 10;
  return setTimeout(() => fail(new SimError(
    `generate: no episode finished in ${seconds.toFixed(0)} s; a worker process is stuck (the SVT-AV1 encoder now and then deadlocks)`,
    "rerun with --resume to continue from the last finished episode, or use --codec h264",
  )), seconds * 1000);
}

/** Writes every result that is next in candidate order (kept if successful and still needed). */
async function commit(run: Run, results: Map<number, EpisodeResult>): Promise<void> {
  const { opts, progress } = run;
  // After an abort or once the target is reached, later candidates stay uncommitted (resume reruns them).
  while (results.has(progress.next) && !opts.signal?.aborted && progress.seeds.length < progress.target) {
    const res = results.get(progress.next)!;
    results.delete(progress.next);
    progress.attempts++;
    if (res.success && res.prepared) {
      progress.pending = progress.next;
      saveProgress(opts.out, progress);
      const t0 = performance.now();
      await run.writer.addPrepared(res.prepared);
      run.seconds.write += (performance.now() - t0) / 1000;
      progress.seeds.push(res.seed);
      if (progress.seeds.length <= (opts.preview ?? 0)) {
        if (!res.frames) throw new SimError(`internal: generate: episode seed ${res.seed} is a preview episode but came back without frames`);
        writePreview(opts.out, progress.seeds.length - 1, res.frames, progress.config);
      }
    } else progress.failures++;
    progress.pending = null;
    progress.next++;
    saveProgress(opts.out, progress);
    opts.onProgress?.({ written: progress.seeds.length, target: progress.target, attempts: progress.attempts, failures: progress.failures });
  }
}

/** An animated GIF of one episode with all cameras side by side, in `<out>-preview/`. */
function writePreview(out: string, index: number, cameraFrames: Record<string, Uint8Array[]>, config: EpisodeConfig): void {
  const dir = `${out.replace(/\/+$/, "")}-preview`;
  mkdirSync(dir, { recursive: true });
  const length = cameraFrames[config.cameras[0]].length;
  const frames = Array.from({ length }, (_, t) =>
    montage(config.cameras.map((c) => ({ rgb: cameraFrames[c][t], width: config.width, height: config.height }))),
  );
  const gif = encodeGif(frames.map((f) => f.rgb), frames[0].width, frames[0].height, config.controlHz);
  writeFileSync(join(dir, `episode_${String(index).padStart(6, "0")}.gif`), gif);
}
