// The one explicit table between our parameter tree and the official checkpoint names, and initialisation from it.
import { np, random, splitKey, type Key, type Tensor } from "../tensor/index.ts";
import { internVision, qwenVision, type ModelConfig, type TowerConfig } from "./config.ts";
import { type ModelParams } from "./types.ts";

/**
 * How a fresh parameter is drawn (HF init: normal std 0.02; norm scales 1; biases 0; Cosmos convs ~ 1/sqrt(fan_in);
 * "constant": every element `value`, the InternViT layer scales).
 */
export type InitRule = "normal" | "ones" | "zeros" | "fanIn" | "constant";

/** One tensor: official name, where it lives in ModelParams, its shape and its init rule. */
export interface ParamEntry {
  readonly name: string;
  readonly path: readonly (string | number)[];
  readonly shape: readonly number[];
  readonly init: InitRule;
  /** The fill value of a "constant" entry. */
  readonly value?: number;
  /** Another name the tensor may be stored under (the tied embedding's second copy), accepted when present. */
  readonly alias?: string;
}

const Q = "model.qwen3_vl_with_expert.";
/** The official prefix of each 3B text tower. */
export const TOWER_PREFIX = { und: `${Q}und_expert.model.language_model.`, gen: `${Q}gen_expert.`, act: `${Q}act_expert.` } as const;
/** The 3B tied embedding's stored name (save_model keeps the alphabetically first of the tied pair). */
export const EMBED_NAME = `${Q}und_expert.lm_head.weight`;
/** Its alias, absent from official files and accepted when present. */
export const EMBED_ALIAS = `${TOWER_PREFIX.und}embed_tokens.weight`;

/** The official module paths of one model type. */
export interface CheckpointNames {
  readonly vision: string;
  readonly und: string;
  readonly gen: string;
  readonly act: string;
  readonly embed: string;
  readonly embedAlias?: string;
  /** The untied lm_head (2B), kept in the tree and never run. */
  readonly lmHead?: string;
  /** The Cosmos tokenizer module (`…._enc_model.*`, `…._dec_model.*`). */
  readonly cosmos: string;
  /** Names of the gen adapters and head: 3B `cosmos_*`, 2B `gen_*`. */
  readonly genIn: string;
  readonly genOut: string;
  readonly genOutNorm: string;
}

const A1_3B_NAMES: CheckpointNames = {
  vision: `${Q}und_expert.model.visual.`, ...TOWER_PREFIX, embed: EMBED_NAME, embedAlias: EMBED_ALIAS, cosmos: "model.cosmos.",
  genIn: "model.cosmos_in_proj", genOut: "model.cosmos_out_proj", genOutNorm: "model.cosmos_out_layer_norm",
};

/**
 * The 2B names, from the official InternVLA_A1_2B/modeling_internvla_a1.py (InternA1Policy.model = InternA1;
 * InternA1.internvl_with_expert = InternVL3WithExpertModel holding und_expert = HF
 * InternVLForConditionalGeneration and gen/act_expert = HF Qwen2ForCausalLM; InternA1.gen_in_proj, gen_out_proj,
 * gen_out_layer_norm, cosmos_tokenizer) and HF InternVL / Qwen2 module names beneath. No 2B checkpoint exists to
 * check them against (the weights are unreleased).
 */
function interna1Names(cfg: ModelConfig): CheckpointNames {
  const I = "model.internvl_with_expert.";
  const und = `${I}und_expert.model.language_model.`;
  const lmHead = `${I}und_expert.lm_head.weight`;
  const tied = cfg.text_config.tie_word_embeddings;
  return {
    vision: `${I}und_expert.model.`, und, gen: `${I}gen_expert.model.`, act: `${I}act_expert.model.`,
    embed: tied ? lmHead : `${und}embed_tokens.weight`, embedAlias: tied ? `${und}embed_tokens.weight` : undefined,
    lmHead: tied ? undefined : lmHead, cosmos: "model.cosmos_tokenizer.",
    genIn: "model.gen_in_proj", genOut: "model.gen_out_proj", genOutNorm: "model.gen_out_layer_norm",
  };
}

