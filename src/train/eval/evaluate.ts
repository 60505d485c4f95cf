// Closed-loop evaluation of a Policy on simulator tasks: expert-checked seeds, episodes, success rates with intervals.
import { ConfigError } from "../../tensor/errors.ts";
import { createEnvironment, getTask, loadMujoco, runEpisode, type Level, type RobotType, type Split, type TaskKind } from "../../sim/index.ts";
import { type Policy } from "../../serve/policy.ts";
import { runPolicyEpisode, type EpisodeResult, type ForesightFn } from "./episode.ts";
import { type RateInterval, wilsonInterval } from "./stats.ts";

/** The official RoboTwin evaluation executes 30 of the 50 actions of a chunk before replanning. */
export const ROBOTWIN_ACTION_STEPS = { executed: 30, chunk: 50 } as const;

/** n_action_steps for a chunk size: 30 of 50, scaled (16 -> 10), at least 1. */
export function defaultActionSteps(chunk: number): number {
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new ConfigError(`defaultActionSteps: chunk must be a positive integer, got ${chunk}`);
  return Math.max(1, Math.round((chunk * ROBOTWIN_ACTION_STEPS.executed) / ROBOTWIN_ACTION_STEPS.chunk));
}

/** Everything that fixes an evaluation of one task (stored in the results JSON). */
export interface TaskEvalConfig {
  readonly task: string;
  /** Default: the task's first robot. */
  readonly robot?: RobotType;
  readonly level: Level;
  readonly split: Split;
  readonly episodes: number;
  /** Scene seed of the first candidate episode; candidate j uses seed + j. */
  readonly seed: number;
  /** Run the scripted expert on each candidate seed and keep only seeds it solves (RoboTwin's expert check). */
  readonly expertCheck: boolean;
  readonly imageSize: number;
  readonly nActionSteps: number;
  readonly frameGap: number;
}

/** How the episodes are recorded for the report. */
export interface RecordOptions {
  /** Keep every k-th frame for each episode's GIF (0 = no videos). */
  readonly videoEvery?: number;
  readonly foresight?: ForesightFn;
  readonly foresightPerEpisode?: number;
}

/** "expert-check": `done` of `total` seeds found after `checked` candidates; "episodes": `done` of `total` run. */
export interface EvalProgress {
  readonly task: string;
  readonly phase: "expert-check" | "episodes";
  readonly done: number;
  readonly total: number;
  readonly successes: number;
  readonly checked?: number;
}

export interface TaskEval {
  readonly config: TaskEvalConfig;
  readonly kind: TaskKind;
  readonly robot: RobotType;
  /** The evaluated scene seeds, in order. */
  readonly seeds: readonly number[];
  /** Candidate seeds the expert could not solve (skipped). */
  readonly skippedSeeds: readonly number[];
  readonly episodes: readonly EpisodeResult[];
  readonly success: RateInterval;
}

/** Checks a task config, naming the field and the rule. */
export function validateTaskEvalConfig(c: TaskEvalConfig): void {
  const where = `eval ${c.task}`;
  getTask(c.task);
  const rules: [boolean, string][] = [
    [Number.isInteger(c.episodes) && c.episodes >= 1, `episodes must be an integer >= 1, got ${c.episodes}`],
    [Number.isInteger(c.seed) && c.seed >= 0, `seed must be an integer >= 0, got ${c.seed}`],
    [Number.isInteger(c.nActionSteps) && c.nActionSteps >= 1, `n_action_steps must be an integer >= 1, got ${c.nActionSteps}`],
    [Number.isInteger(c.frameGap) && c.frameGap >= 1, `frame gap must be an integer >= 1, got ${c.frameGap}`],
  ];
  for (const [ok, msg] of rules) if (!ok) throw new ConfigError(`${where}: ${msg}`);
}

/** The first `episodes` candidate seeds that the scripted expert solves (physics only, no cameras). */
export async function expertSeeds(c: TaskEvalConfig, onChecked?: (checked: number, kept: number) => void): Promise<{ seeds: number[]; skipped: number[] }> {
  const mj = await loadMujoco();
  const def = getTask(c.task);
  const seeds: number[] = [];
  const skipped: number[] = [];
  const limit = 3 * c.episodes + 10;
  onChecked?.(0, 0);
  for (let j = 0; seeds.length < c.episodes; j++) {
    if (j >= limit) {
      throw new ConfigError(`eval ${c.task}: the scripted expert solved only ${seeds.length} of ${limit} candidate seeds from ${c.seed}`, "evaluate without the expert check (--expert-check=false)");
    }
    const seed = c.seed + j;
    const rec = runEpisode(mj, def.generate(seed, c.level, { robot: c.robot, split: c.split }));
    (rec.success ? seeds : skipped).push(seed);
    onChecked?.(j + 1, seeds.length);
  }
  return { seeds, skipped };
}

/** Evaluates `policy` on one task: one episode per seed, reset before each. */
export async function evaluateTask(policy: Policy, c: TaskEvalConfig, rec: RecordOptions = {}, onProgress?: (p: EvalProgress) => void): Promise<TaskEval> {
  validateTaskEvalConfig(c);
  const def = getTask(c.task);
  const { seeds, skipped } = c.expertCheck
    ? await expertSeeds(c, (checked, kept) => onProgress?.({ task: c.task, phase: "expert-check", done: kept, total: c.episodes, successes: 0, checked }))
    : { seeds: Array.from({ length: c.episodes }, (_, j) => c.seed + j), skipped: [] };
  const env = await createEnvironment({ task: c.task, robot: c.robot, level: c.level, split: c.split, imageSize: c.imageSize });
  const episodes: EpisodeResult[] = [];
  onProgress?.({ task: c.task, phase: "episodes", done: 0, total: seeds.length, successes: 0 });
  try {
    for (const seed of seeds) {
      episodes.push(await runPolicyEpisode(env, policy, seed, {
        nActionSteps: c.nActionSteps, frameGap: c.frameGap, videoEvery: rec.videoEvery ?? 0,
        foresight: rec.foresight, foresightPerEpisode: rec.foresightPerEpisode ?? 2,
      }));
      const successes = episodes.filter((e) => e.success).length;
      onProgress?.({ task: c.task, phase: "episodes", done: episodes.length, total: seeds.length, successes });
    }
  } finally {
    env.close();
  }
  const successes = episodes.filter((e) => e.success).length;
  return { config: c, kind: def.kind, robot: env.robot.name, seeds, skippedSeeds: skipped, episodes, success: wilsonInterval(successes, episodes.length) };
}

/** Success over several tasks (episodes pooled) and by task kind. */
export function overallSuccess(tasks: readonly TaskEval[]): { all: RateInterval; byKind: Partial<Record<TaskKind, RateInterval>> } {
  const pool = (ts: readonly TaskEval[]) => wilsonInterval(ts.reduce((n, t) => n + t.success.successes, 0), ts.reduce((n, t) => n + t.success.trials, 0));
  const kinds = [...new Set(tasks.map((t) => t.kind))];
  return { all: pool(tasks), byKind: Object.fromEntries(kinds.map((k) => [k, pool(tasks.filter((t) => t.kind === k))])) };
}
