// Runs one task episode with a scripted policy (expert, mistake or idle), recording states, actions and camera frames.
import { ExpertContext, wait, type Motion } from "./control/motion.ts";
import { type Mujoco } from "./mujoco.ts";
import { makeRng, type Rng } from "./rng.ts";
import { type TaskInstance } from "./tasks/types.ts";
import { World } from "./world.ts";

export type ScriptedPolicy = "expert" | "mistake" | "idle";

export interface EpisodeOptions {
  /** Cameras to render at every step (none = physics only). */
  readonly cameras?: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly policy?: ScriptedPolicy;
  /** Steps to hold the final command after the script ends (recorded). */
  readonly settleSteps?: number;
  /** Called after the observation of step t is recorded, before the action is applied (debug views). */
  readonly onStep?: (world: World, t: number) => void;
}

/** A recorded episode: per step t the observation before the action and the action sent. */
export interface EpisodeRecord {
  readonly task: string;
  readonly seed: number;
  readonly instruction: string;
  readonly success: boolean;
  readonly length: number;
  /** SHA-1 of qpos after every step (bit-identical trajectories have equal hashes). */
  readonly hash: string;
  /** [length * dim] float32, robot.stateNames order. */
  readonly states: Float32Array;
  readonly actions: Float32Array;
  /** Per camera, `length` frames of RGB uint8 [H, W, 3]. */
  readonly frames: Record<string, Uint8Array[]>;
}

/** The pixel-noise stream of an episode: the Environment and the dataset generator draw it identically. */
export function pixelNoise(seed: number): Rng {
  return makeRng(seed, "pixels");
}

/** Renders the listed cameras in order, drawing noise from `noise` (same order everywhere). */
export function renderViews(world: World, cameras: readonly string[], width: number, height: number, noise: Rng): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const cam of cameras) out[cam] = world.render(cam, width, height, { noise }).rgb;
  return out;
}

function script(instance: TaskInstance, ctx: ExpertContext, policy: ScriptedPolicy): Motion {
  if (policy === "expert") return instance.expert(ctx);
  if (policy === "mistake") return instance.mistake(ctx);
  return wait(instance.maxSteps);
}

/** Runs `instance` with a scripted policy in a fresh World and returns the recording (frees the World). */
export function runEpisode(mj: Mujoco, instance: TaskInstance, opts: EpisodeOptions = {}): EpisodeRecord {
  const world = new World(mj, instance.scene);
  const ctx = new ExpertContext(world);
  try {
    return record(world, ctx, instance, opts);
  } finally {
    ctx.delete();
    world.delete();
  }
}

function record(world: World, ctx: ExpertContext, instance: TaskInstance, opts: EpisodeOptions): EpisodeRecord {
  const cameras = opts.cameras ?? [];
  const width = opts.width ?? 128;
  const height = opts.height ?? width;
  const noise = pixelNoise(instance.seed);
  const dim = world.actionDim;
  const states: Float32Array[] = [];
  const actions: Float32Array[] = [];
  const frames: Record<string, Uint8Array[]> = Object.fromEntries(cameras.map((c) => [c, []]));
  const motion = script(instance, ctx, opts.policy ?? "expert");
  const settle = opts.settleSteps ?? 6;
  let settled = 0;
  while (states.length < instance.maxSteps) {
    if (motion.next().done && settled++ >= settle) break;
    states.push(world.state());
    const views = renderViews(world, cameras, width, height, noise);
    for (const cam of cameras) frames[cam].push(views[cam]);
    opts.onStep?.(world, states.length - 1);
    // The stored action is float32; applying exactly that value keeps replays of the dataset bit-identical.
    const action = Float32Array.from(ctx.command);
    actions.push(action);
    world.step(action);
  }
  const flat = (rows: Float32Array[]): Float32Array => {
    const out = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => out.set(r, i * dim));
    return out;
  };
  return {
    task: instance.task, seed: instance.seed, instruction: instance.instruction,
    success: instance.success(world), length: states.length, hash: world.trajectoryHash(),
    states: flat(states), actions: flat(actions), frames,
  };
}
