// A policy that serves recorded actions (to test a robot loop or the wire without a model).
import { ConfigError, ShapeError } from "../tensor/errors.ts";
import { type WarnFn } from "../data/errors.ts";
import {
  type CameraImage, type Policy, type PolicyObservation, type PolicyProvider, type PolicyResult, actionChunk, greyImage,
} from "./policy.ts";

/** One recorded episode: actions row-major [length, dim] in robot units. */
export interface ReplayEpisode {
  readonly actions: Float32Array; // [length, dim]
  readonly length: number;
  readonly task: string;
}

export interface ReplayOptions {
  /** Actions per reply (default 50, the model's chunk). */
  readonly horizon?: number;
  /** How far the cursor moves per request when the observation carries no `step` (default: horizon). */
  readonly stride?: number;
  /** Episode replayed by every session, a position in `episodes` (default 0). */
  readonly episode?: number;
  /** The episode's index in its dataset, for the metadata (default: `episode`). */
  readonly episodeIndex?: number;
  readonly robotType?: string;
  readonly fps?: number;
  /** State size and cameras of the robot, for the warm-up observation and the metadata. */
  readonly stateDim?: number;
  readonly cameras?: Readonly<Record<string, { readonly height: number; readonly width: number }>>;
}

/**
 * Serves `episodes[episode]`: a request at step s (the observation's `step`, else a per-session cursor) gets
 * actions s .. s+horizon-1, the last action repeated past the end (as LeRobot clamps windows at episode ends).
 */
export function replayPolicy(episodes: readonly ReplayEpisode[], opts: ReplayOptions = {}): PolicyProvider {
  const index = opts.episode ?? 0;
  const ep = episodes[index];
  if (!ep) throw new ConfigError(`replay: episode ${index} does not exist; the dataset has ${episodes.length} (0..${episodes.length - 1})`);
  if (ep.length < 1 || ep.actions.length % ep.length !== 0) {
    throw new ShapeError(`replay: episode ${index} has ${ep.actions.length} action values for ${ep.length} frames`);
  }
  const dim = ep.actions.length / ep.length;
  const horizon = opts.horizon ?? 50;
  const stride = opts.stride ?? horizon;
  if (!(horizon >= 1 && stride >= 1)) throw new ConfigError(`replay: horizon and stride must be >= 1, got ${horizon} and ${stride}`);
  const cameras = opts.cameras ?? { top: { height: 224, width: 224 } };
  const metadata = {
    policy: "replay",
    robot_type: opts.robotType ?? "unknown",
    action_horizon: horizon,
    action_dim: dim,
    fps: opts.fps ?? 0,
    episode: opts.episodeIndex ?? index,
    episode_length: ep.length,
    task: ep.task,
  };

  const chunkAt = (start: number): Float32Array => {
    const out = new Float32Array(horizon * dim);
    for (let i = 0; i < horizon; i++) {
      const row = Math.min(start + i, ep.length - 1);
      out.set(ep.actions.subarray(row * dim, (row + 1) * dim), i * dim);
    }
    return out;
  };
  const session = (): Policy => {
    let cursor = 0;
    return {
      metadata,
      async infer(obs: PolicyObservation): Promise<PolicyResult> {
        const t0 = performance.now();
        const start = obs.step ?? cursor;
        cursor = start + stride;
        const actions = actionChunk(chunkAt(start), horizon, dim, "replay");
        return { actions, policyTiming: { infer_ms: performance.now() - t0 } };
      },
      async reset(): Promise<void> {
        cursor = 0;
      },
    };
  };
  return {
    metadata,
    session,
    concurrency: 64,
    exampleObservation: (): PolicyObservation => ({
      images: Object.fromEntries(Object.entries(cameras).map(([k, c]): [string, CameraImage] => [k, greyImage(c.height, c.width)])),
      state: new Float32Array(opts.stateDim ?? dim),
      prompt: ep.task,
    }),
    dispose: () => {},
  };
}

/** Camera names the wire uses for the model's slots (top/head, left or only wrist, right wrist). */
const SLOT_NAMES = ["top", "wrist", "right_wrist"] as const;

/**
 * Replays one episode of a LeRobot dataset (any version the data reader opens). `episode` is the dataset's
 * episode_index (default: the first episode); actions are the dataset's action features concatenated as
 * training sees them (FEATURE_MAPPING for known robots, else `action`).
 */
export async function replayFromDataset(root: string, opts: Omit<ReplayOptions, "robotType" | "fps" | "stateDim" | "cameras"> & { warn?: WarnFn } = {}): Promise<PolicyProvider> {
  // The dataset reader loads on demand: clients importing src/serve do not pay for parquet and video decoders.
  const [{ LeRobotDataset }, { cameraSize }, { concatFeatures, resolveSource }] = await Promise.all([
    import("../data/lerobot/dataset.ts"),
    import("../data/lerobot/meta.ts"),
    import("../data/source.ts"),
  ]);
  const ds = await LeRobotDataset.open(root, { warn: opts.warn });
  try {
    const source = resolveSource({ root }, ds, SLOT_NAMES.length);
    const episodes = ds.episodes.map((e): ReplayEpisode => ({
      actions: concatFeatures(ds, source.action, Array.from({ length: e.end - e.start }, (_, i) => e.start + i)),
      length: e.end - e.start,
      task: ds.taskOf(e.start),
    }));
    const wanted = opts.episode ?? ds.episodes[0]?.index ?? 0;
    const position = ds.episodes.findIndex((e) => e.index === wanted);
    if (position < 0) {
      throw new ConfigError(`replay ${root}: no episode ${wanted}; episodes are ${ds.episodes.map((e) => e.index).join(", ")}`);
    }
    const cameras: Record<string, { height: number; width: number }> = {};
    source.cameras.forEach((key, slot) => {
      if (key !== null) cameras[SLOT_NAMES[slot]] = cameraSize(key, ds.info.features[key], () => {});
    });
    return replayPolicy(episodes, { ...opts, episode: position, episodeIndex: wanted, robotType: source.robotType, fps: ds.fps, stateDim: source.stateDim, cameras });
  } finally {
    await ds.close();
  }
}
