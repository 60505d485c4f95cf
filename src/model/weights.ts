// Checkpoints in official names: streaming load with a full report of every problem, and save (same names and order).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError, fmtShape } from "../tensor/errors.ts";
import { fromF32, toF32, tree, type Tensor } from "../tensor/index.ts";
import { SafetensorsReader } from "../tensor/safetensors.ts";
import { SafetensorsWriter, type TensorSpec } from "../tensor/safetensors-writer.ts";
import { internVision, parseConfig, type ModelConfig } from "./config.ts";
import { checkpointNames, getPath, paramTable, setPath, type ParamEntry } from "./params.ts";
import { type ModelParams } from "./types.ts";

/**
 * Buffers in official files, accepted and ignored: the Cosmos TorchScript Haar filter and index (3B `model.cosmos`,
 * 2B `model.cosmos_tokenizer`), and the 2B policy's ImageNet statistics (the config holds them).
 */
const IGNORED_BUFFER = /^model\.(cosmos|cosmos_tokenizer)\._(enc|dec)_model\.(encoder\.patcher|decoder\.unpatcher)\.(wavelets|_arange)$|^model\.imagenet_(mean|std)$/;

/** Everything wrong between a checkpoint and the model, found in one pass. */
export interface CheckpointReport {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly { readonly name: string; readonly expected: readonly number[]; readonly found: readonly number[] }[];
}

/** Where each table entry is read from: its own name, or its alias (the tied embedding's `embed_tokens` copy). */
function sourceName(e: ParamEntry, has: (n: string) => boolean): string | undefined {
  if (has(e.name)) return e.name;
  if (e.alias && has(e.alias)) return e.alias;
  return undefined;
}

/** Compares a file's tensors with the model's table (names and shapes). */
export function checkCheckpoint(table: readonly ParamEntry[], shapes: ReadonlyMap<string, readonly number[]>): CheckpointReport {
  const has = (n: string) => shapes.has(n);
  const used = new Set<string>();
  const missing: string[] = [];
  const mismatched: { name: string; expected: readonly number[]; found: readonly number[] }[] = [];
  for (const e of table) {
    const src = sourceName(e, has);
    if (!src) {
      missing.push(e.name);
      continue;
    }
    used.add(src);
    if (e.alias) used.add(e.alias); // both copies of a tied pair may be stored
    const found = shapes.get(src)!;
    if (found.length !== e.shape.length || found.some((d, i) => d !== e.shape[i])) mismatched.push({ name: src, expected: e.shape, found });
  }
  const unexpected = [...shapes.keys()].filter((n) => !used.has(n) && !IGNORED_BUFFER.test(n));
  return { missing, unexpected, mismatched };
}

/** The report as one message (every problem listed), or undefined when the checkpoint fits. */
export function formatReport(path: string, r: CheckpointReport): string | undefined {
  const n = r.missing.length + r.unexpected.length + r.mismatched.length;
  if (n === 0) return undefined;
  const lines = [`${path}: checkpoint does not match the model config: ${r.missing.length} missing, ${r.unexpected.length} unexpected, ${r.mismatched.length} shape mismatches`];
  for (const m of r.missing) lines.push(`  missing:    ${m}`);
  for (const u of r.unexpected) lines.push(`  unexpected: ${u}`);
  for (const m of r.mismatched) lines.push(`  shape:      ${m.name}: expected ${fmtShape(m.expected)}, found ${fmtShape(m.found)}`);
  return lines.join("\n");
}

/**
 * Streams a checkpoint in official names, one tensor at a time (BF16/F16 widened to float32), into `sink`.
 * First compares every name and shape with the table of `cfg` and throws ONE CheckpointError listing all
 * missing, unexpected and mis-shaped tensors. The tied embedding is read from `lm_head` (or its
 * `embed_tokens` alias); the Cosmos `wavelets` / `_arange` buffers are ignored. A truncated or corrupt file
 * fails when opened (the header must tile the file exactly). Peak memory is the sink's plus one tensor.
 */
