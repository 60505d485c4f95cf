// What a run starts from: the text tokenizer, the initial weights (fresh, --init-from, --tokenizer) and optimizer state.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "../tensor/errors.ts";
import { keyFromSeed } from "../tensor/index.ts";
import { type ModelConfig } from "../model/config.ts";
import { initModel } from "../model/params.ts";
import { DEFAULT_WORDS, builtinTokenizer, hfTokenizer, trainVocabulary, type TextTokenizer } from "../model/tokenizer.ts";
import { type ModelParams } from "../model/types.ts";
import { checkpointModelConfig, latestCheckpointDir, loadHostWeights } from "./checkpoint.ts";
import { type Host, toHostTree } from "./engine.ts";
import { loadCosmos } from "./tokenizer-stage.ts";

/** Id room of the built-in vocabulary: 0 pad, 256 bytes, 3 vision specials; words take two ids each. */
const BUILTIN_RESERVED = 1 + 256 + 3;

/** A text tokenizer and the files that recreate it in a checkpoint folder (src/serve/checkpoint.ts loadTokenizer). */
export interface TextTokenizerFiles {
  readonly tokenizer: TextTokenizer;
  readonly files: Readonly<Record<string, string>>;
}

/** The tokenizer files of a checkpoint folder, read back as the tokenizer they describe. */
function tokenizerFromCheckpoint(dir: string, cfg: ModelConfig): TextTokenizerFiles {
  for (const names of [["tokenizer.json", "tokenizer_config.json"], ["vocabulary.json"]]) {
    if (!existsSync(join(dir, names[0]))) continue;
    const files = Object.fromEntries(names.filter((n) => existsSync(join(dir, n))).map((n) => [n, readFileSync(join(dir, n), "utf8")]));
    return { tokenizer: textTokenizer(files, cfg, dir), files };
  }
  throw new CheckpointError(`${dir}: no tokenizer files (tokenizer.json or vocabulary.json)`, "post-train from a checkpoint written by internvla train");
}

function textTokenizer(files: Readonly<Record<string, string>>, cfg: ModelConfig, where: string): TextTokenizer {
  if (files["tokenizer.json"] !== undefined) return hfTokenizer(files["tokenizer.json"], files["tokenizer_config.json"] ?? "{}", where);
  return builtinTokenizer(cfg.text_config.vocab_size, JSON.parse(files["vocabulary.json"]) as string[]);
}

/**
 * The run's text tokenizer: the one of the checkpoint it starts from (ids must not change), a Hugging Face
 * tokenizer.json (the a1-3b Qwen tokenizer), or a built-in vocabulary trained on the datasets' instructions and
 * completed with the simulator's words (tiny configs).
 */
export function chooseTextTokenizer(cfg: ModelConfig, tasks: readonly string[], from: { checkpoint?: string; hfFile?: string }): TextTokenizerFiles {
  if (from.checkpoint) return tokenizerFromCheckpoint(from.checkpoint, cfg);
  if (from.hfFile) {
    const files = { "tokenizer.json": readFileSync(from.hfFile, "utf8") };
    return { tokenizer: textTokenizer(files, cfg, from.hfFile), files };
  }
  const room = Math.floor((cfg.text_config.vocab_size - BUILTIN_RESERVED) / 2);
  if (room < 16) {
    throw new ConfigError(`text tokenizer: vocab_size ${cfg.text_config.vocab_size} is a pretrained vocabulary; the built-in one is for tiny configs`, "pass --text-tokenizer PATH/tokenizer.json (the Qwen3-VL processor's)");
  }
  const words = [...new Set([...trainVocabulary(tasks, room), ...DEFAULT_WORDS])].slice(0, room);
  const files = { "vocabulary.json": JSON.stringify(words) + "\n" };
  return { tokenizer: builtinTokenizer(cfg.text_config.vocab_size, words), files };
}

/** A checkpoint folder from a checkpoint or a run folder (its `latest`). */
export function checkpointFolder(path: string): string {
  if (existsSync(join(path, "config.json"))) return path;
  const latest = latestCheckpointDir(path);
  if (!latest) throw new CheckpointError(`${path}: neither a checkpoint folder (config.json) nor a run folder with a latest checkpoint`);
  return latest;
}

/** True when two configs have the same architecture (everything but the flow/loss hyper-parameters). */
function sameArchitecture(a: ModelConfig, b: ModelConfig): string[] {
  const free = new Set(["lambda_gen", "num_inference_steps", "time_sampling_beta_alpha", "time_sampling_beta_beta", "time_sampling_scale", "time_sampling_offset"]);
  return Object.keys(a).filter((k) => !free.has(k) && JSON.stringify(a[k as keyof ModelConfig]) !== JSON.stringify(b[k as keyof ModelConfig]));
}

/**
 * The starting weights, as host arrays: `initFrom`'s policy and tokenizer (post-training), else a fresh init from
 * the seed; `cosmos` (a train-tokenizer folder) replaces the frozen tokenizer when given.
 */
export async function initialWeights(cfg: ModelConfig, seed: number, from: { initFrom?: string; cosmos?: string }): Promise<Host<ModelParams>> {
  let params: Host<ModelParams>;
  if (from.initFrom) {
    const other = checkpointModelConfig(from.initFrom);
    const diff = sameArchitecture(cfg, other);
    if (diff.length > 0) {
      throw new ConfigError(`--init-from ${from.initFrom}: its model differs from the run's in ${diff.join(", ")}`, "post-train with the pre-trained checkpoint's model config (same preset and --model overrides)");
    }
    params = await loadHostWeights(from.initFrom, cfg);
  } else {
    params = toHostTree(initModel(cfg, keyFromSeed(seed)));
  }
  if (from.cosmos) params = { ...params, cosmos: await loadCosmos(from.cosmos, cfg) };
  return params;
}
