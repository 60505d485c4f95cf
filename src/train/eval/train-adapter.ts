// How experiments hand work to the trainer: the --data argument for several datasets, the final checkpoint, eval tasks.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CheckpointError } from "../../tensor/errors.ts";
import { type ExperimentConfig } from "../experiment.ts";
import { type TaskEvalConfig } from "./evaluate.ts";

/** One dataset folder as is; several as a mixture file written next to the run (frames drawn in proportion to size). */
export function dataArgument(datasets: readonly string[], out: string): string {
  if (datasets.length === 1) return datasets[0];
  mkdirSync(out, { recursive: true });
  const path = join(out, "data-mixture.json");
  writeFileSync(path, JSON.stringify({ groups: [{ name: "all", weight: 1, sources: datasets.map((root) => ({ root: resolve(root) })) }] }, null, 1));
  return path;
}

/** The checkpoint folder a training run ends with: the run itself, its `latest` pointer, or its newest step. */
export function latestCheckpoint(run: string): string {
  if (existsSync(join(run, "config.json"))) return run;
  const pointer = join(run, "latest");
  if (existsSync(pointer)) {
    const target = readFileSync(pointer, "utf8").trim();
    const dir = resolve(run, target);
    if (existsSync(join(dir, "config.json"))) return dir;
  }
  const steps = existsSync(join(run, "checkpoints")) ? readdirSync(join(run, "checkpoints")).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(a) - Number(b)) : [];
  if (steps.length > 0) return join(run, "checkpoints", steps[steps.length - 1]);
  throw new CheckpointError(`${run}: no checkpoint found (expected config.json, a latest pointer or checkpoints/<step>/)`);
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
