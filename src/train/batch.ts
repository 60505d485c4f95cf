// Batch assembly: data-pipeline batches (uint8 frames, padded vectors, task strings) -> the model's training inputs.
import { ConfigError, ShapeError } from "../tensor/errors.ts";
import { type HostTensor } from "../tensor/compile/index.ts";
import { type Batch as DataBatch, type SampleLayout } from "../data/types.ts";
import { tokenLayout, type ModelConfig } from "../model/config.ts";
import { trainPositionsAndMask } from "../model/layout.ts";
import { buildPrefix, type TextTokenizer } from "../model/tokenizer.ts";

/** The frames the model reads per camera: t-15 and t feed the gen expert, t+15 is its target (architecture.md §3). */
export const FRAME_OFFSETS: readonly number[] = [-15, 0, 15];

/**
 * One training step's inputs as host arrays (the model's TrainBatch fields, src/model/types.ts):
 *   images [B, V, 3, 3, H, W] f32 in [0, 1], imageMasks [B, V], tokenIds int32 [B, Lp], tokenMask [B, Lp],
 *   state [B, S], actions [B, chunk, A], positions [3, B, N], mask [B, 1, N, N] (additive).
 */
export interface HostBatch {
  readonly images: HostTensor;
  readonly imageMasks: HostTensor;
  readonly tokenIds: HostTensor;
  readonly tokenMask: HostTensor;
  readonly state: HostTensor;
  readonly actions: HostTensor;
  readonly positions: HostTensor;
  readonly mask: HostTensor;
}

/** The data-pipeline layout a model config needs: its cameras, frames, image side, chunk and padded dims. */
export function sampleLayout(cfg: ModelConfig): SampleLayout {
  return {
    views: cfg.n_views,
    frameOffsets: FRAME_OFFSETS,
    imageSize: cfg.vision_config.image_size,
    chunk: cfg.chunk_size,
    maxStateDim: cfg.max_state_dim,
    maxActionDim: cfg.max_action_dim,
  };
}

function checkBatch(b: DataBatch, cfg: ModelConfig): void {
  const want = sampleLayout(cfg);
  const l = b.layout;
  const bad = (["views", "imageSize", "chunk", "maxStateDim", "maxActionDim"] as const).filter((k) => l[k] !== want[k]);
  if (bad.length > 0 || l.frameOffsets.join() !== want.frameOffsets.join()) {
    throw new ConfigError(
      `batch assembly: the data layout does not match the model: ${bad.map((k) => `${k} ${l[k]} (model ${want[k]})`).join(", ") || `frames ${l.frameOffsets.join(",")}`}`,
      "open the data pipeline with sampleLayout(modelConfig)",
    );
  }
  const S = want.imageSize;
  if (b.images.length !== b.size * want.views * 3 * 3 * S * S) {
    throw new ShapeError(`batch assembly: images hold ${b.images.length} bytes; expected [${b.size}, ${want.views}, 3, 3, ${S}, ${S}]`);
  }
}

const f32 = (data: Float32Array, shape: readonly number[]): HostTensor => ({ dtype: "float32", shape, data });

/**
 * Builds the model inputs of a data batch: frames scaled to [0, 1], the token prefix of every sample (per camera
 * vision_start, image pads, vision_end, then the tokenised task; a missing camera's tokens masked), and the
 * host-side M-RoPE positions and block mask of the training pass. Pure: equal batches give equal arrays.
 */
export function assembleBatch(b: DataBatch, cfg: ModelConfig, tok: TextTokenizer): HostBatch {
  checkBatch(b, cfg);
  const B = b.size;
  const V = cfg.n_views;
  const S = cfg.vision_config.image_size;
  const { prefix } = tokenLayout(cfg);
  const images = new Float32Array(b.images.length);
  for (let i = 0; i < images.length; i++) images[i] = b.images[i] / 255;
  const tokenIds = new Int32Array(B * prefix);
  const tokenMask = new Float32Array(B * prefix);
  for (let s = 0; s < B; s++) {
    const { ids, mask } = buildPrefix(tok, b.tasks[s], Array.from(b.imageMask.subarray(s * V, (s + 1) * V)), cfg);
    tokenIds.set(ids, s * prefix);
    tokenMask.set(mask, s * prefix);
  }
  const imageMasks = Float32Array.from(b.imageMask);
  const { positions, mask } = trainPositionsAndMask({ batch: B, tokenIds, tokenMask, imageMasks }, cfg);
  const n = positions.length / 3 / B;
  return {
    images: f32(images, [B, V, 3, 3, S, S]),
    imageMasks: f32(imageMasks, [B, V]),
    tokenIds: { dtype: "int32", shape: [B, prefix], data: tokenIds },
    tokenMask: f32(tokenMask, [B, prefix]),
    state: f32(b.state, [B, cfg.max_state_dim]),
    actions: f32(b.actions, [B, cfg.chunk_size, cfg.max_action_dim]),
    positions: f32(positions, [3, B, n]),
    mask: f32(mask, [B, 1, n, n]),
  };
}

/** Every frame of a batch as one image stack [B*V*3, 3, H, W] for the frozen encoder (the same buffer). */
export function framesOf(h: HostBatch): HostTensor {
  const [B, V, F, C, H, W] = h.images.shape;
  return f32(h.images.data as Float32Array, [B * V * F, C, H, W]);
}

/** Encoder output [B*V*3, z, h, w] back to the model's latents [B, V, 3, z, h, w] (the same buffer). */
export function latentsOf(h: HostBatch, encoded: HostTensor): HostTensor {
  const [B, V, F] = h.images.shape;
  const [n, z, lh, lw] = encoded.shape;
  if (n !== B * V * F) throw new ShapeError(`batch assembly: the encoder returned ${n} latents for ${B * V * F} frames`);
  return f32(encoded.data as Float32Array, [B, V, F, z, lh, lw]);
}

/** Zero latents [B, V, 3, z, h, w] for a model without the gen expert (it never reads them: no encoder pass). */
export function zeroLatents(h: HostBatch, cfg: ModelConfig): HostTensor {
  const [B, V, F] = h.images.shape;
  const s = cfg.cosmos_config.resolution / cfg.cosmos_config.spatial_compression;
  const shape = [B, V, F, cfg.cosmos_config.latent_channels, s, s];
  return f32(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
}
