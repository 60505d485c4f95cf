// How experiments hand work to the trainer and the evaluator: the --data argument for several datasets, eval tasks.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type DataGroupDirs, type ExperimentConfig } from "../experiment.ts";
import { type TaskEvalConfig } from "./evaluate.ts";

/** The trainer's --data: one dataset folder as is, otherwise a mixture file (groups by weight, datasets by frames^gamma) in `out`. */
export function dataArgument(groups: readonly DataGroupDirs[], out: string): string {
  if (groups.length === 1 && groups[0].roots.length === 1) return groups[0].roots[0];
  mkdirSync(out, { recursive: true });
  const path = join(out, "data-mixture.json");
  const mixture = { format: "internvla-mixture/1", groups: groups.map((g) => ({ name: g.name, weight: g.weight, gamma: g.gamma, sources: g.roots.map((r) => ({ root: resolve(r) })) })) };
  writeFileSync(path, JSON.stringify(mixture, null, 1));
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
