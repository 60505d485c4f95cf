// Named experiments (configs/experiments/*.json): data -> tokenizer -> pre-train -> post-train -> closed-loop eval.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../tensor/errors.ts";
import { closest } from "../cli/args.ts";
import { type Level, type RobotType, type Split } from "../sim/index.ts";
import { type TaskEvalConfig } from "./eval/evaluate.ts";
import { type EvalResults } from "./eval/results.ts";

export const EXPERIMENT_FORMAT = "internvla-experiment/1";

/** One generated dataset: scripted episodes of a task (see `internvla generate`). */
export interface DataSpec {
  readonly task: string;
  readonly robot: RobotType;
  readonly level: Level;
  readonly split: Split;
  readonly episodes: number;
  /** Scene seed of the first candidate episode. */
  readonly seed: number;
}

/** One level of the data pyramid: drawn by weight; its datasets in proportion to frames^gamma (the trainer's mixture). */
export interface DataGroup {
  readonly name: string;
  readonly weight: number;
  readonly gamma: number;
  readonly datasets: readonly DataSpec[];
}

/** A group of generated dataset folders, as a mixture file lists them. */
export interface DataGroupDirs {
  readonly name: string;
  readonly weight: number;
  readonly gamma: number;
  readonly roots: readonly string[];
}

/** A training stage: steps plus extra `internvla train` flags (typed overrides such as `--train.batch_size=8`). */
export interface TrainStage {
  readonly steps: number;
  readonly args: readonly string[];
}

export interface EvalTaskSpec {
  readonly task: string;
  readonly level: Level;
  readonly split: Split;
}

export interface ExperimentConfig {
  readonly format: typeof EXPERIMENT_FORMAT;
  readonly name: string;
  readonly description: string;
  /** Seed of the training runs (data order, init, noise). */
  readonly seed: number;
  /** Model preset (`internvla train --config`), and its overrides as `--model.<key>=value` flags. */
  readonly model: { readonly preset: string; readonly args: readonly string[] };
  readonly data: {
    /** Camera image side of every dataset (and of the evaluation cameras). */
    readonly imageSize: number;
    /** The pre-training pyramid (several robots and tasks); empty when there is no pre-training. */
    readonly pretrain: readonly DataGroup[];
    /** The small target set the policy is post-trained on (one group, frames drawn in proportion to size). */
    readonly posttrain: readonly DataSpec[];
  };
  /** Image tokenizer training (`internvla train-tokenizer`) on every dataset's frames. */
  readonly tokenizer: TrainStage;
  /** null: no pre-training (post-train from scratch). */
  readonly pretrain: TrainStage | null;
  readonly posttrain: TrainStage;
  readonly eval: {
    readonly tasks: readonly EvalTaskSpec[];
    readonly episodes: number;
    /** First evaluation scene seed: keep it away from the training seeds. */
    readonly seed: number;
    /** null: 30 of 50, scaled to the chunk. */
    readonly nActionSteps: number | null;
    readonly expertCheck: boolean;
    /** Also evaluate the random-action baseline on the same seeds. */
    readonly baseline: boolean;
  };
}

