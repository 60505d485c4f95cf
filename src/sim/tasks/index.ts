// The task registry: names, kinds and supported robots of every task family.
import { ConfigError } from "../../tensor/errors.ts";
import { type RobotType } from "../robots/index.ts";
import { conveyorSort } from "./conveyor_sort.ts";
import { handover } from "./handover.ts";
import { liftBox } from "./lift_box.ts";
import { movingPick } from "./moving_pick.ts";
import { openDrawer } from "./open_drawer.ts";
import { pickCube, pickPlace } from "./pick_place.ts";
import { placeTwo } from "./place_two.ts";
import { sortByColour } from "./sort_by_colour.ts";
import { stack } from "./stack.ts";
import { type TaskDef } from "./types.ts";

export type { TaskDef, TaskInstance, TaskKind, TaskOptions } from "./types.ts";

/** Every task, static first, then dynamic, then two-arm. */
export const TASKS: readonly TaskDef[] = [pickCube, pickPlace, stack, sortByColour, conveyorSort, movingPick, handover, liftBox, placeTwo, openDrawer];
export const TASK_NAMES: readonly string[] = TASKS.map((t) => t.name);

/** The task called `name`; unknown names fail with the list of tasks. */
export function getTask(name: string): TaskDef {
  const task = TASKS.find((t) => t.name === name);
  if (!task) throw new ConfigError(`sim: unknown task "${name}"; expected one of ${TASK_NAMES.join(", ")}`);
  return task;
}

/** Tasks that a robot can perform. */
export function tasksForRobot(robot: RobotType): TaskDef[] {
  return TASKS.filter((t) => t.robots.includes(robot));
}
