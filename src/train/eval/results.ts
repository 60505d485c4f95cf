// The results JSON of an evaluation: success per task and overall, and everything needed to reproduce the run.
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ConfigError } from "../../tensor/errors.ts";
import { type PolicyMetadata } from "../../serve/policy.ts";
import { type TaskEval, overallSuccess } from "./evaluate.ts";
import { type OpenLoopTask } from "./open-loop.ts";
import { type RateInterval } from "./stats.ts";

export const RESULTS_FORMAT = "internvla-eval-results/1";

/** The code that ran: git commit (with a dirty flag) when the tree is a checkout, and the package version. */
export interface CodeVersion {
  readonly package: string;
  readonly commit: string | null;
  readonly dirty: boolean | null;
}

/** A checkpoint pinned by content: sha256 of every file, and one hash over all of them. */
export interface CheckpointPin {
  readonly dir: string;
  readonly sha256: string;
  readonly files: readonly { readonly path: string; readonly bytes: number; readonly sha256: string }[];
}

/** Which policy was evaluated. */
export interface PolicySource {
  readonly kind: "checkpoint" | "server" | "random" | "other";
  readonly checkpoint?: CheckpointPin;
  readonly server?: string;
  /** The policy's metadata (the server's handshake frame for a remote policy). */
  readonly metadata: PolicyMetadata;
  /** The checkpoint's model config (config.json), when there is one. */
  readonly modelConfig?: unknown;
  /** Whether gripper actions were thresholded at 0.5 (RoboTwin's evaluation does). */
  readonly binarizeGrippers?: boolean;
}

export interface EpisodeSummary {
  readonly seed: number;
  readonly success: boolean;
  readonly steps: number;
  readonly inferences: number;
  readonly meanInferMs: number;
}

/** A task's evaluation as recorded: everything but the episode media. */
export interface TaskResults extends Omit<TaskEval, "episodes"> {
  readonly episodes: readonly EpisodeSummary[];
}

/** Inference latency over every policy call, and the chunk rate it allows. */
export interface LatencySummary {
  readonly calls: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** 1000 / mean: action chunks per second. */
  readonly chunkHz: number;
}

export interface EvalResults {
  readonly format: typeof RESULTS_FORMAT;
  readonly createdAt: string;
  readonly code: CodeVersion;
  /** The command line that produced the results (argv after `internvla`). */
  readonly command: readonly string[];
  readonly policy: PolicySource;
  readonly tasks: readonly TaskResults[];
  readonly overall: { readonly all: RateInterval; readonly byKind: Readonly<Record<string, RateInterval>> };
  readonly latency: LatencySummary;
  readonly wallSeconds: number;
  /** Open-loop joint error along expert episodes of the same seeds, when it was measured. */
  readonly openLoop?: readonly OpenLoopTask[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  return sorted[i] + (sorted[Math.min(i + 1, sorted.length - 1)] - sorted[i]) * (pos - i);
}

/** Latency statistics of a list of call durations in milliseconds. */
export function latencySummary(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / Math.max(ms.length, 1);
  return { calls: ms.length, meanMs: mean, p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95), chunkHz: ms.length > 0 ? 1000 / mean : NaN };
}

/** Assembles the results record from task evaluations (episode media are left out; the report keeps them). */
export function buildResults(
  tasks: readonly TaskEval[],
  run: { code: CodeVersion; command: readonly string[]; policy: PolicySource; wallSeconds: number; createdAt?: Date; openLoop?: readonly OpenLoopTask[] },
): EvalResults {
  const overall = overallSuccess(tasks);
  return {
    format: RESULTS_FORMAT,
    createdAt: (run.createdAt ?? new Date()).toISOString(),
    code: run.code,
    command: run.command,
    policy: run.policy,
    tasks: tasks.map((t) => ({
      config: t.config, kind: t.kind, robot: t.robot, seeds: t.seeds, skippedSeeds: t.skippedSeeds, success: t.success,
      episodes: t.episodes.map((e) => ({
        seed: e.seed, success: e.success, steps: e.steps, inferences: e.inferMs.length,
        meanInferMs: e.inferMs.reduce((a, b) => a + b, 0) / Math.max(e.inferMs.length, 1),
      })),
    })),
    overall: { all: overall.all, byKind: overall.byKind as Record<string, RateInterval> },
    latency: latencySummary(tasks.flatMap((t) => t.episodes.flatMap((e) => e.inferMs))),
    wallSeconds: run.wallSeconds,
    ...(run.openLoop ? { openLoop: run.openLoop } : {}),
  };
}

/** NaN (a rate of 0 episodes) is written as null, so the file stays valid JSON. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1);
}

/** Writes the results atomically (temp file, then rename). */
export function writeResults(path: string, results: EvalResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, toJson(results) + "\n");
  renameSync(`${path}.tmp`, path);
}

/** Reads a results file, checking its format. */
export function readResults(path: string): EvalResults {
  let parsed: { format?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as { format?: unknown };
  } catch (e) {
    throw new ConfigError(`${path}: not a results JSON file (${(e as Error).message})`);
  }
  if (parsed.format !== RESULTS_FORMAT) {
    throw new ConfigError(`${path}: results format ${JSON.stringify(parsed.format)}, expected ${RESULTS_FORMAT}`, "re-run internvla eval with this version");
  }
  return parsed as EvalResults;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path).on("data", (d) => h.update(d)).on("error", reject).on("end", () => resolve(h.digest("hex")));
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

/** Hashes every file of a checkpoint folder (sorted by path); the overall hash covers paths and contents. */
export async function pinCheckpoint(dir: string): Promise<CheckpointPin> {
  let paths: string[];
  try {
    paths = listFiles(dir).sort();
  } catch (e) {
    throw new ConfigError(`eval: cannot read checkpoint folder ${dir} (${(e as Error).message})`);
  }
  const files = [];
  for (const p of paths) files.push({ path: relative(dir, p), bytes: statSync(p).size, sha256: await sha256File(p) });
  const all = createHash("sha256");
  for (const f of files) all.update(`${f.path}\0${f.sha256}\n`);
  return { dir, sha256: all.digest("hex"), files };
}
