// How experiments hand work to the trainer and the evaluator: the --data argument for several datasets, eval tasks.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ExperimentConfig } from "../experiment.ts";
import { type TaskEvalConfig } from "./evaluate.ts";

/** One dataset folder as is; several as a mixture file written next to the run (frames drawn in proportion to size). */
export function dataArgument(datasets: readonly string[], out: string): string {
  if (datasets.length === 1) return datasets[0];
  mkdirSync(out, { recursive: true });
  const path = join(out, "data-mixture.json");
  writeFileSync(path, JSON.stringify({ format: "internvla-mixture/1", groups: [{ name: "all", weight: 1, gamma: 1, sources: datasets.map((root) => ({ root: resolve(root) })) }] }, null, 1));
  return path;
}

/** The experiment's evaluation as task configs (robot from the post-training data of that task). */
export function evalTasks(cfg: ExperimentConfig, nActionSteps: number): TaskEvalConfig[] {
  return cfg.eval.tasks.map((t) => ({
    task: t.task,
    robot: (cfg.data.posttrain.find((d) => d.task === t.task) ?? cfg.data.posttrain[0]).robot,
    level: t.level, split: t.split, episodes: cfg.eval.episodes, seed: cfg.eval.seed, expertCheck: cfg.eval.expertCheck,
    imageSize: cfg.data.imageSize, nActionSteps, frameGap: 15,
  }));
}
