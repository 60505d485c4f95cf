// Validation of model configs (every rule names the field, the value and the rule) and config.json parsing.
import { ConfigError } from "../tensor/errors.ts";
import { PRESETS, internVision, qwenVision, type ModelConfig } from "./config.ts";

type Json = Record<string, unknown>;

function fail(where: string, field: string, value: unknown, rule: string, hint?: string): never {
  throw new ConfigError(`${where}: ${field} = ${JSON.stringify(value)}; ${rule}`, hint);
}

function posInt(where: string, field: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) fail(where, field, v, "must be a positive integer");
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function validateTowers(cfg: ModelConfig, where: string): void {
  const t = cfg.text_config;
  const e = cfg.expert_config;
  for (const [name, c] of [["text_config", t], ["expert_config", e]] as const) {
    for (const f of ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim"] as const) {
      posInt(where, `${name}.${f}`, c[f]);
    }
    if (c.num_attention_heads % c.num_key_value_heads !== 0) {
      fail(where, `${name}.num_key_value_heads`, c.num_key_value_heads, `must divide num_attention_heads (${c.num_attention_heads})`);
    }
    if (c.head_dim % 2 !== 0) fail(where, `${name}.head_dim`, c.head_dim, "must be even (rotary halves)");
  }
  // One softmax runs over the concatenated heads of all three towers (architecture.md §1.2).
  for (const f of ["num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim"] as const) {
    if (t[f] !== e[f]) fail(where, `expert_config.${f}`, e[f], `must equal text_config.${f} (${t[f]}): the three towers share one attention`);
  }
  const s = t.mrope_section;
  if (!Array.isArray(s) || s.length !== 3 || s[0] + s[1] + s[2] !== t.head_dim / 2) {
    fail(where, "text_config.mrope_section", s, `must be 3 integers summing to head_dim / 2 = ${t.head_dim / 2}`);
  }
  posInt(where, "text_config.vocab_size", t.vocab_size);
  for (const f of ["image_token_id", "vision_start_token_id", "vision_end_token_id", "pad_token_id"] as const) {
    if (!Number.isInteger(cfg[f]) || cfg[f] < 0 || cfg[f] >= t.vocab_size) fail(where, f, cfg[f], `must be a token id below vocab_size ${t.vocab_size}`);
  }
}

function validateVision(cfg: ModelConfig, where: string): void {
  if (cfg.model_type === "interna1") return validateInternVision(cfg, where);
  const v = qwenVision(cfg);
  for (const f of ["hidden_size", "intermediate_size", "depth", "num_heads", "patch_size", "temporal_patch_size", "spatial_merge_size", "image_size"] as const) {
    posInt(where, `vision_config.${f}`, v[f]);
  }
  if (v.hidden_size % v.num_heads !== 0 || (v.hidden_size / v.num_heads) % 4 !== 0) {
    fail(where, "vision_config.num_heads", v.num_heads, `must split hidden_size ${v.hidden_size} into heads of a multiple of 4 (2-D rotary)`);
  }
  if (v.image_size % (v.patch_size * v.spatial_merge_size) !== 0) {
    fail(where, "vision_config.image_size", v.image_size, `must be a multiple of patch_size * spatial_merge_size = ${v.patch_size * v.spatial_merge_size}`);
  }
  const side = Math.round(Math.sqrt(v.num_position_embeddings));
  if (side * side !== v.num_position_embeddings) fail(where, "vision_config.num_position_embeddings", v.num_position_embeddings, "must be a square number (a side x side table)");
  if (v.out_hidden_size !== cfg.text_config.hidden_size) {
    fail(where, "vision_config.out_hidden_size", v.out_hidden_size, `must equal text_config.hidden_size (${cfg.text_config.hidden_size})`);
  }
}

/** InternViT (`interna1`): the HF InternVLVisionConfig fields this port implements, and the pixel-shuffle geometry. */
function validateInternVision(cfg: ModelConfig, where: string): void {
  const v = internVision(cfg);
  for (const f of ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "patch_size", "image_size"] as const) {
    posInt(where, `vision_config.${f}`, v[f]);
  }
  if (v.hidden_size % v.num_attention_heads !== 0) fail(where, "vision_config.num_attention_heads", v.num_attention_heads, `must divide hidden_size ${v.hidden_size}`);
  if (!(v.layer_norm_eps > 0)) fail(where, "vision_config.layer_norm_eps", v.layer_norm_eps, "must be > 0");
  for (const f of ["attention_bias", "use_qk_norm", "use_mean_pooling"] as const) {
    if (typeof v[f] !== "boolean") fail(where, `vision_config.${f}`, v[f], "must be true or false");
  }
  if (v.use_qk_norm) fail(where, "vision_config.use_qk_norm", v.use_qk_norm, "only false (InternViT-300M) is implemented");
  if (v.norm_type !== "layer_norm") fail(where, "vision_config.norm_type", v.norm_type, 'only "layer_norm" (InternViT-300M) is implemented');
  for (const f of ["hidden_act", "projector_hidden_act"] as const) {
    if (v[f] !== "gelu") fail(where, `vision_config.${f}`, v[f], 'only "gelu" (exact) is implemented');
  }
  const k = Math.round(1 / v.downsample_ratio);
  if (!(v.downsample_ratio > 0) || Math.abs(k * v.downsample_ratio - 1) > 1e-9) {
    fail(where, "vision_config.downsample_ratio", v.downsample_ratio, "must be 1 / n for an integer n (pixel shuffle)");
  }
  if (v.image_size % (v.patch_size * k) !== 0) {
    fail(where, "vision_config.image_size", v.image_size, `must be a multiple of patch_size / downsample_ratio = ${v.patch_size * k}`);
  }
  for (const f of ["imagenet_mean", "imagenet_std"] as const) {
    const a = v[f];
    if (!Array.isArray(a) || a.length !== 3 || a.some((x) => typeof x !== "number" || (f === "imagenet_std" && !(x > 0)))) {
      fail(where, `vision_config.${f}`, a, f === "imagenet_std" ? "must be 3 positive numbers (R, G, B)" : "must be 3 numbers (R, G, B)");
    }
  }
}

