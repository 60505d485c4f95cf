// Messages between the dataset generator and its episode workers.
import { type EpisodeRecord } from "../episode.ts";
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

/** Run candidate episode `candidate` with scene seed `seed`. */
export interface EpisodeJob {
  readonly type: "run";
  readonly candidate: number;
  readonly seed: number;
  readonly config: EpisodeConfig;
}

export type WorkerReply =
  | { readonly type: "ready" }
  | { readonly type: "episode"; readonly candidate: number; readonly record: EpisodeRecord }
  | { readonly type: "error"; readonly candidate: number; readonly message: string };
