// The closed-loop Environment: reset(seed) -> observation, step(action) -> { observation, done, success }, chunk execution.
import { ConfigError } from "../tensor/errors.ts";
import { pixelNoise, renderViews } from "./episode.ts";
import { loadMujoco, type Mujoco } from "./mujoco.ts";
import { type Rng } from "./rng.ts";
import { getRobot, type RobotSpec, type RobotType } from "./robots/index.ts";
import { type Level, type Split } from "./scene/colours.ts";
import { resolveRobot } from "./tasks/common.ts";
import { getTask } from "./tasks/index.ts";
import { type TaskInstance } from "./tasks/types.ts";
import { World } from "./world.ts";

/** What to simulate and how to observe it; the same settings render exactly what `generate` wrote. */
export interface EnvConfig {
  readonly task: string;
  readonly robot?: RobotType;
  readonly level?: Level;
  readonly split?: Split;
  /** Square image side (64-224, even) or explicit sizes; default 128. */
  readonly imageSize?: number | { readonly width: number; readonly height: number };
  /** Cameras to render (default: all of the robot's, in dataset order). */
  readonly cameras?: readonly string[];
  readonly controlHz?: number;
}

/** One observation: RGB uint8 [H, W, 3] per camera, robot state, instruction and time in seconds. */
export interface Observation {
  readonly images: Record<string, Uint8Array>;
  readonly state: Float32Array;
  readonly instruction: string;
  readonly timestamp: number;
}

export interface StepResult {
  readonly observation: Observation;
  /** True once the task succeeded or the episode reached its step limit. */
  readonly done: boolean;
  readonly success: boolean;
}

/** Checks the image size rule shared with the dataset writer (even sides for yuv420p video). */
export function resolveImageSize(size: EnvConfig["imageSize"], where: string): { width: number; height: number } {
  const s = size ?? 128;
  const { width, height } = typeof s === "number" ? { width: s, height: s } : s;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 64 || v > 224 || v % 2 !== 0) {
      throw new ConfigError(`${where}: image ${name} must be an even integer in 64-224; got ${v}`);
    }
  }
  return { width, height };
}

/** A task environment for closed-loop evaluation (a resource: call close()). */
export class Environment {
  readonly config: EnvConfig;
  readonly robot: RobotSpec;
  readonly cameras: readonly string[];
  readonly width: number;
  readonly height: number;
  readonly #mj: Mujoco;
  #world: World | undefined;
  #instance: TaskInstance | undefined;
  #noise: Rng | undefined;
  #success = false;

  private constructor(mj: Mujoco, config: EnvConfig) {
    this.#mj = mj;
    this.config = config;
    this.robot = getRobot(resolveRobot(getTask(config.task), config));
    const { width, height } = resolveImageSize(config.imageSize, "Environment");
    this.width = width;
    this.height = height;
    this.cameras = config.cameras ?? this.robot.cameras;
    const unknown = this.cameras.filter((c) => !this.robot.cameras.includes(c));
    if (unknown.length > 0) {
      throw new ConfigError(`Environment: unknown camera(s) ${unknown.join(", ")} for robot ${this.robot.name}; expected ${this.robot.cameras.join(", ")}`);
    }
  }

  static async create(config: EnvConfig): Promise<Environment> {
    return new Environment(await loadMujoco(), config);
  }

  /** Action (and state) layout: per arm, joint targets then gripper opening in [0, 1]. */
  get actionNames(): readonly string[] {
    return this.robot.stateNames;
  }

  /** The instance of the current episode (after reset). */
  get instance(): TaskInstance {
    if (!this.#instance) throw new ConfigError("Environment: call reset(seed) first");
    return this.#instance;
  }

  /** Starts the episode of `seed` (the same seed gives the same scene as `generate` episode seeds). */
  reset(seed: number): Observation {
    this.#world?.delete();
    const task = getTask(this.config.task);
    this.#instance = task.generate(seed, this.config.level ?? "clean", { robot: this.config.robot, split: this.config.split, controlHz: this.config.controlHz });
    this.#world = new World(this.#mj, this.#instance.scene);
    this.#noise = pixelNoise(seed);
    this.#success = false;
    return this.#observe();
  }

  /** Applies one action (absolute joint targets + gripper per arm) for one control period. */
  step(action: ArrayLike<number>): StepResult {
    const world = this.#requireWorld();
    world.step(action);
    this.#success = this.instance.success(world);
    return { observation: this.#observe(), done: this.#success || world.steps >= this.instance.maxSteps, success: this.#success };
  }

  /**
   * Executes the first `n` actions of a chunk ([H][dim] rows, or a flat [H * dim] array), stopping early when the
   * episode ends; returns the result of every executed step.
   */
  executeChunk(chunk: readonly ArrayLike<number>[] | Float32Array, n?: number): StepResult[] {
    const dim = this.robot.stateNames.length;
    const rows = chunk instanceof Float32Array ? Array.from({ length: chunk.length / dim }, (_, i) => chunk.subarray(i * dim, (i + 1) * dim)) : chunk;
    if (chunk instanceof Float32Array && chunk.length % dim !== 0) {
      throw new ConfigError(`Environment.executeChunk: flat chunk of ${chunk.length} values is not a multiple of the action size ${dim}`);
    }
    const results: StepResult[] = [];
    for (const row of rows.slice(0, n ?? rows.length)) {
      const r = this.step(row);
      results.push(r);
      if (r.done) break;
    }
    return results;
  }

  /** Frees the simulator of the current episode. */
  close(): void {
    this.#world?.delete();
    this.#world = undefined;
  }

  #requireWorld(): World {
    if (!this.#world) throw new ConfigError("Environment: call reset(seed) before step()");
    return this.#world;
  }

  #observe(): Observation {
    const world = this.#requireWorld();
    return {
      images: renderViews(world, this.cameras, this.width, this.height, this.#noise!),
      state: world.state(),
      instruction: this.instance.instruction,
      timestamp: world.steps / world.scene.controlHz,
    };
  }
}

/** Creates an environment for evaluation (the trainer's entry point). */
export function createEnvironment(config: EnvConfig): Promise<Environment> {
  return Environment.create(config);
}

/** A policy maps an observation to a chunk of actions ([H][dim]). */
export type ChunkPolicy = (obs: Observation) => Promise<readonly ArrayLike<number>[]> | readonly ArrayLike<number>[];

export interface RolloutResult {
  readonly seed: number;
  readonly success: boolean;
  readonly steps: number;
}

/**
 * Closed-loop rollout: query the policy, execute `replanEvery` actions of its chunk (all when omitted), repeat
 * until done. `onStep` sees every step result (for videos of failures).
 */
export async function rollout(
  env: Environment, policy: ChunkPolicy, seed: number, opts: { replanEvery?: number; onStep?: (r: StepResult) => void } = {},
): Promise<RolloutResult> {
  let obs = env.reset(seed);
  let steps = 0;
  for (;;) {
    const chunk = await policy(obs);
    if (chunk.length === 0) throw new ConfigError("rollout: the policy returned an empty action chunk");
    const results = env.executeChunk(chunk, opts.replanEvery);
    for (const r of results) opts.onStep?.(r);
    steps += results.length;
    const last = results[results.length - 1];
    if (last.done) return { seed, success: last.success, steps };
    obs = last.observation;
  }
}
