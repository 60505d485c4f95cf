// Training configs: the recipe (AdamW, clip, pi0 cosine schedule), data and checkpoint settings, presets and validation.
import { existsSync, readFileSync } from "node:fs";
import { ConfigError } from "../tensor/errors.ts";
import { applyOverrides, closest, type ParsedArgs } from "../cli/args.ts";
import { PRESETS, presetConfig, validateConfig, type ModelConfig } from "../model/config.ts";
import { type ActionMode, type NormMode } from "../data/types.ts";

export const TRAIN_FORMAT = "internvla-train/1";

export type EngineKind = "ort" | "jax";

/**
 * Everything a training run depends on, saved next to every checkpoint (train_config.json). Field names are
 * snake_case so `--section.field=value` overrides read like LeRobot's and openpi's.
 */
export interface TrainConfig {
  readonly format: typeof TRAIN_FORMAT;
  /** The preset (or config file) this config came from. */
  readonly preset: string;
  readonly model: ModelConfig;
  readonly train: {
    readonly steps: number;
    readonly batch_size: number;
    /** Seeds the initial weights, the flow noise and time of every step, and the data order. */
    readonly seed: number;
    /** "ort": the step compiled to ONNX Runtime (default, faster on CPU); "jax": jax-js jit on wasm. */
    readonly engine: EngineKind;
    /** Compute threads (0 = every core). */
    readonly threads: number;
  };
  /** torch AdamW over a single parameter group, then clip_grad_norm_ (architecture.md §5). */
  readonly optim: {
    readonly b1: number;
    readonly b2: number;
    readonly eps: number;
    readonly weight_decay: number;
    readonly clip_norm: number;
  };
  /** pi0 / LeRobot cosine decay with linear warmup; rescaled when the run is shorter than decay_steps. */
  readonly schedule: {
    readonly peak_lr: number;
    readonly warmup_steps: number;
    readonly decay_steps: number;
    readonly decay_lr: number;
  };
  readonly data: {
    readonly action_mode: ActionMode;
    readonly norm: NormMode;
    /** Loader worker threads (0: batches are built on the main thread, overlapped with the step). */
    readonly workers: number;
    /** Batches requested ahead of the one being trained on. */
    readonly prefetch: number;
    /** The decoded-frame cache shared by the loader workers, in MiB. */
    readonly frame_cache_mb: number;
    /** Frozen-encoder latents kept by frame content (each distinct frame is Cosmos-encoded once), in MiB. */
    readonly latent_cache_mb: number;
  };
  readonly checkpoint: {
    /** Save every N steps (the last step is always saved). */
    readonly every: number;
    /** Checkpoints kept on disk (older ones are deleted after a newer one is complete). */
    readonly keep: number;
  };
  readonly log: {
    /** Write a metrics.jsonl line every N steps. */
    readonly every: number;
  };
}

const RECIPE = {
  optim: { b1: 0.9, b2: 0.95, eps: 1e-8, weight_decay: 0.01, clip_norm: 1.0 },
  data: { action_mode: "delta", norm: "mean_std", workers: 1, prefetch: 2, frame_cache_mb: 512, latent_cache_mb: 512 },
  checkpoint: { every: 500, keep: 2 },
  log: { every: 1 },
} as const;

/**
 * The small presets train from scratch on CPU for a few thousand steps: the paper's optimizer, clip and schedule
 * shape with a larger peak LR and a short warmup. The a1 presets use the official fine-tuning recipe
 * (launch/internvla_a1_3b_finetune.sh): 5e-5, warmup 2000, 60k steps to 5e-6, batch 8.
 */
function preset(name: string, official: boolean): TrainConfig {
  const steps = official ? 60000 : 2000;
  return {
    format: TRAIN_FORMAT, preset: name, model: presetConfig(name),
    train: { steps, batch_size: official ? 8 : 16, seed: 42, engine: "ort", threads: 0 },
    ...RECIPE,
    schedule: official ? { peak_lr: 5e-5, warmup_steps: 2000, decay_steps: steps, decay_lr: 5e-6 } : { peak_lr: 3e-4, warmup_steps: 100, decay_steps: steps, decay_lr: 3e-5 },
  };
}

/**
 * A train_config.json as saved by any version: loader settings added since (which do not change the numbers of
 * a step) take their defaults, so older runs still resume.
 */