/** A named list of experiments compared in one table. */
export interface ExperimentSet {
  readonly experiments: readonly string[];
  /** The row the others are compared with. */
  readonly reference: string;
  readonly description: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Deep merge for `extends`: objects merge key by key, anything else (arrays, null) replaces. */
export function mergeConfig(base: Json, over: Json): Json {
  if (typeof base !== "object" || base === null || Array.isArray(base) || typeof over !== "object" || over === null || Array.isArray(over)) return over;
  const out: { [k: string]: Json } = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeConfig(base[k], v) : v;
  return out;
}

function fail(where: string, msg: string): never {
  throw new ConfigError(`${where}: ${msg}`);
}

function checkInt(v: unknown, min: number, where: string, field: string): void {
  if (!Number.isInteger(v) || (v as number) < min) fail(where, `${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

/** Checks every field of an experiment config, naming the field and the rule. */
export function validateExperiment(c: ExperimentConfig, where: string): void {
  if (c.format !== EXPERIMENT_FORMAT) fail(where, `format must be "${EXPERIMENT_FORMAT}", got ${JSON.stringify(c.format)}`);
  if (typeof c.name !== "string" || !/^[a-z0-9-]+$/.test(c.name)) fail(where, `name must be lower-case letters, digits and dashes, got ${JSON.stringify(c.name)}`);
  checkInt(c.seed, 0, where, "seed");
  checkInt(c.data.imageSize, 64, where, "data.imageSize");
  c.data.pretrain.forEach((g, i) => {
    if (typeof g.name !== "string" || !(g.weight > 0) || !(g.gamma >= 0) || !Array.isArray(g.datasets) || g.datasets.length === 0) {
      fail(where, `data.pretrain[${i}] needs a name, a weight > 0, a gamma >= 0 and a non-empty datasets list`);
    }
  });
  const specs = [
    ...c.data.pretrain.flatMap((g, i) => g.datasets.map((d, j) => [d, `data.pretrain[${i}].datasets[${j}]`] as const)),
    ...c.data.posttrain.map((d, i) => [d, `data.posttrain[${i}]`] as const),
  ];
  for (const [d, f] of specs) {
    checkInt(d.episodes, 1, where, `${f}.episodes`);
    checkInt(d.seed, 0, where, `${f}.seed`);
    if (!["clean", "randomised"].includes(d.level)) fail(where, `${f}.level must be clean or randomised, got ${JSON.stringify(d.level)}`);
  }
  if (c.data.posttrain.length === 0) fail(where, "data.posttrain must list at least one dataset");
  if (c.pretrain && c.data.pretrain.length === 0) fail(where, "pretrain is set but data.pretrain is empty (set pretrain to null to post-train from scratch)");
  for (const [s, f] of [[c.tokenizer, "tokenizer"], [c.pretrain, "pretrain"], [c.posttrain, "posttrain"]] as const) {
    if (s) checkInt(s.steps, 1, where, `${f}.steps`);
  }
  checkInt(c.eval.episodes, 1, where, "eval.episodes");
  checkInt(c.eval.seed, 0, where, "eval.seed");
  if (c.eval.nActionSteps !== null) checkInt(c.eval.nActionSteps, 1, where, "eval.nActionSteps");
  if (c.eval.tasks.length === 0) fail(where, "eval.tasks must list at least one task");
  const trainSeeds = specs.map(([d]) => [d.seed, d.seed + 3 * d.episodes + 10] as const);
  if (trainSeeds.some(([lo, hi]) => c.eval.seed < hi && c.eval.seed + 3 * c.eval.episodes + 10 > lo)) {
    fail(where, `eval.seed ${c.eval.seed} overlaps the seeds of a training dataset; evaluate on unseen scenes (e.g. eval.seed 100000)`);
  }
}

/** Reads configs/experiments/NAME.json, resolving `extends` (a base experiment's name) recursively. */
export function loadExperiment(root: string, name: string, seen: readonly string[] = []): ExperimentConfig {
  const path = join(root, `${name}.json`);
  if (!existsSync(path)) {
    const names = existsSync(root) ? readdirSync(root).filter((f) => f.endsWith(".json") && f !== "sets.json").map((f) => f.slice(0, -5)) : [];
    const guess = closest(name, names);
    throw new ConfigError(`experiment: no experiment "${name}" in ${root}${guess ? ` (did you mean ${guess}?)` : ""}; known: ${names.join(", ")}`);
  }
  if (seen.includes(name)) throw new ConfigError(`experiment: ${path} extends itself through ${seen.join(" -> ")}`);
  let raw: { extends?: string } & { [k: string]: Json };
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`experiment: ${path} is not valid JSON (${(e as Error).message})`);
  }
  const { extends: base, ...own } = raw;
  const merged = base ? mergeConfig(loadExperiment(root, base, [...seen, name]) as unknown as Json, own) : own;
  const cfg = merged as unknown as ExperimentConfig;
  if (seen.length === 0) validateExperiment(cfg, path);
  return cfg;
}

/** The named set from configs/experiments/sets.json. */
export function loadSet(root: string, name: string): ExperimentSet {
  const path = join(root, "sets.json");
  const sets = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, ExperimentSet>) : {};
  const set = sets[name];
  if (!set) {
    const guess = closest(name, Object.keys(sets));
    throw new ConfigError(`experiment: no set "${name}" in ${path}${guess ? ` (did you mean ${guess}?)` : ""}; known: ${Object.keys(sets).join(", ")}`);
  }
  if (!set.experiments.includes(set.reference)) throw new ConfigError(`${path}: set "${name}" compares with "${set.reference}", which it does not run`);
  return set;
}

/** A short content key for a stage's inputs: equal inputs share one output folder across experiments. */
export function stageKey(label: string, inputs: unknown): string {
  return `${label}-${createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 10)}`;
}

/** The dataset folder name of a spec (human-readable, then a content key). */
export function datasetKey(d: DataSpec, imageSize: number): string {
  return stageKey(`${d.task}-${d.robot}-${d.level}-${d.episodes}ep`, { ...d, imageSize });
}

/** The work an experiment delegates: dataset generation, training and evaluation (the CLI runs the real ones). */
export interface ExperimentStages {
  generate(spec: DataSpec, imageSize: number, out: string): Promise<void>;
  trainTokenizer(req: { readonly data: readonly DataGroupDirs[]; readonly out: string; readonly stage: TrainStage; readonly seed: number }): Promise<void>;
  /** Trains a policy into `out` and returns the folder of its final checkpoint. */
  trainPolicy(req: {
    readonly data: readonly DataGroupDirs[]; readonly out: string; readonly tokenizer: string; readonly initFrom: string | null;
    readonly stage: TrainStage; readonly model: ExperimentConfig["model"]; readonly seed: number;
  }): Promise<string>;
  /**
   * Evaluates a checkpoint (or the random baseline) and writes results.json (and a report with the training logs
   * of `logs` and the baseline as a column) into `out`.
   */
  evaluate(req: {
    readonly policy: { readonly checkpoint: string } | "random"; readonly cfg: ExperimentConfig; readonly out: string;
    readonly logs: readonly { readonly name: string; readonly dir: string }[]; readonly baseline?: EvalResults;
  }): Promise<EvalResults>;
}

/** What one experiment produced: its evaluation, the baseline's, and the folder of every stage. */
export interface ExperimentOutcome {
  readonly name: string;
  readonly results: EvalResults;
  readonly baseline?: EvalResults;
  readonly dirs: { readonly datasets: readonly string[]; readonly tokenizer: string; readonly pretrain: string | null; readonly posttrain: string; readonly eval: string };
  /** Seconds of every stage this experiment used, including stages reused from earlier runs or experiments. */
  readonly seconds: number;
}

const DONE = "stage.json";
/** What an evaluation stage measures (part of its key: a change re-runs evaluations, not training). */
const EVAL_MEASURES = "closed-loop success + open-loop joint error";

/**
 * Runs `work` into `dir` unless a previous run finished it (its stage.json records the inputs, the seconds it
 * took and the result); adds the stage's seconds (then or now) to `clock`.
 */
async function stage<T>(dir: string, inputs: unknown, ctx: { log: (l: string) => void; clock: { seconds: number } }, work: () => Promise<T>): Promise<T> {
  const marker = join(dir, DONE);
  if (existsSync(marker)) {
    ctx.log(`reusing ${dir}`);
    const done = JSON.parse(readFileSync(marker, "utf8")) as { result: T; seconds: number };
    ctx.clock.seconds += done.seconds;
    return done.result;
  }
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  ctx.clock.seconds += seconds;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${marker}.tmp`, JSON.stringify({ inputs, seconds, result }, null, 1));
  renameSync(`${marker}.tmp`, marker);
  return result;
}

