// Messages between the dataset generator and its episode workers.
import { type PreparedEpisode, type WriterSpec } from "../../data/lerobot/writer.ts";
import { type RobotType } from "../robots/index.ts";
import { type Level, type Split } from "../scene/colours.ts";

/** Settings shared by every episode of one generation run. */
export interface EpisodeConfig {
  readonly task: string;
  readonly robot: RobotType;
  readonly level: Level;
  readonly split: Split;
  readonly width: number;
  readonly height: number;
  readonly cameras: readonly string[];
  readonly controlHz: number;
}

/** Run candidate episode `candidate` with scene seed `seed`; a success comes back encoded for `spec`. */
export interface EpisodeJob {
  readonly type: "run";
  readonly candidate: number;
  readonly seed: number;
  readonly config: EpisodeConfig;
  readonly spec: WriterSpec;
  /** Also send the raw camera frames back (for preview GIFs). */
  readonly keepFrames: boolean;
}

/** What a worker sends back for one candidate. */
export interface EpisodeResult {
  readonly seed: number;
  readonly success: boolean;
  /** The episode ready for LeRobotWriter.addPrepared (successful episodes only). */
  readonly prepared?: PreparedEpisode;
  /** Per camera, the rendered frames (only when the job asked to keep them and the episode succeeded). */
  readonly frames?: Record<string, Uint8Array[]>;
  /** Wall seconds the worker spent simulating and rendering, and encoding videos plus image statistics. */
  readonly seconds: { readonly simulate: number; readonly encode: number };
}

export type WorkerReply =
  | { readonly type: "ready" }
  | { readonly type: "episode"; readonly candidate: number; readonly result: EpisodeResult }
  | { readonly type: "error"; readonly candidate: number; readonly message: string };