export function savedTrainConfig(saved: TrainConfig): TrainConfig {
  return { ...saved, data: { ...RECIPE.data, ...saved.data } };
}

/** Training presets, one per model preset. */
export function trainPreset(name: string): TrainConfig {
  if (!(name in PRESETS)) {
    const guess = closest(name, Object.keys(PRESETS));
    throw new ConfigError(
      `train config: unknown preset "${name}"${guess ? ` (did you mean ${guess}?)` : ""}; expected one of ${Object.keys(PRESETS).join(", ")} or a JSON file`,
    );
  }
  return preset(name, name.startsWith("a1-"));
}

/**
 * The image-tokenizer stage's recipe for a preset: the same optimizer and clip, a higher peak LR (the
 * autoencoder trains from scratch on reconstruction), batch_size samples (their present cameras' frames).
 */
export function tokenizerPreset(name: string): TrainConfig {
  const base = trainPreset(name);
  return {
    ...base,
    train: { ...base.train, steps: 500, batch_size: 8 },
    schedule: { peak_lr: 1e-3, warmup_steps: 20, decay_steps: 500, decay_lr: 1e-4 },
  };
}

type Json = Record<string, unknown>;

/** Lays `over` onto `base` key by key; a key `base` lacks is refused with the nearest known key. */
function mergeStrict(base: Json, over: Json, path: string, where: string): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (!(k in base)) {
      const guess = closest(k, Object.keys(base));
      throw new ConfigError(`${where}: unknown config key ${path}${k}${guess ? ` (did you mean ${path}${guess}?)` : ""}`);
    }
    const b = base[k];
    const nested = b !== null && typeof b === "object" && !Array.isArray(b);
    out[k] = nested && v !== null && typeof v === "object" && !Array.isArray(v) ? mergeStrict(b as Json, v as Json, `${path}${k}.`, where) : v;
  }
  return out;
}

/**
 * A preset name, or a JSON file holding `{"base": PRESET, ...partial TrainConfig}` (or a full train_config.json),
 * with the CLI's typed `--a.b=value` overrides applied last; the result is validated.
 */
export function resolveTrainConfig(
  nameOrFile: string,
  overrides: ParsedArgs["overrides"] = [],
  where = "internvla train",
  preset: (name: string) => TrainConfig = trainPreset,
): TrainConfig {
  let cfg: TrainConfig;
  if (nameOrFile.endsWith(".json")) {
    if (!existsSync(nameOrFile)) throw new ConfigError(`${where}: config file ${nameOrFile} not found`);
    let raw: Json;
    try {
      raw = JSON.parse(readFileSync(nameOrFile, "utf8")) as Json;
    } catch (e) {
      throw new ConfigError(`${nameOrFile}: not valid JSON (${(e as Error).message})`);
    }
    const { base, ...rest } = raw;
    const baseName = typeof base === "string" ? base : typeof rest.preset === "string" ? rest.preset : undefined;
    if (!baseName) throw new ConfigError(`${nameOrFile}: needs "base": a preset name (${Object.keys(PRESETS).join(", ")})`);
    cfg = mergeStrict(preset(baseName) as unknown as Json, { ...rest, preset: nameOrFile }, "", nameOrFile) as unknown as TrainConfig;
  } else {
    cfg = preset(nameOrFile);
  }
  const decayBefore = cfg.schedule.decay_steps;
  const stepsBefore = cfg.train.steps;
  cfg = applyOverrides(cfg, overrides, where);
  // The presets decay over the whole run: a new step count carries the decay length along unless it is set too.
  if (decayBefore === stepsBefore && cfg.schedule.decay_steps === decayBefore && !overrides.some(([k]) => k === "schedule.decay_steps")) {
    cfg = { ...cfg, schedule: { ...cfg.schedule, decay_steps: cfg.train.steps } };
  }
  validateTrainConfig(cfg, where);
  return cfg;
}

function rule(where: string, field: string, value: unknown, ok: boolean, text: string): void {
  if (!ok) throw new ConfigError(`${where}: ${field} = ${JSON.stringify(value)}; ${text}`);
}

const isInt = (v: number, min: number) => Number.isInteger(v) && v >= min;