/**
 * Runs one experiment under `root`. Stage folders are named by a hash of their inputs, so experiments that share
 * datasets, the tokenizer or a pre-trained policy reuse them, and an interrupted run resumes at the first
 * unfinished stage.
 */
export async function runExperiment(cfg: ExperimentConfig, root: string, stages: ExperimentStages, log: (line: string) => void = () => {}): Promise<ExperimentOutcome> {
  const size = cfg.data.imageSize;
  const ctx = { log, clock: { seconds: 0 } };
  const dataDir = (d: DataSpec) => join(root, "data", datasetKey(d, size));
  const preSpecs = cfg.data.pretrain.flatMap((g) => g.datasets);
  for (const d of [...preSpecs, ...cfg.data.posttrain]) {
    await stage(dataDir(d), { ...d, imageSize: size }, ctx, async () => {
      log(`generating ${d.episodes} ${d.task} episodes (${d.robot}, ${d.level})`);
      await stages.generate(d, size, dataDir(d));
      return dataDir(d);
    });
  }
  const preGroups = cfg.data.pretrain.map((g) => ({ name: g.name, weight: g.weight, gamma: g.gamma, roots: g.datasets.map(dataDir) }));
  const target = [{ name: "target", weight: 1, gamma: 1, roots: cfg.data.posttrain.map(dataDir) }];
  const all = [...preSpecs, ...cfg.data.posttrain].map(dataDir);
  const tokInputs = { datasets: all.map((p) => p.slice(root.length)), stage: cfg.tokenizer, seed: cfg.seed };
  const tokenizer = join(root, "tokenizer", stageKey("tokenizer", tokInputs));
  await stage(tokenizer, tokInputs, ctx, async () => {
    log(`training the image tokenizer (${cfg.tokenizer.steps} steps)`);
    await stages.trainTokenizer({ data: [{ name: "all", weight: 1, gamma: 1, roots: all }], out: tokenizer, stage: cfg.tokenizer, seed: cfg.seed });
    return tokenizer;
  });
  const train = async (label: "pretrain" | "posttrain", groups: readonly DataGroupDirs[], st: TrainStage, initFrom: string | null) => {
    const data = groups.map((g) => ({ ...g, roots: g.roots.map((r) => r.slice(root.length)) }));
    const inputs = { tokenizer: tokenizer.slice(root.length), data, stage: st, model: cfg.model, seed: cfg.seed, initFrom: initFrom?.slice(root.length) ?? null };
    const out = join(root, label, stageKey(label, inputs));
    const checkpoint = await stage(out, inputs, ctx, async () => {
      log(`${label}: ${st.steps} steps on ${groups.map((g) => `${g.name} (${g.roots.length} datasets)`).join(", ")}${initFrom ? ` from ${initFrom}` : " from scratch"}`);
      return stages.trainPolicy({ data: groups, out, tokenizer, initFrom, stage: st, model: cfg.model, seed: cfg.seed });
    });
    return { out, checkpoint };
  };
  const pre = cfg.pretrain ? await train("pretrain", preGroups, cfg.pretrain, null) : null;
  const post = await train("posttrain", target, cfg.posttrain, pre?.checkpoint ?? null);
  let baseline: EvalResults | undefined;
  if (cfg.eval.baseline) {
    const inputs = { eval: cfg.eval, imageSize: size, measures: EVAL_MEASURES };
    const dir = join(root, "baseline", stageKey("random", inputs));
    baseline = await stage(dir, inputs, ctx, () => stages.evaluate({ policy: "random", cfg, out: dir, logs: [] }));
  }
  const evalDir = join(root, cfg.name, "eval");
  const evalInputs = { checkpoint: post.checkpoint.slice(root.length), eval: cfg.eval, imageSize: size, measures: EVAL_MEASURES };
  const logs = [{ name: "tokenizer", dir: tokenizer }, ...(pre ? [{ name: "pre-training", dir: pre.out }] : []), { name: "post-training", dir: post.out }];
  const results = await stage(evalDir, evalInputs, ctx, () => {
    log(`evaluating ${cfg.name} on ${cfg.eval.tasks.map((t) => t.task).join(", ")} (${cfg.eval.episodes} episodes each)`);
    return stages.evaluate({ policy: { checkpoint: post.checkpoint }, cfg, out: evalDir, logs, baseline });
  });
  const dirs = { datasets: all, tokenizer, pretrain: pre?.out ?? null, posttrain: post.out, eval: evalDir };
  return { name: cfg.name, results, baseline, dirs, seconds: ctx.clock.seconds };
}

