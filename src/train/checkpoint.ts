// Training checkpoints: written into a temp folder, fsynced, renamed, then the `latest` pointer; loaded for resume.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { CheckpointError } from "../tensor/errors.ts";
import { type HostTensor } from "../tensor/compile/index.ts";
import { SafetensorsReader } from "../tensor/safetensors.ts";
import { saveSafetensors } from "../tensor/safetensors-writer.ts";
import { statsFromJson, statsToJson, type StatsMap } from "../data/lerobot/stats-json.ts";
import { writeNormStatsFile } from "../data/norm-stats.ts";
import { parseConfig, type ModelConfig } from "../model/config.ts";
import { getPath, paramTable, setPath, type ParamEntry } from "../model/params.ts";
import { streamWeights } from "../model/weights.ts";
import { type ModelParams, type PolicyParams } from "../model/types.ts";
import { type AdamWState } from "./optim.ts";
import { type TrainConfig, savedTrainConfig, validateTrainConfig } from "./config.ts";
import { type DataSummary } from "./data.ts";
import { type Host } from "./engine.ts";

export const STATE_FORMAT = "internvla-training-state/1";
/** The pointer file in a run folder; it holds the relative path of the newest complete checkpoint. */
export const LATEST = "latest";

/** Where training stands after `step` updates (training_state/state.json). */
export interface TrainingState {
  readonly format: typeof STATE_FORMAT;
  readonly step: number;
  /** Samples drawn from the data mixture so far (step * batch_size): the loader position. */
  readonly draws: number;
  /** Per robot_type, per feature selector: the stats the data pipeline normalises with (LeRobot stats JSON). */
  readonly feature_stats: Record<string, Record<string, unknown>>;
  /** The metrics of the last step, for the record. */
  readonly metrics: Record<string, number>;
}

/** Everything one checkpoint holds. */
export interface Checkpoint {
  readonly step: number;
  readonly config: TrainConfig;
  /** The policy and the frozen Cosmos tokenizer, in official names on disk. */
  readonly params: Host<ModelParams>;
  readonly opt: Host<AdamWState<PolicyParams>>;
  readonly data: DataSummary;
  /** The robot robot.json describes (a served checkpoint drives one robot); robots.json lists all. */
  readonly robot: string;
  /** Tokenizer files by name (vocabulary.json, or tokenizer.json + tokenizer_config.json). */
  readonly tokenizerFiles: Readonly<Record<string, string>>;
  readonly draws: number;
  readonly metrics: Record<string, number>;
}