function validateCosmos(cfg: ModelConfig, where: string): void {
  const c = cfg.cosmos_config;
  for (const f of ["channels", "num_res_blocks", "latent_channels", "resolution", "num_groups"] as const) posInt(where, `cosmos_config.${f}`, c[f]);
  if (!isPow2(c.patch_size)) fail(where, "cosmos_config.patch_size", c.patch_size, "must be a power of two (Haar levels)");
  if (!isPow2(c.spatial_compression) || c.spatial_compression < c.patch_size) {
    fail(where, "cosmos_config.spatial_compression", c.spatial_compression, `must be a power of two >= patch_size ${c.patch_size}`);
  }
  const downs = Math.log2(c.spatial_compression) - Math.log2(c.patch_size);
  if (c.channels_mult.length < downs) fail(where, "cosmos_config.channels_mult", c.channels_mult, `needs at least ${downs} levels for the downsamples`);
  for (const m of [1, ...c.channels_mult]) {
    if ((c.channels * m) % c.num_groups !== 0) fail(where, "cosmos_config.channels_mult", c.channels_mult, `channels x mult must be divisible by num_groups ${c.num_groups}`);
  }
  if (c.resolution % c.spatial_compression !== 0) fail(where, "cosmos_config.resolution", c.resolution, `must be a multiple of spatial_compression ${c.spatial_compression}`);
  const latent = c.resolution / c.spatial_compression;
  if (latent % cfg.scale_factor !== 0) fail(where, "scale_factor", cfg.scale_factor, `must divide the latent size ${latent} (resolution / spatial_compression)`);
}

/** Checks every rule; throws ConfigError naming the field, the value and the rule. */
export function validateConfig(cfg: ModelConfig, where = "model config"): void {
  if (cfg.model_type !== "qwena1" && cfg.model_type !== "interna1") fail(where, "model_type", cfg.model_type, 'must be "qwena1" (3B) or "interna1" (2B)');
  for (const f of ["chunk_size", "max_action_dim", "max_state_dim", "num_inference_steps", "scale_factor", "n_views", "n_text_tokens"] as const) {
    posInt(where, f, cfg[f]);
  }
  if (!(cfg.lambda_gen >= 0)) fail(where, "lambda_gen", cfg.lambda_gen, "must be >= 0");
  if (typeof cfg.use_gen_expert !== "boolean") fail(where, "use_gen_expert", cfg.use_gen_expert, "must be true or false");
  if (cfg.inference_positions !== "as_trained" && cfg.inference_positions !== "official") {
    fail(where, "inference_positions", cfg.inference_positions, 'must be "as_trained" or "official"');
  }
  if (!(cfg.min_period > 0 && cfg.max_period > cfg.min_period)) fail(where, "max_period", cfg.max_period, `must exceed min_period ${cfg.min_period} > 0`);
  if (cfg.expert_config.hidden_size % 2 !== 0) fail(where, "expert_config.hidden_size", cfg.expert_config.hidden_size, "must be even (sin/cos time embedding)");
  validateTowers(cfg, where);
  validateVision(cfg, where);
  validateCosmos(cfg, where);
}

function mergeKnown(base: Json, over: Json, path: string, ignored: string[]): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (!(k in base)) {
      ignored.push(path + k);
      continue;
    }
    const b = base[k];
    const nested = b !== null && typeof b === "object" && !Array.isArray(b);
    out[k] = nested && v !== null && typeof v === "object" && !Array.isArray(v) ? mergeKnown(b as Json, v as Json, `${path}${k}.`, ignored) : v;
  }
  return out;
}

/** The number of layers encoded in an official variant string such as "qwen3_vl_28l". */
function variantLayers(v: unknown): number | undefined {
  const m = typeof v === "string" ? /_(\d+)l$/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * A config from config.json text: our own files, or an official LeRobot `qwena1` / `interna1` config (its
 * fields are laid over the matching preset; `qwen3_vl_variant` "…_28l" sets the depth). Keys we do not model
 * (optimizer, features, …) are returned in `ignored`. The result is validated.
 */
export function parseConfig(text: string, where = "config.json"): { config: ModelConfig; ignored: string[] } {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (e) {
    throw new ConfigError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const type = (json.model_type ?? json.type) as string | undefined;
  const base = type === "interna1" ? PRESETS["a1-2b"] : PRESETS["a1-3b"];
  if (type !== undefined && type !== "qwena1" && type !== "interna1") {
    throw new ConfigError(`${where}: model type "${type}" is not an InternVLA-A1 policy; expected "qwena1" or "interna1"`);
  }
  const ignored: string[] = [];
  const { type: _t, ...rest } = json;
  let merged = mergeKnown(base as unknown as Json, { ...rest, model_type: type ?? base.model_type }, "", ignored) as unknown as ModelConfig;
  const layers = variantLayers(json.qwen3_vl_variant) ?? variantLayers(json.action_expert_variant);
  if (layers !== undefined && !("text_config" in json)) {
    merged = { ...merged, text_config: { ...merged.text_config, num_hidden_layers: layers }, expert_config: { ...merged.expert_config, num_hidden_layers: layers } };
  }
  validateConfig(merged, where);
  return { config: merged, ignored: ignored.filter((k) => !["qwen3_vl_variant", "action_expert_variant"].includes(k)) };
}