/** The trainer's --data: one dataset folder as is, otherwise a mixture file (groups by weight, datasets by frames^gamma) in `out`. */
export function dataArgument(groups: readonly DataGroupDirs[], out: string): string {
  if (groups.length === 1 && groups[0].roots.length === 1) return groups[0].roots[0];
  mkdirSync(out, { recursive: true });
  const path = join(out, "data-mixture.json");
  const mixture = { format: "internvla-mixture/1", groups: groups.map((g) => ({ name: g.name, weight: g.weight, gamma: g.gamma, sources: g.roots.map((r) => ({ root: resolve(r) })) })) };
  writeFileSync(path, JSON.stringify(mixture, null, 1));
  return path;
}

/** The experiment's evaluation as task configs (robot from the post-training data of that task). */
export function evalTasks(cfg: ExperimentConfig, nActionSteps: number): TaskEvalConfig[] {
  return cfg.eval.tasks.map((t) => ({
    task: t.task,
    robot: (cfg.data.posttrain.find((d) => d.task === t.task) ?? cfg.data.posttrain[0]).robot,
    level: t.level, split: t.split, episodes: cfg.eval.episodes, seed: cfg.eval.seed, expertCheck: cfg.eval.expertCheck,
    imageSize: cfg.data.imageSize, nActionSteps, frameGap: 15,
  }));
}
