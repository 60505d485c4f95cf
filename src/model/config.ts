// InternVLA-A1 model configs: HF snake_case fields (config.json), presets tiny/small/a1-3b/a1-2b, validation.
import { ConfigError } from "../tensor/errors.ts";
import { closest } from "../cli/args.ts";

/** One Qwen text tower (und, or the shared shape of the gen/act experts). */
export interface TowerConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly head_dim: number;
  readonly rms_norm_eps: number;
  /** Qwen2 (2B) has q/k/v biases; Qwen3 (3B) has none. */
  readonly attention_bias: boolean;
  /** Qwen3 per-head RMSNorm on q and k before RoPE; Qwen2 has none. */
  readonly use_qk_norm: boolean;
}

/** The understanding tower adds the vocabulary and the position scheme, which all towers share. */
export interface TextConfig extends TowerConfig {
  readonly vocab_size: number;
  readonly rope_theta: number;
  /** Interleaved M-RoPE sections (T, H, W) summing to head_dim / 2; [24, 20, 20] at head 128. */
  readonly mrope_section: readonly [number, number, number];
  /** 2B multiplies text embeddings by sqrt(hidden) (a pi0/Gemma carry-over); 3B does not. */
  readonly embed_scale: boolean;
  readonly tie_word_embeddings: boolean;
}

/** Qwen3-VL vision tower. */
export interface VisionConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly depth: number;
  readonly num_heads: number;
  readonly patch_size: number;
  readonly temporal_patch_size: number;
  readonly spatial_merge_size: number;
  /** Learned position table entries (a square grid, 48 x 48 = 2304 at 3B), interpolated to the patch grid. */
  readonly num_position_embeddings: number;
  readonly out_hidden_size: number;
  /** Present in checkpoints, computed and discarded by the official code: we load them and never run them. */
  readonly deepstack_visual_indexes: readonly number[];
  readonly layer_norm_eps: number;
  /** The ViT input size (square): 256 at 3B (the processor's smart-resize of the 224 letterbox). */
  readonly image_size: number;
}

/**
 * InternViT (HF `InternVLVisionConfig`, snake_case) plus the InternVL3 projector fields of `InternVLConfig`
 * (`downsample_ratio`, `projector_hidden_act`) and the policy's ImageNet statistics: the 2B (`interna1`) vision tower.
 */
export interface InternVisionConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly patch_size: number;
  /** The native input size (square); the learned position table has (image_size / patch_size)^2 + 1 rows. */
  readonly image_size: number;
  readonly layer_norm_eps: number;
  /** q/k/v biases. HF's default is false, and the official 2B code leaves it so (see docs/model.md). */
  readonly attention_bias: boolean;
  /** Per-projection RMSNorm on q and k (InternViT-6B); only false (InternViT-300M) is implemented. */
  readonly use_qk_norm: boolean;
  /** "layer_norm" (300M); "rms_norm" is not implemented. */
  readonly norm_type: "layer_norm";
  /** "gelu" (exact erf GELU, HF ACT2FN) is the only one implemented. */
  readonly hidden_act: "gelu";
  /** Initial value of the layer-scale vectors lambda_1 / lambda_2 (used by `initModel` only). */
  readonly layer_scale_init_value: number;
  /** true (InternVL3): no final LayerNorm after the encoder; false adds `vision_tower.layernorm`. */
  readonly use_mean_pooling: boolean;
  /** Pixel-shuffle ratio: 0.5 turns a 32x32 patch grid into 16x16 tokens of 4x the width. */
  readonly downsample_ratio: number;
  readonly projector_hidden_act: "gelu";
  readonly imagenet_mean: readonly [number, number, number];
  readonly imagenet_std: readonly [number, number, number];
}