/** Checks every field of a training config (and the model config inside it), naming the field and the rule. */
export function validateTrainConfig(cfg: TrainConfig, where = "train config"): void {
  rule(where, "format", cfg.format, cfg.format === TRAIN_FORMAT, `must be "${TRAIN_FORMAT}"`);
  const { train: t, optim: o, schedule: s, data: d } = cfg;
  rule(where, "train.steps", t.steps, isInt(t.steps, 1), "must be an integer >= 1");
  rule(where, "train.batch_size", t.batch_size, isInt(t.batch_size, 1), "must be an integer >= 1");
  rule(where, "train.seed", t.seed, isInt(t.seed, 0) && t.seed < 2 ** 32, "must be an integer in [0, 2^32)");
  rule(where, "train.engine", t.engine, t.engine === "ort" || t.engine === "jax", 'must be "ort" or "jax"');
  rule(where, "train.threads", t.threads, isInt(t.threads, 0), "must be an integer >= 0 (0 = every core)");
  rule(where, "optim.b1", o.b1, o.b1 >= 0 && o.b1 < 1, "must be in [0, 1)");
  rule(where, "optim.b2", o.b2, o.b2 >= 0 && o.b2 < 1, "must be in [0, 1)");
  rule(where, "optim.eps", o.eps, o.eps > 0, "must be > 0");
  rule(where, "optim.weight_decay", o.weight_decay, o.weight_decay >= 0, "must be >= 0");
  rule(where, "optim.clip_norm", o.clip_norm, o.clip_norm > 0, "must be > 0");
  rule(where, "schedule.peak_lr", s.peak_lr, s.peak_lr > 0 && Number.isFinite(s.peak_lr), "must be > 0");
  rule(where, "schedule.warmup_steps", s.warmup_steps, isInt(s.warmup_steps, 0), "must be an integer >= 0");
  rule(where, "schedule.decay_steps", s.decay_steps, isInt(s.decay_steps, 1), "must be an integer >= 1");
  rule(where, "schedule.decay_lr", s.decay_lr, s.decay_lr >= 0 && s.decay_lr <= s.peak_lr, `must be in [0, peak_lr ${s.peak_lr}]`);
  rule(where, "data.action_mode", d.action_mode, d.action_mode === "delta" || d.action_mode === "abs", 'must be "delta" or "abs"');
  rule(where, "data.norm", d.norm, ["mean_std", "quantile", "none"].includes(d.norm), "must be mean_std, quantile or none");
  rule(where, "data.workers", d.workers, isInt(d.workers, 0), "must be an integer >= 0");
  rule(where, "data.prefetch", d.prefetch, isInt(d.prefetch, 0), "must be an integer >= 0");
  rule(where, "data.frame_cache_mb", d.frame_cache_mb, isInt(d.frame_cache_mb, 0), "must be an integer >= 0 (0 disables the cache)");
  rule(where, "data.latent_cache_mb", d.latent_cache_mb, isInt(d.latent_cache_mb, 0), "must be an integer >= 0 (0 keeps no latents)");
  rule(where, "checkpoint.every", cfg.checkpoint.every, isInt(cfg.checkpoint.every, 1), "must be an integer >= 1");
  rule(where, "checkpoint.keep", cfg.checkpoint.keep, isInt(cfg.checkpoint.keep, 1), "must be an integer >= 1");
  rule(where, "log.every", cfg.log.every, isInt(cfg.log.every, 1), "must be an integer >= 1");
  validateConfig(cfg.model, `${where}: model`);
}

/** Fields a resumed run may change: they do not alter the numbers of the steps already defined. */
const RESUMABLE = new Set(["train.steps", "train.threads", "data.workers", "data.prefetch", "data.frame_cache_mb", "data.latent_cache_mb", "checkpoint.every", "checkpoint.keep", "log.every"]);

/**
 * The config a resumed run uses: the checkpoint's, with the requested overrides that keep it resumable (steps,
 * threads, loader and checkpoint settings). Any other override is refused, since the continuation would no
 * longer equal an uninterrupted run.
 */
export function resumeConfig(saved: TrainConfig, overrides: ParsedArgs["overrides"], where: string): TrainConfig {
  const refused = overrides.filter(([k]) => !RESUMABLE.has(k)).map(([k]) => k);
  if (refused.length > 0) {
    throw new ConfigError(
      `${where}: --resume continues with the checkpoint's training config; ${refused.join(", ")} cannot change`,
      `only ${[...RESUMABLE].join(", ")} may change on resume; start a new run (or --init-from) to change the rest`,
    );
  }
  const out = applyOverrides(saved, overrides, where);
  validateTrainConfig(out, where);
  return out;
}
