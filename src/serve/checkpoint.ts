// A checkpoint folder as a served policy: config.json + model.safetensors (src/model, official names), the
// tokenizer, stats.json (per robot_type, the trainer's) and robot.json (how the robot maps onto the model).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "../tensor/errors.ts";
import { readNormStatsFile } from "../data/norm-stats.ts";
import { deltaMaskFor } from "../data/transforms.ts";
import { type ModelConfig, parseConfig } from "../model/config.ts";
import { type TextTokenizer, builtinTokenizer, hfTokenizer } from "../model/tokenizer.ts";
import { loadWeights } from "../model/weights.ts";
import { modelActionModel } from "./model-adapter.ts";
import { type ModelPolicyOptions, type RobotSpec, modelPolicy } from "./model-policy.ts";
import { type PolicyProvider } from "./policy.ts";

export interface CheckpointOptions extends ModelPolicyOptions {
  /** Overrides the checkpoint's tokenizer files. */
  readonly tokenizer?: TextTokenizer;
  /** Overrides robot.json's infer_horizon. */
  readonly inferHorizon?: number;
}

function readJsonFile(path: string, what: string): Record<string, unknown> {
  if (!existsSync(path)) throw new CheckpointError(`${path}: missing (${what})`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * robot.json: { robot_type, state_dim, action_dim, action_mode ("delta" | "abs", default delta), norm_mode
 * (default mean_std), delta_mask (or action_names: "gripper" dims absolute), cameras (wire name per slot, null =
 * none; default [top, wrist, right_wrist]), infer_horizon (default: the chunk), binarize_grippers (false),
 * frame_gap (15) }.
 */
export function parseRobotSpec(json: Record<string, unknown>, chunk: number, where: string): RobotSpec {
  const int = (k: string, fallback?: number): number => {
    const v = json[k] ?? fallback;
    if (!Number.isInteger(v) || (v as number) < 1) throw new ConfigError(`${where}: ${k} must be an integer >= 1, got ${JSON.stringify(json[k])}`);
    return v as number;
  };
  const robotType = json.robot_type;
  if (typeof robotType !== "string" || robotType === "") throw new ConfigError(`${where}: robot_type must be a non-empty string`);
  const actionDim = int("action_dim");
  const names = Array.isArray(json.action_names) ? (json.action_names as string[]) : [];
  const deltaMask = Array.isArray(json.delta_mask) ? (json.delta_mask as boolean[]) : deltaMaskFor(robotType, names, actionDim);
  if (!deltaMask.every((b) => typeof b === "boolean")) throw new ConfigError(`${where}: delta_mask must be a list of true/false`);
  const actionMode = json.action_mode ?? "delta";
  if (actionMode !== "delta" && actionMode !== "abs") throw new ConfigError(`${where}: action_mode must be "delta" or "abs", got ${JSON.stringify(actionMode)}`);
  const normMode = json.norm_mode ?? "mean_std";
  if (!["mean_std", "quantile", "none"].includes(normMode as string)) {
    throw new ConfigError(`${where}: norm_mode must be mean_std, quantile or none, got ${JSON.stringify(normMode)}`);
  }
  const cameras = (json.cameras ?? ["top", "wrist", "right_wrist"]) as (string | null)[];
  if (!Array.isArray(cameras) || !cameras.every((c) => c === null || typeof c === "string")) {
    throw new ConfigError(`${where}: cameras must be a list of camera names or null per model slot`);
  }
  return {
    robotType,
    stateDim: int("state_dim"),
    actionDim,
    actionMode,
    deltaMask,
    normMode: normMode as RobotSpec["normMode"],
    cameras,
    inferHorizon: int("infer_horizon", chunk),
    binarizeGrippers: json.binarize_grippers === true,
    frameGap: int("frame_gap", 15),
  };
}

/**
 * The checkpoint's tokenizer: `tokenizer.json` (+ `tokenizer_config.json`; Qwen's byte-level BPE), else
 * `vocabulary.json` (the word list of a built-in vocabulary, tiny configs). Nothing is guessed: the ids must be
 * the ones the model was trained with.
 */
export function loadTokenizer(dir: string, cfg: ModelConfig): TextTokenizer {
  const hf = join(dir, "tokenizer.json");
  if (existsSync(hf)) {
    const extra = join(dir, "tokenizer_config.json");
    return hfTokenizer(readFileSync(hf, "utf8"), existsSync(extra) ? readFileSync(extra, "utf8") : "{}", hf);
  }
  const vocab = join(dir, "vocabulary.json");
  if (existsSync(vocab)) {
    const words = JSON.parse(readFileSync(vocab, "utf8")) as unknown;
    if (!Array.isArray(words) || !words.every((w) => typeof w === "string")) throw new CheckpointError(`${vocab}: expected a JSON list of words`);
    return builtinTokenizer(cfg.text_config.vocab_size, words);
  }
  throw new CheckpointError(`${dir}: no tokenizer: expected tokenizer.json (Qwen3-VL processor) or vocabulary.json (built-in vocabulary words)`);
}

/** Loads `dir` and serves it. Checks every file before loading the weights, so mistakes fail fast. */
export async function loadModelPolicy(dir: string, opts: CheckpointOptions = {}): Promise<PolicyProvider> {
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new CheckpointError(`${cfgPath}: missing (the model config)`);
  const { config } = parseConfig(readFileSync(cfgPath, "utf8"), cfgPath);
  const robotPath = join(dir, "robot.json");
  const spec = parseRobotSpec(readJsonFile(robotPath, "the robot spec: dims, delta mask, cameras"), config.chunk_size, robotPath);
  const statsPath = join(dir, "stats.json");
  if (!existsSync(statsPath)) throw new CheckpointError(`${statsPath}: missing (normalisation stats per robot_type)`);
  const stats = readNormStatsFile(statsPath)[spec.robotType];
  if (!stats?.state || !stats?.action) {
    throw new CheckpointError(`${statsPath}: no "state" and "action" stats for robot_type "${spec.robotType}"`, "compute them with internvla stats");
  }
  const tokenizer = opts.tokenizer ?? loadTokenizer(dir, config);
  const model = modelActionModel(await loadWeights(join(dir, "model.safetensors"), config), config, tokenizer);
  const withHorizon = opts.inferHorizon ? { ...spec, inferHorizon: opts.inferHorizon } : spec;
  try {
    return modelPolicy(model, withHorizon, { state: stats.state, action: stats.action }, opts);
  } catch (e) {
    model.dispose();
    throw e;
  }
}