/** The official names of `cfg`'s model type. */
export function checkpointNames(cfg: ModelConfig): CheckpointNames {
  return cfg.model_type === "interna1" ? interna1Names(cfg) : A1_3B_NAMES;
}

type Path = (string | number)[];

class Table {
  readonly entries: ParamEntry[] = [];
  add(name: string, path: Path, shape: number[], init: InitRule, extra: { value?: number; alias?: string } = {}): void {
    this.entries.push({ name, path, shape, init, ...extra });
  }
  linear(name: string, path: Path, out: number, inp: number, bias: boolean, init: InitRule = "normal"): void {
    this.add(`${name}.weight`, [...path, "weight"], [out, inp], init);
    if (bias) this.add(`${name}.bias`, [...path, "bias"], [out], "zeros");
  }
  norm(name: string, path: Path, dim: number): void {
    this.add(`${name}.weight`, [...path, "weight"], [dim], "ones");
    this.add(`${name}.bias`, [...path, "bias"], [dim], "zeros");
  }
  /** A conv (weight [O, I, kh, kw], bias [O]) or, with biasAxis 1, a transposed conv (weight [I, O, kh, kw]). */
  conv(name: string, path: Path, shape: number[], init: InitRule = "fanIn", biasAxis: 0 | 1 = 0): void {
    this.add(`${name}.weight`, [...path, "weight"], shape, init);
    this.add(`${name}.bias`, [...path, "bias"], [shape[biasAxis]], "zeros");
  }
}

function towerEntries(t: Table, prefix: string, root: Path, c: TowerConfig): void {
  const { hidden_size: D, intermediate_size: I, num_attention_heads: H, num_key_value_heads: KV, head_dim: hd } = c;
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `${prefix}layers.${i}.`;
    const r: Path = [...root, "layers", i];
    const a: Path = [...r, "self_attn"];
    t.linear(`${p}self_attn.q_proj`, [...a, "q_proj"], H * hd, D, c.attention_bias);
    t.linear(`${p}self_attn.k_proj`, [...a, "k_proj"], KV * hd, D, c.attention_bias);
    t.linear(`${p}self_attn.v_proj`, [...a, "v_proj"], KV * hd, D, c.attention_bias);
    t.linear(`${p}self_attn.o_proj`, [...a, "o_proj"], D, H * hd, false);
    if (c.use_qk_norm) {
      t.add(`${p}self_attn.q_norm.weight`, [...a, "q_norm"], [hd], "ones");
      t.add(`${p}self_attn.k_norm.weight`, [...a, "k_norm"], [hd], "ones");
    }
    t.linear(`${p}mlp.gate_proj`, [...r, "mlp", "gate_proj"], I, D, false);
    t.linear(`${p}mlp.up_proj`, [...r, "mlp", "up_proj"], I, D, false);
    t.linear(`${p}mlp.down_proj`, [...r, "mlp", "down_proj"], D, I, false);
    t.add(`${p}input_layernorm.weight`, [...r, "input_layernorm"], [D], "ones");
    t.add(`${p}post_attention_layernorm.weight`, [...r, "post_attention_layernorm"], [D], "ones");
  }
  t.add(`${prefix}norm.weight`, [...root, "norm"], [D], "ones");
}

function mergerEntries(t: Table, name: string, path: Path, cfg: ModelConfig, postShuffle: boolean): void {
  const v = qwenVision(cfg);
  const wide = v.hidden_size * v.spatial_merge_size ** 2;
  t.norm(`${name}.norm`, [...path, "norm"], postShuffle ? wide : v.hidden_size);
  t.linear(`${name}.linear_fc1`, [...path, "linear_fc1"], wide, wide, true);
  t.linear(`${name}.linear_fc2`, [...path, "linear_fc2"], v.out_hidden_size, wide, true);
}

