// Domain types of the model: parameter trees (official checkpoint structure), batches, observations, the KV cache.
import { type Tensor } from "../tensor/index.ts";
import { type ConvParams, type LinearParams, type NormParams, type SwiGluParams } from "../nn/index.ts";

/** One Qwen decoder layer of any tower (q/k norms for Qwen3, q/k/v biases for Qwen2). */
export type TowerLayerParams = {
  self_attn: { q_proj: LinearParams; k_proj: LinearParams; v_proj: LinearParams; o_proj: LinearParams; q_norm?: Tensor; k_norm?: Tensor };
  mlp: SwiGluParams;
  input_layernorm: Tensor;
  post_attention_layernorm: Tensor;
};

/** A text tower: its layers and final RMSNorm (`…layers.{i}.*`, `…norm.weight`). */
export type TowerParams = { layers: TowerLayerParams[]; norm: Tensor };

export type VisionBlockParams = {
  norm1: NormParams;
  norm2: NormParams;
  attn: { qkv: LinearParams; proj: LinearParams };
  mlp: { linear_fc1: LinearParams; linear_fc2: LinearParams };
};

export type MergerParams = { norm: NormParams; linear_fc1: LinearParams; linear_fc2: LinearParams };

/** Qwen3-VL ViT (`…visual.*`); `deepstack_merger_list` is loaded and kept but never run (DeepStack unused). */
export type VisionParams = {
  patch_embed: { proj: ConvParams /* Conv3d [Dv, 3, Tp, P, P] */ };
  pos_embed: Tensor /* [Npos, Dv] */;
  blocks: VisionBlockParams[];
  merger: MergerParams;
  deepstack_merger_list: MergerParams[];
};

/** One InternViT layer (`…vision_tower.encoder.layer.{i}.*`): q/k/v biases only with attention_bias. */
export type InternVitLayerParams = {
  attention: { q_proj: LinearParams; k_proj: LinearParams; v_proj: LinearParams; projection_layer: LinearParams };
  lambda_1: Tensor /* [D] */;
  lambda_2: Tensor /* [D] */;
  layernorm_before: NormParams;
  layernorm_after: NormParams;
  mlp: { fc1: LinearParams; fc2: LinearParams };
};

/** InternViT + projector of the 2B model (HF InternVLModel's `vision_tower.*` and `multi_modal_projector.*`). */
export type InternVisionParams = {
  embeddings: {
    cls_token: Tensor /* [1, 1, D] */;
    patch_embeddings: { projection: ConvParams /* Conv2d [D, 3, P, P] */ };
    position_embeddings: Tensor /* [1, 1 + n*n, D] */;
  };
  encoder: { layer: InternVitLayerParams[] };
  /** Only when use_mean_pooling is false (InternVL3 has none). */
  layernorm?: NormParams;
  multi_modal_projector: { layer_norm: NormParams; linear_1: LinearParams; linear_2: LinearParams };
};

export type ResBlockParams = { norm1: NormParams; conv1: ConvParams; norm2: NormParams; conv2: ConvParams; nin_shortcut?: ConvParams };
export type AttnBlockParams = { norm: NormParams; q: ConvParams; k: ConvParams; v: ConvParams; proj_out: ConvParams };
export type MidParams = { block_1: ResBlockParams; attn_1: AttnBlockParams; block_2: ResBlockParams };

/** The frozen Cosmos CI tokenizer (`model.cosmos._enc_model.*`, `model.cosmos._dec_model.*`). */
export type CosmosParams = {
  encoder: {
    conv_in: ConvParams;
    down: { block: ResBlockParams[]; downsample?: { conv: ConvParams } }[];
    mid: MidParams;
    norm_out: NormParams;
    conv_out: ConvParams;
  };
  quant_conv: ConvParams;
  post_quant_conv: ConvParams;
  decoder: {
    conv_in: ConvParams;
    mid: MidParams;
    up: { block: ResBlockParams[]; upsample?: { conv: ConvParams } }[];
    norm_out: NormParams;
    conv_out: ConvParams;
  };
};