/** Cosmos continuous image tokenizer (CI), NVIDIA's rules; 3B = CI8x8 at channels 128. */
export interface CosmosConfig {
  readonly channels: number;
  readonly channels_mult: readonly number[];
  readonly num_res_blocks: number;
  readonly latent_channels: number;
  readonly patch_size: number;
  readonly spatial_compression: number;
  /** The Cosmos input size (square); frames are resized bilinearly to it. */
  readonly resolution: number;
  readonly num_groups: number;
}

export interface ModelConfig {
  /** "qwena1" (3B, Qwen3-VL) or "interna1" (2B, InternVL3 + Qwen2 experts). */
  readonly model_type: "qwena1" | "interna1";
  readonly chunk_size: number;
  readonly max_action_dim: number;
  readonly max_state_dim: number;
  readonly num_inference_steps: number;
  readonly lambda_gen: number;
  /**
   * false removes the generation expert (the paper's "w/o generation expert" ablation, a pi0-style model): no
   * middle tokens, no foresight loss; the act expert attends to the prefix only. Its weights stay in the tree,
   * unused, so checkpoints keep one layout. Default true.
   */
  readonly use_gen_expert: boolean;
  /**
   * RoPE positions of the cached inference passes. "as_trained" (default) takes them from the training layout, so
   * the sampler sees exactly the positions the weights were trained with. "official" reproduces the official
   * `sample_actions`: gen tokens at max_prefix + 1..Lm and the suffix after them, counting the masked gen tokens
   * of a missing camera that training skips; with a missing camera the act expert then sees every prefix and gen
   * key at a relative offset it never saw in training (8 positions for a tiny 2-camera robot). Both agree when
   * every camera is present (the RoboTwin setting).
   */
  readonly inference_positions: "as_trained" | "official";
  readonly min_period: number;
  readonly max_period: number;
  readonly time_sampling_beta_alpha: number;
  readonly time_sampling_beta_beta: number;
  readonly time_sampling_scale: number;
  readonly time_sampling_offset: number;
  /** Kernel and stride of the gen adapter convs (8 at 3B: a 32x32 latent becomes 4x4 tokens). */
  readonly scale_factor: number;
  readonly n_views: number;
  /** Task text length after right-padding / truncation (48 at 3B). */
  readonly n_text_tokens: number;
  readonly image_token_id: number;
  readonly vision_start_token_id: number;
  readonly vision_end_token_id: number;
  readonly pad_token_id: number;
  readonly text_config: TextConfig;
  readonly expert_config: TowerConfig;
  /** Qwen3-VL ViT at `qwena1`; InternViT-300M + projector at `interna1` (`qwenVision` / `internVision` narrow it). */
  readonly vision_config: VisionConfig | InternVisionConfig;
  readonly cosmos_config: CosmosConfig;
}

/** The Qwen3-VL vision config of a `qwena1` model (throws for another type). */
export function qwenVision(cfg: ModelConfig): VisionConfig {
  if (cfg.model_type !== "qwena1") throw new ConfigError(`internal: qwenVision called on a ${cfg.model_type} config`);
  return cfg.vision_config as VisionConfig;
}

/** The InternViT config of an `interna1` model (throws for another type). */
export function internVision(cfg: ModelConfig): InternVisionConfig {
  if (cfg.model_type !== "interna1") throw new ConfigError(`internal: internVision called on a ${cfg.model_type} config`);
  return cfg.vision_config as InternVisionConfig;
}

const QWEN3_EXPERT: TowerConfig = {
  hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16,
  num_key_value_heads: 8, head_dim: 128, rms_norm_eps: 1e-6, attention_bias: false, use_qk_norm: true,
};

const FLOW = {
  num_inference_steps: 10, lambda_gen: 0.01, use_gen_expert: true, inference_positions: "as_trained", min_period: 4e-3, max_period: 4.0,
  time_sampling_beta_alpha: 1.5, time_sampling_beta_beta: 1.0, time_sampling_scale: 0.999, time_sampling_offset: 0.001,
} as const;