function visionEntries(t: Table, cfg: ModelConfig, vis: string): void {
  const v = qwenVision(cfg);
  const root: Path = ["policy", "vision"];
  const Dv = v.hidden_size;
  t.add(`${vis}patch_embed.proj.weight`, [...root, "patch_embed", "proj", "weight"], [Dv, 3, v.temporal_patch_size, v.patch_size, v.patch_size], "normal");
  t.add(`${vis}patch_embed.proj.bias`, [...root, "patch_embed", "proj", "bias"], [Dv], "zeros");
  t.add(`${vis}pos_embed.weight`, [...root, "pos_embed"], [v.num_position_embeddings, Dv], "normal");
  for (let i = 0; i < v.depth; i++) {
    const p = `${vis}blocks.${i}.`;
    const r: Path = [...root, "blocks", i];
    t.norm(`${p}norm1`, [...r, "norm1"], Dv);
    t.norm(`${p}norm2`, [...r, "norm2"], Dv);
    t.linear(`${p}attn.qkv`, [...r, "attn", "qkv"], 3 * Dv, Dv, true);
    t.linear(`${p}attn.proj`, [...r, "attn", "proj"], Dv, Dv, true);
    t.linear(`${p}mlp.linear_fc1`, [...r, "mlp", "linear_fc1"], v.intermediate_size, Dv, true);
    t.linear(`${p}mlp.linear_fc2`, [...r, "mlp", "linear_fc2"], Dv, v.intermediate_size, true);
  }
  mergerEntries(t, `${vis}merger`, [...root, "merger"], cfg, false);
  v.deepstack_visual_indexes.forEach((_, j) => mergerEntries(t, `${vis}deepstack_merger_list.${j}`, [...root, "deepstack_merger_list", j], cfg, true));
}

/** InternViT (`vision_tower.*`) and the InternVL3 projector (`multi_modal_projector.*`), HF InternVL names and init. */
function internVisionEntries(t: Table, cfg: ModelConfig, prefix: string): void {
  const v = internVision(cfg);
  const D = v.hidden_size;
  const P = v.patch_size;
  const root: Path = ["policy", "vision"];
  const e = `${prefix}vision_tower.embeddings.`;
  const er: Path = [...root, "embeddings"];
  t.add(`${e}cls_token`, [...er, "cls_token"], [1, 1, D], "zeros");
  t.conv(`${e}patch_embeddings.projection`, [...er, "patch_embeddings", "projection"], [D, 3, P, P], "normal");
  t.add(`${e}position_embeddings`, [...er, "position_embeddings"], [1, 1 + (v.image_size / P) ** 2, D], "zeros");
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const p = `${prefix}vision_tower.encoder.layer.${i}.`;
    const r: Path = [...root, "encoder", "layer", i];
    for (const q of ["q_proj", "k_proj", "v_proj"]) t.linear(`${p}attention.${q}`, [...r, "attention", q], D, D, v.attention_bias);
    t.linear(`${p}attention.projection_layer`, [...r, "attention", "projection_layer"], D, D, true);
    for (const l of ["lambda_1", "lambda_2"]) t.add(`${p}${l}`, [...r, l], [D], "constant", { value: v.layer_scale_init_value });
    t.norm(`${p}layernorm_before`, [...r, "layernorm_before"], D);
    t.norm(`${p}layernorm_after`, [...r, "layernorm_after"], D);
    t.linear(`${p}mlp.fc1`, [...r, "mlp", "fc1"], v.intermediate_size, D, true);
    t.linear(`${p}mlp.fc2`, [...r, "mlp", "fc2"], D, v.intermediate_size, true);
  }
  if (!v.use_mean_pooling) t.norm(`${prefix}vision_tower.layernorm`, [...root, "layernorm"], D);
  const wide = D * Math.round(1 / v.downsample_ratio) ** 2;
  const m = `${prefix}multi_modal_projector.`;
  const mr: Path = [...root, "multi_modal_projector"];
  t.norm(`${m}layer_norm`, [...mr, "layer_norm"], wide);
  t.linear(`${m}linear_1`, [...mr, "linear_1"], cfg.text_config.hidden_size, wide, true);
  t.linear(`${m}linear_2`, [...mr, "linear_2"], cfg.text_config.hidden_size, cfg.text_config.hidden_size, true);
}