/** Everything the optimizer trains (the `QwenA1` module less the frozen Cosmos tokenizer). */
export type PolicyParams = {
  /** Qwen3-VL ViT at 3B (`qwena1`), InternViT + projector at 2B (`interna1`). */
  vision: VisionParams | InternVisionParams;
  /** The und embedding; at 3B tied and stored as `…und_expert.lm_head.weight`. */
  embed_tokens: Tensor /* [vocab, D] */;
  /** The untied 2B `lm_head` (tie_word_embeddings false): loaded and saved, never run. */
  lm_head?: Tensor /* [vocab, D] */;
  und: TowerParams;
  gen: TowerParams;
  act: TowerParams;
  cosmos_in_proj: ConvParams;
  downsample_conv: ConvParams;
  upsample_conv: ConvParams /* ConvTranspose2d [I, O, k, k] */;
  cosmos_out_layer_norm: NormParams;
  cosmos_out_proj: LinearParams;
  state_proj: LinearParams;
  action_in_proj: LinearParams;
  action_time_mlp_in: LinearParams;
  action_time_mlp_out: LinearParams;
  action_out_proj: LinearParams;
};

/** The whole model: trainable policy + frozen Cosmos. */
export type ModelParams = { policy: PolicyParams; cosmos: CosmosParams };

/**
 * What the trainer and the server build from data samples (images arrive as uint8 [V, F, 3, H, W]; divide by
 * 255). Shapes, with L = prefix length (per camera: vision_start, image-pad tokens, vision_end; then the padded
 * task text), V cameras, frames (t-15, t, t+15):
 *   images       f32 [B, V, 3, 3, H, W] in [0, 1]; a missing camera holds all-ones images
 *   image_masks  f32 [B, V]        1 = camera present
 *   token_ids    int32 [B, L]
 *   token_mask   f32 [B, L]        0 on text padding and on every token of a missing camera
 *   state        f32 [B, max_state_dim]      (normalised, zero-padded)
 *   actions      f32 [B, chunk, max_action_dim] (normalised, zero-padded; training only)
 * Noise [B, chunk, A] and time [B] are passed separately so they can be injected.
 */
export interface Batch {
  readonly images: Tensor;
  readonly imageMasks: Tensor;
  readonly tokenIds: Tensor;
  readonly tokenMask: Tensor;
  readonly state: Tensor;
  readonly actions: Tensor;
}

/** A batch without actions: what inference needs. */
export type Observation = Omit<Batch, "actions">;

/** Host-computed training inputs (layout.ts `trainPositionsAndMask`), as tensors. */
export interface TrainLayout {
  readonly positions: Tensor /* f32 [3, B, N] */;
  readonly mask: Tensor /* f32 [B, 1, N, N] additive */;
}

/** Host-computed inference inputs (layout.ts `inferLayout`), as tensors. */
export interface InferLayoutTensors {
  readonly prefixPositions: Tensor /* [3, B, Lp] */;
  readonly middlePositions: Tensor /* [3, B, Lm] */;
  readonly suffixPositions: Tensor /* [3, B, Ls] */;
  readonly prefixMask: Tensor /* [B, 1, Lp, Lp] */;
  readonly middleMask: Tensor /* [B, 1, Lm, Lp+Lm] */;
  readonly suffixMask: Tensor /* [B, 1, Ls, Lp+Lm+Ls] */;
}

/**
 * Per-control-step cache: post-RoPE K/V of the prefix and gen tokens for every layer, [B, Hkv, Lp+Lm, hd] each,
 * plus what each Euler step needs (the suffix positions and mask). Free with `disposeCache`.
 */
export interface PrefixCache {
  readonly keys: Tensor[];
  readonly values: Tensor[];
  readonly suffixPositions: Tensor;
  readonly suffixMask: Tensor;
  /** The observation's state [B, max_state_dim]: the state token is recomputed at every Euler step. */
  readonly state: Tensor;
  /** Final-normed gen outputs [B, Lm, De], for the foresight head (visualisation). */
  readonly genOut: Tensor;
}