/** The released 3B policy (`qwena1`), exactly as architecture.md §1. */
const A1_3B: ModelConfig = {
  model_type: "qwena1", chunk_size: 50, max_action_dim: 32, max_state_dim: 32, ...FLOW,
  scale_factor: 8, n_views: 3, n_text_tokens: 48,
  image_token_id: 151655, vision_start_token_id: 151652, vision_end_token_id: 151653, pad_token_id: 151643,
  text_config: {
    ...QWEN3_EXPERT, hidden_size: 2048, intermediate_size: 6144, vocab_size: 151936, rope_theta: 5e6,
    mrope_section: [24, 20, 20], embed_scale: false, tie_word_embeddings: true,
  },
  expert_config: QWEN3_EXPERT,
  vision_config: {
    hidden_size: 1024, intermediate_size: 4096, depth: 24, num_heads: 16, patch_size: 16, temporal_patch_size: 2,
    spatial_merge_size: 2, num_position_embeddings: 2304, out_hidden_size: 2048, deepstack_visual_indexes: [5, 11, 17],
    layer_norm_eps: 1e-6, image_size: 256,
  },
  cosmos_config: {
    channels: 128, channels_mult: [2, 4, 4], num_res_blocks: 2, latent_channels: 16, patch_size: 4,
    spatial_compression: 8, resolution: 256, num_groups: 32,
  },
};

/** InternViT-300M of InternVL3-1B (HF InternVLVisionConfig defaults, which the official 2B code keeps). */
const INTERNVIT_300M: InternVisionConfig = {
  hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16, patch_size: 14, image_size: 448,
  layer_norm_eps: 1e-6, attention_bias: false, use_qk_norm: false, norm_type: "layer_norm", hidden_act: "gelu",
  layer_scale_init_value: 0.1, use_mean_pooling: true, downsample_ratio: 0.5, projector_hidden_act: "gelu",
  imagenet_mean: [0.485, 0.456, 0.406], imagenet_std: [0.229, 0.224, 0.225],
};

/**
 * The 2B variant (`interna1`, official `InternA1`): InternVL3-1B understanding (InternViT-300M, 448 px, pixel
 * shuffle to 256 tokens per camera, no vision_start / vision_end tokens; Qwen2 text tower: 1-D positions
 * cumsum(pad) - 1, sqrt(896) text-embedding scale, qkv bias, no q/k norm, rope_theta 1e4 from the Qwen2Config
 * default) and Qwen2 experts. mrope_section is irrelevant here: all three position rows are equal.
 */
const A1_2B: ModelConfig = {
  ...A1_3B,
  model_type: "interna1",
  image_token_id: 151667, vision_start_token_id: 151665, vision_end_token_id: 151666,
  text_config: {
    hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
    head_dim: 64, rms_norm_eps: 1e-6, attention_bias: true, use_qk_norm: false, vocab_size: 151674, rope_theta: 1e4,
    mrope_section: [32, 0, 0], embed_scale: true, tie_word_embeddings: false,
  },
  expert_config: {
    hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
    head_dim: 64, rms_norm_eps: 1e-6, attention_bias: true, use_qk_norm: false,
  },
  vision_config: INTERNVIT_300M,
};

/**
 * Trains on 2 CPU cores: 64 px images, 3 cameras, 2 layers, widths 64-128, a 512-token built-in vocabulary.
 * ViT patch 16 and a 4x4 Cosmos kernel give 2x2 tokens per camera and per frame: 34 + 24 + 17 tokens.
 */