export async function streamWeights(
  path: string,
  cfg: ModelConfig,
  sink: (entry: ParamEntry, data: Float32Array) => void | Promise<void>,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const table = paramTable(cfg);
  const reader = await SafetensorsReader.open(path);
  try {
    const shapes = new Map(reader.names().map((n) => [n, reader.info(n).shape] as const));
    const message = formatReport(path, checkCheckpoint(table, shapes));
    if (message) throw new CheckpointError(message, "check that config.json matches the weights (preset, layer count, widths)");
    let done = 0;
    for (const e of table) {
      await sink(e, await reader.readF32(sourceName(e, (n) => reader.has(n))!));
      opts.onProgress?.(++done, table.length);
    }
  } finally {
    await reader.close();
  }
}

/** Loads a checkpoint (see `streamWeights`) into engine tensors: fresh ModelParams for `cfg`. */
export async function loadWeights(path: string, cfg: ModelConfig, opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<ModelParams> {
  const root: Record<string, unknown> = {};
  try {
    await streamWeights(path, cfg, (e, data) => setPath(root, e.path, fromF32(data, e.shape)), opts);
  } catch (err) {
    tree.dispose(root as never);
    throw err;
  }
  return root as unknown as ModelParams;
}

/** The buffers official files carry besides the parameters (see IGNORED_BUFFER), with their values. */
function officialBuffers(cfg: ModelConfig, dtype: "F32" | "BF16"): (TensorSpec & { data: Float32Array | BigInt64Array })[] {
  const buffers: (TensorSpec & { data: Float32Array | BigInt64Array })[] = [];
  const cosmos = checkpointNames(cfg).cosmos;
  for (const [side, name] of [["_enc_model", "encoder.patcher"], ["_dec_model", "decoder.unpatcher"]]) {
    buffers.push({ name: `${cosmos}${side}.${name}.wavelets`, dtype, shape: [2], data: new Float32Array([Math.SQRT1_2, Math.SQRT1_2]) });
    buffers.push({ name: `${cosmos}${side}.${name}._arange`, dtype: "I64", shape: [2], data: new BigInt64Array([0n, 1n]) });
  }
  if (cfg.model_type === "interna1") {
    const v = internVision(cfg);
    buffers.push({ name: "model.imagenet_mean", dtype: "F32", shape: [1, 3, 1, 1], data: Float32Array.from(v.imagenet_mean) });
    buffers.push({ name: "model.imagenet_std", dtype: "F32", shape: [1, 3, 1, 1], data: Float32Array.from(v.imagenet_std) });
  }
  return buffers;
}

/**
 * Writes `params` in official names and order (float32, or bf16 to halve the size), including the Cosmos
 * buffers official files carry, so the file loads here and in the official code. Borrows `params`.
 */
export async function saveWeights(path: string, params: ModelParams, cfg: ModelConfig, opts: { dtype?: "F32" | "BF16"; metadata?: Record<string, string> } = {}): Promise<void> {
  const table = paramTable(cfg);
  const dtype = opts.dtype ?? "F32";
  const buffers = officialBuffers(cfg, dtype);
  const specs: TensorSpec[] = [...table.map((e) => ({ name: e.name, dtype, shape: e.shape })), ...buffers];
  const w = await SafetensorsWriter.create(path, specs, { format: "pt", ...opts.metadata });
  try {
    for (const e of table) {
      const t = getPath(params, e.path) as Tensor;
      await w.write(e.name, await toF32(t.ref));
    }
    for (const b of buffers) await w.write(b.name, b.data);
  } catch (err) {
    await w.abort();
    throw err;
  }
  await w.close();
}

/**
 * A checkpoint folder: `dir/config.json` (ours, or an official LeRobot one; see `parseConfig`) and
 * `dir/model.safetensors` in official names. Returns the config, the loaded parameters and the config keys
 * that were ignored.
 */
export async function loadCheckpoint(
  dir: string,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<{ config: ModelConfig; params: ModelParams; ignored: string[] }> {
  const cfgPath = join(dir, "config.json");
  for (const f of [cfgPath, join(dir, "model.safetensors")]) {
    if (!existsSync(f)) throw new CheckpointError(`${f} not found; expected a checkpoint folder with config.json and model.safetensors`);
  }
  const { config, ignored } = parseConfig(await readFile(cfgPath, "utf8"), cfgPath);
  const params = await loadWeights(join(dir, "model.safetensors"), config, opts);
  return { config, params, ignored };
}