function resEntries(t: Table, name: string, path: Path, cin: number, cout: number): void {
  t.norm(`${name}.norm1`, [...path, "norm1"], cin);
  t.conv(`${name}.conv1`, [...path, "conv1"], [cout, cin, 3, 3]);
  t.norm(`${name}.norm2`, [...path, "norm2"], cout);
  t.conv(`${name}.conv2`, [...path, "conv2"], [cout, cout, 3, 3]);
  if (cin !== cout) t.conv(`${name}.nin_shortcut`, [...path, "nin_shortcut"], [cout, cin, 1, 1]);
}

function midEntries(t: Table, name: string, path: Path, c: number): void {
  resEntries(t, `${name}.block_1`, [...path, "block_1"], c, c);
  t.norm(`${name}.attn_1.norm`, [...path, "attn_1", "norm"], c);
  for (const k of ["q", "k", "v", "proj_out"]) t.conv(`${name}.attn_1.${k}`, [...path, "attn_1", k], [c, c, 1, 1]);
  resEntries(t, `${name}.block_2`, [...path, "block_2"], c, c);
}

/** Number of Cosmos levels and of down/up-samples (log2 compression - log2 patch). */
export function cosmosLevels(cfg: ModelConfig): { levels: number; resamples: number } {
  const c = cfg.cosmos_config;
  return { levels: c.channels_mult.length, resamples: Math.log2(c.spatial_compression) - Math.log2(c.patch_size) };
}

function cosmosEntries(t: Table, cfg: ModelConfig, cosmos: string): void {
  const ENC = `${cosmos}_enc_model.`;
  const DEC = `${cosmos}_dec_model.`;
  const c = cfg.cosmos_config;
  const { levels, resamples } = cosmosLevels(cfg);
  const ch = (m: number) => c.channels * m;
  const patchCh = 3 * c.patch_size ** 2;
  const top = ch(c.channels_mult[levels - 1]);
  const e: Path = ["cosmos", "encoder"];
  t.conv(`${ENC}encoder.conv_in`, [...e, "conv_in"], [c.channels, patchCh, 3, 3]);
  const inMult = [1, ...c.channels_mult];
  for (let l = 0; l < levels; l++) {
    let cin = ch(inMult[l]);
    for (let b = 0; b < c.num_res_blocks; b++) {
      resEntries(t, `${ENC}encoder.down.${l}.block.${b}`, [...e, "down", l, "block", b], cin, ch(c.channels_mult[l]));
      cin = ch(c.channels_mult[l]);
    }
    if (l < resamples) t.conv(`${ENC}encoder.down.${l}.downsample.conv`, [...e, "down", l, "downsample", "conv"], [cin, cin, 3, 3]);
  }
  midEntries(t, `${ENC}encoder.mid`, [...e, "mid"], top);
  t.norm(`${ENC}encoder.norm_out`, [...e, "norm_out"], top);
  t.conv(`${ENC}encoder.conv_out`, [...e, "conv_out"], [c.latent_channels, top, 3, 3]);
  t.conv(`${ENC}quant_conv`, ["cosmos", "quant_conv"], [c.latent_channels, c.latent_channels, 1, 1]);
  t.conv(`${DEC}post_quant_conv`, ["cosmos", "post_quant_conv"], [c.latent_channels, c.latent_channels, 1, 1]);
  const d: Path = ["cosmos", "decoder"];
  t.conv(`${DEC}decoder.conv_in`, [...d, "conv_in"], [top, c.latent_channels, 3, 3]);
  midEntries(t, `${DEC}decoder.mid`, [...d, "mid"], top);
  let cin = top;
  for (let l = levels - 1; l >= 0; l--) {
    for (let b = 0; b <= c.num_res_blocks; b++) {
      resEntries(t, `${DEC}decoder.up.${l}.block.${b}`, [...d, "up", l, "block", b], cin, ch(c.channels_mult[l]));
      cin = ch(c.channels_mult[l]);
    }
    if (l >= levels - resamples) t.conv(`${DEC}decoder.up.${l}.upsample.conv`, [...d, "up", l, "upsample", "conv"], [cin, cin, 3, 3]);
  }
  t.norm(`${DEC}decoder.norm_out`, [...d, "norm_out"], cin);
  t.conv(`${DEC}decoder.conv_out`, [...d, "conv_out"], [patchCh, cin, 3, 3]);
}