const TINY: ModelConfig = {
  model_type: "qwena1", chunk_size: 16, max_action_dim: 32, max_state_dim: 32, ...FLOW,
  scale_factor: 4, n_views: 3, n_text_tokens: 16,
  image_token_id: 511, vision_start_token_id: 509, vision_end_token_id: 510, pad_token_id: 0,
  text_config: {
    hidden_size: 128, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    head_dim: 32, rms_norm_eps: 1e-6, attention_bias: false, use_qk_norm: true, vocab_size: 512, rope_theta: 5e6,
    mrope_section: [6, 5, 5], embed_scale: false, tie_word_embeddings: true,
  },
  expert_config: {
    hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    head_dim: 32, rms_norm_eps: 1e-6, attention_bias: false, use_qk_norm: true,
  },
  vision_config: {
    hidden_size: 64, intermediate_size: 128, depth: 2, num_heads: 2, patch_size: 16, temporal_patch_size: 2,
    spatial_merge_size: 2, num_position_embeddings: 64, out_hidden_size: 128, deepstack_visual_indexes: [],
    layer_norm_eps: 1e-6, image_size: 64,
  },
  cosmos_config: {
    channels: 32, channels_mult: [1, 2, 2], num_res_blocks: 1, latent_channels: 16, patch_size: 4,
    spatial_compression: 8, resolution: 64, num_groups: 32,
  },
};

/** Between tiny and 3B: 96 px images, 4 layers, widths 128-384. */
const SMALL: ModelConfig = {
  ...TINY, chunk_size: 50, n_text_tokens: 24,
  text_config: { ...TINY.text_config, hidden_size: 384, intermediate_size: 1024, num_hidden_layers: 4, num_attention_heads: 6, num_key_value_heads: 2, head_dim: 64, mrope_section: [12, 10, 10] },
  expert_config: { ...TINY.expert_config, hidden_size: 256, intermediate_size: 768, num_hidden_layers: 4, num_attention_heads: 6, num_key_value_heads: 2, head_dim: 64 },
  vision_config: { ...TINY.vision_config, hidden_size: 192, intermediate_size: 768, depth: 4, num_heads: 3, patch_size: 8, num_position_embeddings: 144, out_hidden_size: 384, image_size: 96 },
  cosmos_config: { ...TINY.cosmos_config, channels: 64, channels_mult: [1, 2, 2], resolution: 96 },
  scale_factor: 3,
};

export const PRESETS: Readonly<Record<string, ModelConfig>> = { tiny: TINY, small: SMALL, "a1-3b": A1_3B, "a1-2b": A1_2B };

/** A preset by name; an unknown name fails with the closest one. */
export function presetConfig(name: string): ModelConfig {
  const cfg = PRESETS[name];
  if (!cfg) {
    const guess = closest(name, Object.keys(PRESETS));
    throw new ConfigError(`model config: unknown preset "${name}"${guess ? ` (did you mean ${guess}?)` : ""}; expected one of ${Object.keys(PRESETS).join(", ")}`);
  }
  return structuredClone(cfg);
}

/**
 * Token counts of the three segments, derived from the config (architecture.md §1.4). `markers` is 1 when each
 * camera's image tokens sit between vision_start and vision_end (3B) and 0 when they stand alone (2B `embed_und`).
 */
export function tokenLayout(cfg: ModelConfig) {
  const { grid, imageTokens } = imageGrid(cfg);
  const markers = cfg.model_type === "qwena1" ? 1 : 0;
  const c = cfg.cosmos_config;
  const latent = c.resolution / c.spatial_compression;
  const genGrid = latent / cfg.scale_factor;
  const prefix = cfg.n_views * (imageTokens + 2 * markers) + cfg.n_text_tokens;
  const middle = cfg.use_gen_expert ? cfg.n_views * 2 * genGrid * genGrid : 0;
  return { grid, imageTokens, markers, latent, genGrid, prefix, middle, suffix: 1 + cfg.chunk_size, total: prefix + middle + 1 + cfg.chunk_size };
}

/** The ViT patch grid side and the tokens per camera after the 2x2 merger (3B) or the pixel shuffle (2B). */
function imageGrid(cfg: ModelConfig): { grid: number; imageTokens: number } {
  const v = cfg.vision_config;
  const grid = v.image_size / v.patch_size;
  const merge = cfg.model_type === "qwena1" ? qwenVision(cfg).spatial_merge_size : Math.round(1 / internVision(cfg).downsample_ratio);
  return { grid, imageTokens: (grid / merge) ** 2 };
}

export { validateConfig, parseConfig } from "./config-validate.ts";
