// Task types: a registry entry turns (seed, level) into a scene, an instruction, a scripted expert and a success test.
import { type Motion, type ExpertContext } from "../control/motion.ts";
import { type RobotType } from "../robots/index.ts";
import { type Scene } from "../scene/build.ts";
import { type Level, type Split } from "../scene/colours.ts";
import { type World } from "../world.ts";

export type TaskKind = "static" | "dynamic" | "two_arm";

/** One sampled episode of a task. */
export interface TaskInstance {
  readonly task: string;
  readonly seed: number;
  readonly level: Level;
  readonly split: Split;
  readonly scene: Scene;
  readonly instruction: string;
  /** Episode limit in control steps (closed-loop evaluation stops here). */
  readonly maxSteps: number;
  /** The scripted expert (reads the true world state; yields once per control step). */
  expert(ctx: ExpertContext): Motion;
  /** A plausible scripted mistake (wrong target, missing step) used to test that `success` is specific. */
  mistake(ctx: ExpertContext): Motion;
  /** True when the instruction has been carried out in the current state. */
  success(world: World): boolean;
}

export interface TaskOptions {
  /** The embodiment; defaults to the task's first supported robot. */
  readonly robot?: RobotType;
  /** Instruction paraphrases and colour names: "train" (default) or "heldout". */
  readonly split?: Split;
  /** Control rate in Hz (default 20; must divide 500). */
  readonly controlHz?: number;
}

/** A task family in the registry. */
export interface TaskDef {
  readonly name: string;
  readonly kind: TaskKind;
  readonly robots: readonly RobotType[];
  readonly description: string;
  generate(seed: number, level: Level, opts?: TaskOptions): TaskInstance;
}