function headEntries(t: Table, cfg: ModelConfig, n: CheckpointNames): void {
  const De = cfg.expert_config.hidden_size;
  const z = cfg.cosmos_config.latent_channels;
  const k = cfg.scale_factor;
  const p: Path = ["policy"];
  t.conv(n.genIn, [...p, "cosmos_in_proj"], [De, z, 1, 1], "normal");
  t.conv("model.downsample_conv", [...p, "downsample_conv"], [De, De, k, k], "normal");
  t.conv("model.upsample_conv", [...p, "upsample_conv"], [De, De, k, k], "normal", 1);
  t.linear(n.genOut, [...p, "cosmos_out_proj"], z, De, true);
  t.norm(n.genOutNorm, [...p, "cosmos_out_layer_norm"], De);
  t.linear("model.action_in_proj", [...p, "action_in_proj"], De, cfg.max_action_dim, true);
  t.linear("model.action_out_proj", [...p, "action_out_proj"], cfg.max_action_dim, De, true);
  t.linear("model.state_proj", [...p, "state_proj"], De, cfg.max_state_dim, true);
  t.linear("model.action_time_mlp_in", [...p, "action_time_mlp_in"], De, 2 * De, true);
  t.linear("model.action_time_mlp_out", [...p, "action_time_mlp_out"], De, De, true);
}

/** Every tensor of the model in official names, in the checkpoint's order (weights-3b.tsv at a1-3b). */
export function paramTable(cfg: ModelConfig): readonly ParamEntry[] {
  const t = new Table();
  const n = checkpointNames(cfg);
  const t2 = cfg.text_config;
  if (cfg.model_type === "interna1") internVisionEntries(t, cfg, n.vision);
  else visionEntries(t, cfg, n.vision);
  towerEntries(t, n.und, ["policy", "und"], t2);
  t.add(n.embed, ["policy", "embed_tokens"], [t2.vocab_size, t2.hidden_size], "normal", { alias: n.embedAlias });
  if (n.lmHead) t.add(n.lmHead, ["policy", "lm_head"], [t2.vocab_size, t2.hidden_size], "normal");
  towerEntries(t, n.gen, ["policy", "gen"], cfg.expert_config);
  towerEntries(t, n.act, ["policy", "act"], cfg.expert_config);
  cosmosEntries(t, cfg, n.cosmos);
  headEntries(t, cfg, n);
  return t.entries;
}

/** Total element count of a table (at a1-3b: the policy plus the frozen Cosmos). */
export function countParams(table: readonly ParamEntry[]): number {
  return table.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
}

/** Writes `value` at `path` in a nested tree, creating objects and arrays on the way. */
export function setPath(root: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    if (node[key] === undefined) node[key] = typeof path[i + 1] === "number" ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/** Reads the tensor at `path` (undefined if absent). */
export function getPath(root: unknown, path: readonly (string | number)[]): Tensor | undefined {
  let node = root as Record<string | number, unknown> | undefined;
  for (const key of path) node = node?.[key] as Record<string | number, unknown> | undefined;
  return node as unknown as Tensor | undefined;
}

function initTensor(key: Key, e: ParamEntry): Tensor {
  const shape = [...e.shape];
  if (e.init === "ones") {
    key.dispose();
    return np.ones(shape, { dtype: np.float32 });
  }
  if (e.init === "zeros") {
    key.dispose();
    return np.zeros(shape, { dtype: np.float32 });
  }
  if (e.init === "constant") {
    key.dispose();
    return np.full(shape, e.value ?? 0, { dtype: np.float32 });
  }
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return random.normal(key, shape).mul(e.init === "normal" ? 0.02 : 1 / Math.sqrt(fanIn));
}

/** Fresh parameters for `cfg` (HF-style init; the frozen Cosmos gets fan-in scaled convs). Consumes `key`. */
export function initModel(cfg: ModelConfig, key: Key): ModelParams {
  const table = paramTable(cfg);
  const keys = splitKey(key, table.length);
  const root: Record<string, unknown> = {};
  table.forEach((e, i) => setPath(root, e.path, initTensor(keys[i], e)));
  return root as unknown as ModelParams;
}
