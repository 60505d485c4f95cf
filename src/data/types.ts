// Domain types of the data pipeline: the training sample the policy consumes, a batch, and their layout.

/** The model-side layout of a sample (InternVLA-A1 defaults). */
export interface SampleLayout {
  /** Camera slots: 0 = top/head, 1 = left or only wrist, 2 = right wrist. */
  readonly views: number;
  /** Frame offsets in frames relative to t: [-15, 0, 15] (t-15 and t feed the gen expert, t+15 is its target). */
  readonly frameOffsets: readonly number[];
  /** Square image side after letterboxing (224). */
  readonly imageSize: number;
  /** Action chunk length (50). */
  readonly chunk: number;
  readonly maxStateDim: number;
  readonly maxActionDim: number;
}

export const DEFAULT_LAYOUT: SampleLayout = {
  views: 3,
  frameOffsets: [-15, 0, 15],
  imageSize: 224,
  chunk: 50,
  maxStateDim: 32,
  maxActionDim: 32,
};

/** One training sample after all transforms (delta, normalise, pad, letterbox). */
export interface TrainingSample {
  /** uint8 [V, F, 3, H, W]; a missing camera is all 255 (the official all-ones image). */
  readonly images: Uint8Array;
  /** [V]: 1 where the camera exists. */
  readonly imageMask: Uint8Array;
  /** float32 [maxStateDim]: normalised, zero-padded after stateDim. */
  readonly state: Float32Array;
  /** float32 [chunk * maxActionDim]: delta where masked, normalised, zero-padded after actionDim. */
  readonly actions: Float32Array;
  readonly stateDim: number;
  readonly actionDim: number;
  /** [chunk]: 1 where the step lies past the episode end (its action repeats the last one). */
  readonly actionIsPad: Uint8Array;
  readonly task: string;
  readonly robotType: string;
  /** Which dataset of the mixture (0 for a single dataset). */
  readonly datasetIndex: number;
  readonly episodeIndex: number;
  readonly frameIndex: number;
}

/** Samples stacked along a leading batch axis B. */
export interface Batch {
  readonly size: number;
  readonly layout: SampleLayout;
  /** uint8 [B, V, F, 3, H, W]. */
  readonly images: Uint8Array;
  /** uint8 [B, V]. */
  readonly imageMask: Uint8Array;
  /** float32 [B, maxStateDim]. */
  readonly state: Float32Array;
  /** uint8 [B, maxStateDim]: 1 on the real state dims. */
  readonly stateMask: Uint8Array;
  /** float32 [B, chunk, maxActionDim]. */
  readonly actions: Float32Array;
  /** uint8 [B, maxActionDim]: 1 on the real action dims. */
  readonly actionMask: Uint8Array;
  /** uint8 [B, chunk]. */
  readonly actionIsPad: Uint8Array;
  readonly stateDim: Int32Array;
  readonly actionDim: Int32Array;
  readonly tasks: readonly string[];
  readonly robotTypes: readonly string[];
  readonly datasetIndex: Int32Array;
  readonly episodeIndex: Int32Array;
  readonly frameIndex: Int32Array;
}

/** How actions enter the model: relative to the current state on masked dims, or absolute. */
export type ActionMode = "delta" | "abs";

/** Normalisation of state and actions (images are not normalised here). */
export type NormMode = "mean_std" | "quantile" | "none";
