// The simulator's public API: tasks, robots, the closed-loop Environment, episodes, dataset generation, previews.
export { createEnvironment, Environment, rollout, type ChunkPolicy, type EnvConfig, type Observation, type RolloutResult, type StepResult } from "./env.ts";
export { runEpisode, type EpisodeOptions, type EpisodeRecord, type ScriptedPolicy } from "./episode.ts";
export { generateDataset, PROGRESS_FILE, type GenerateOptions, type GenerateProgress, type GenerateSummary } from "./dataset/generate.ts";
export { imageKey, writerSpec } from "./dataset/features.ts";
export { loadMujoco, SimError } from "./mujoco.ts";
export { renderEpisode, type RenderRequest, type RenderResult } from "./preview.ts";
export { getRobot, ROBOT_TYPES, type RobotSpec, type RobotType } from "./robots/index.ts";
export { HELDOUT_COLOURS, LEVELS, TRAIN_COLOURS, type Level, type Split } from "./scene/colours.ts";
export { getTask, TASK_NAMES, TASKS, tasksForRobot, type TaskDef, type TaskInstance, type TaskKind, type TaskOptions } from "./tasks/index.ts";
export { World } from "./world.ts";