const stepName = (step: number) => String(step).padStart(6, "0");

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a text file and fsyncs it (the folder it is in is renamed into place later). */
function writeDurable(path: string, text: string): void {
  const fd = openSync(path, "w");
  try {
    const bytes = Buffer.from(text);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const json = (x: unknown) => JSON.stringify(x, null, 2) + "\n";

/** Optimizer moments under official names (`mu.<name>`, `nu.<name>`) plus the update count. */
async function saveOptimizer(path: string, opt: Host<AdamWState<PolicyParams>>, cfg: ModelConfig): Promise<void> {
  const entries = [{ name: "count", dtype: "F32" as const, shape: [] as number[], data: opt.count.data as Float32Array }];
  for (const e of paramTable(cfg).filter((p) => p.path[0] === "policy")) {
    for (const m of ["mu", "nu"] as const) {
      const h = getPath(opt[m], e.path.slice(1)) as unknown as HostTensor;
      entries.push({ name: `${m}.${e.name}`, dtype: "F32", shape: [...e.shape], data: h.data as Float32Array });
    }
  }
  await saveSafetensors(path, entries, { format: STATE_FORMAT });
}

/** The Cosmos TorchScript buffers official files carry next to model.cosmos.* (src/model/weights.ts saveWeights). */
const COSMOS_BUFFERS = [["_enc_model", "encoder.patcher"], ["_dec_model", "decoder.unpatcher"]].flatMap(([side, name]) => [
  { name: `model.cosmos.${side}.${name}.wavelets`, dtype: "F32" as const, shape: [2], data: Float32Array.of(Math.SQRT1_2, Math.SQRT1_2) },
  { name: `model.cosmos.${side}.${name}._arange`, dtype: "I64" as const, shape: [2], data: BigInt64Array.of(0n, 1n) },
]);

/**
 * Writes host weights under official names, in table order, float32 (what src/model loadWeights reads), plus the
 * Cosmos buffers; `strip` leading path keys are dropped (1 for a tree rooted at the Cosmos params).
 */
export async function saveHostWeights(path: string, params: unknown, table: readonly ParamEntry[], strip = 0): Promise<void> {
  const entries = table.map((e) => {
    const h = getPath(params, e.path.slice(strip)) as unknown as HostTensor;
    return { name: e.name, dtype: "F32" as const, shape: [...e.shape], data: h.data as Float32Array };
  });
  await saveSafetensors(path, [...entries, ...COSMOS_BUFFERS], { format: "pt" });
}

async function writeFiles(dir: string, c: Checkpoint): Promise<void> {
  const model = c.config.model;
  await saveHostWeights(join(dir, "model.safetensors"), c.params, paramTable(model));
  writeDurable(join(dir, "config.json"), json(model));
  writeDurable(join(dir, "train_config.json"), json(c.config));
  writeDurable(join(dir, "robot.json"), json(c.data.robots[c.robot]));
  writeDurable(join(dir, "robots.json"), json(c.data.robots));
  writeNormStatsFile(join(dir, "stats.json"), Object.fromEntries(Object.entries(c.data.normStats).map(([r, s]) => [r, { state: s.state, action: s.action }])));
  fsyncPath(join(dir, "stats.json"));
  for (const [name, text] of Object.entries(c.tokenizerFiles)) writeDurable(join(dir, name), text);
  const ts = join(dir, "training_state");
  mkdirSync(ts);
  await saveOptimizer(join(ts, "optimizer.safetensors"), c.opt, model);
  const state: TrainingState = {
    format: STATE_FORMAT, step: c.step, draws: c.draws, metrics: c.metrics,
    feature_stats: Object.fromEntries(Object.entries(c.data.featureStats).map(([r, s]) => [r, statsToJson(s, new Set())])),
  };
  writeDurable(join(ts, "state.json"), json(state));
  fsyncPath(ts);
  fsyncPath(dir);
}

/**
 * Saves `c` as `run/checkpoints/<step>` and points `run/latest` at it. The folder is written under a temp name,
 * every file fsynced, then renamed into place; `latest` is replaced (temp file + rename) only afterwards, so a
 * crash at any moment leaves `latest` naming a complete checkpoint. Keeps the newest `keep` checkpoints.
 * Returns the checkpoint folder.
 */
export async function saveCheckpoint(run: string, c: Checkpoint, keep: number): Promise<string> {
  const root = join(run, "checkpoints");
  mkdirSync(root, { recursive: true });
  const name = stepName(c.step);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  await writeFiles(tmp, c);
  const dir = join(root, name);
  if (existsSync(dir)) {
    // A complete checkpoint of this step from a run that crashed before moving `latest` onto it.
    const old = join(root, `.old-${name}-${process.pid}`);
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, dir);
  fsyncPath(root);
  const pointer = join(run, LATEST);
  writeDurable(`${pointer}.tmp-${process.pid}`, `checkpoints/${name}\n`);
  renameSync(`${pointer}.tmp-${process.pid}`, pointer);
  fsyncPath(run);
  prune(root, name, keep);
  return dir;
}

/** Deletes all but the newest `keep` checkpoints (never `current`) and temp folders of dead writers. */
function prune(root: string, current: string, keep: number): void {
  const steps = readdirSync(root).filter((d) => /^\d+$/.test(d)).sort();
  for (const d of steps.slice(0, Math.max(0, steps.length - keep))) if (d !== current) rmSync(join(root, d), { recursive: true, force: true });
  for (const d of readdirSync(root)) {
    const m = /^\.(tmp|old)-\d+-(\d+)$/.exec(d);
    if (m && !isAlive(Number(m[2]))) rmSync(join(root, d), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The checkpoint folder `run/latest` points at, or undefined when the run has none yet. */
export function latestCheckpointDir(run: string): string | undefined {
  const pointer = join(run, LATEST);
  if (!existsSync(pointer)) return undefined;
  const dir = resolve(run, readFileSync(pointer, "utf8").trim());
  if (!existsSync(join(dir, "training_state", "state.json"))) {
    throw new CheckpointError(`${pointer}: points at ${dir}, which is not a complete checkpoint`, "the run folder was modified by hand; point latest at a checkpoints/<step> folder");
  }
  return dir;
}

function readJsonFile(path: string): unknown {
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing`, "pass a checkpoint folder written by internvla train");
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** The model config of a checkpoint folder (config.json). */
export function checkpointModelConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing (the model config)`, "pass a checkpoint folder written by internvla train");
  return parseConfig(readFileSync(path, "utf8"), path).config;
}

/** Streams model.safetensors (official names) into host arrays: the policy and the Cosmos tokenizer. */
export async function loadHostWeights(dir: string, cfg: ModelConfig): Promise<Host<ModelParams>> {
  const root: Record<string, unknown> = {};
  await streamWeights(join(dir, "model.safetensors"), cfg, (e, data) => setPath(root, e.path, { dtype: "float32", shape: [...e.shape], data }));
  return root as Host<ModelParams>;
}

async function loadOptimizer(path: string, cfg: ModelConfig): Promise<Host<AdamWState<PolicyParams>>> {
  const reader = await SafetensorsReader.open(path);
  try {
    const out: Record<string, unknown> = { count: { dtype: "float32", shape: [], data: await reader.readF32("count") }, mu: {}, nu: {} };
    for (const e of paramTable(cfg).filter((p) => p.path[0] === "policy")) {
      for (const m of ["mu", "nu"] as const) {
        const name = `${m}.${e.name}`;
        if (!reader.has(name)) throw new CheckpointError(`${path}: no optimizer state for ${e.name}`, "the checkpoint was written for another model config");
        setPath(out[m] as Record<string, unknown>, e.path.slice(1), { dtype: "float32", shape: [...e.shape], data: await reader.readF32(name) });
      }
    }
    return out as Host<AdamWState<PolicyParams>>;
  } finally {
    await reader.close();
  }
}

/** What a resumed run restores from a checkpoint folder. */
export interface Resumed {
  readonly dir: string;
  readonly config: TrainConfig;
  readonly state: TrainingState;
  readonly params: Host<ModelParams>;
  readonly opt: Host<AdamWState<PolicyParams>>;
  readonly featureStats: Record<string, StatsMap>;
}

/** Loads everything a resumed run needs from a checkpoint folder. */
export async function loadTrainingCheckpoint(dir: string): Promise<Resumed> {
  const config = savedTrainConfig(readJsonFile(join(dir, "train_config.json")) as TrainConfig);
  validateTrainConfig(config, join(dir, "train_config.json"));
  const state = readJsonFile(join(dir, "training_state", "state.json")) as TrainingState;
  if (state.format !== STATE_FORMAT) throw new CheckpointError(`${dir}/training_state/state.json: format ${JSON.stringify(state.format)}; expected "${STATE_FORMAT}"`);
  const params = await loadHostWeights(dir, config.model);
  const opt = await loadOptimizer(join(dir, "training_state", "optimizer.safetensors"), config.model);
  const featureStats = Object.fromEntries(Object.entries(state.feature_stats).map(([r, s]) => [r, statsFromJson(s, `${dir} feature_stats[${r}]`)]));
  return { dir, config, state, params, opt, featureStats };
}
