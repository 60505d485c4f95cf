// `internvla experiment`: runs named experiments (configs/experiments) and writes a comparison table like the paper's.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, type CliIO } from "../command.ts";
import { applyOverrides } from "../args.ts";
import { InternvlaError } from "../../tensor/errors.ts";
import { type ExperimentConfig, type ExperimentOutcome, type ExperimentStages } from "../../train/experiment.ts";
import { codeVersion, evalProgress, trainingLogs } from "./eval.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const EXPERIMENTS_DIR = join(REPO, "configs", "experiments");

/** A training stage failed in its child process. */
export class StageError extends InternvlaError {}

/** Runs `internvla <args>` in a child process (its own memory), streaming its output; rejects on failure. */
function runCli(io: CliIO, args: readonly string[]): Promise<void> {
  io.err(`$ internvla ${args.join(" ")}\n`);
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(REPO, "bin", "internvla.mjs"), ...args], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", fail);
    child.on("exit", (code, signal) => (code === 0 ? ok() : fail(new StageError(`internvla ${args[0]} failed (${signal ?? `exit ${code}`})`, "see its output above; rerun the same command to resume from the last finished stage"))));
  });
}

/** The real stages: the simulator's generator in process, training in child processes, evaluation in process. */
export function cliStages(io: CliIO, code = codeVersion()): ExperimentStages {
  return {
    async generate(d, imageSize, out) {
      const { generateDataset } = await import("../../sim/dataset/generate.ts");
      const { progressBar } = await import("../progress.ts");
      const { SimError } = await import("../../sim/mujoco.ts");
      // A stuck video encoder fails the run with the dataset left partial: resume it (twice at most) rather than stop the experiment.
      for (let attempt = 1; ; attempt++) {
        const bar = progressBar(io, `generate ${d.task}`, d.episodes, "ep");
        try {
          const resume = existsSync(join(out, "meta", "PARTIAL"));
          const s = await generateDataset({ out, task: d.task, robot: d.robot, level: d.level, split: d.split, episodes: d.episodes, seed: d.seed, imageSize, resume, onProgress: (p) => bar.update(p.written) });
          bar.finish(`expert success ${(100 * s.expertSuccessRate).toFixed(0)}%`);
          return;
        } catch (e) {
          bar.finish("stopped");
          if (!(e instanceof SimError) || attempt >= 3 || !existsSync(join(out, "meta", "PARTIAL"))) throw e;
          io.err(`generate ${d.task}: ${e.message}; resuming (attempt ${attempt + 1} of 3)\n`);
        }
      }
    },
    async trainTokenizer(req) {
      const { dataArgument } = await import("../../train/experiment.ts");
      await runCli(io, ["train-tokenizer", "--data", dataArgument(req.data, req.out), "--out", req.out, `--steps=${req.stage.steps}`, `--seed=${req.seed}`, ...req.stage.args]);
    },
    async trainPolicy(req) {
      const { dataArgument } = await import("../../train/experiment.ts");
      const { checkpointFolder } = await import("../../train/setup.ts");
      const init = req.initFrom ? ["--init-from", req.initFrom] : [];
      await runCli(io, [
        "train", "--config", req.model.preset, "--data", dataArgument(req.data, req.out), "--out", req.out, "--tokenizer", req.tokenizer,
        `--steps=${req.stage.steps}`, `--seed=${req.seed}`, ...init, ...req.model.args, ...req.stage.args,
      ]);
      return checkpointFolder(req.out);
    },
    async evaluate(req) {
      const { runEvaluation, saveEvaluation } = await import("../../train/eval/run.ts");
      const { evalTasks } = await import("../../train/experiment.ts");
      const command = ["experiment", req.cfg.name];
      if (req.policy === "random") {
        const { randomPolicy } = await import("../../train/eval/random-policy.ts");
        const tasks = evalTasks(req.cfg, req.cfg.eval.nActionSteps ?? 10);
        const policy = randomPolicy({ robot: req.cfg.data.posttrain[0].robot, horizon: tasks[0].nActionSteps, seed: req.cfg.eval.seed });
        const run = await runEvaluation(policy, { tasks, source: { kind: "random" }, code, command, openLoop: true, onProgress: evalProgress(io, "baseline") });
        saveEvaluation(req.out, run, { title: "random-action baseline", report: false });
        return run.results;
      }
      const { loadCheckpointPolicy } = await import("../../train/eval/checkpoint.ts");
      const ck = await loadCheckpointPolicy(req.policy.checkpoint, { nActionSteps: req.cfg.eval.nActionSteps ?? undefined, seed: req.cfg.eval.seed });
      try {
        const tasks = evalTasks(req.cfg, ck.nActionSteps);
        const record = { videoEvery: 2, foresight: ck.foresight, foresightPerEpisode: 2 };
        const run = await runEvaluation(ck.policy, { tasks, record, source: ck.source, code, command, openLoop: true, onProgress: evalProgress(io, req.cfg.name) });
        const comparisons = req.baseline ? [{ name: "random actions", results: req.baseline }] : [];
        saveEvaluation(req.out, run, { title: `experiment ${req.cfg.name}`, comparisons, logs: await trainingLogs(req.logs), notes: [req.cfg.description] });
        return run.results;
      } finally {
        ck.dispose();
      }
    },
  };
}

/** Writes the set's comparison (Markdown + JSON) and returns the Markdown. */
async function writeComparison(root: string, setName: string, reference: string, outcomes: readonly ExperimentOutcome[], budget: string): Promise<string> {
  const { compareOpenLoop, compareRuns, comparisonMarkdown, openLoopMarkdown, openLoopVerdict, verdict } = await import("../../train/eval/compare.ts");
  const runs = outcomes.map((o) => ({ name: o.name, results: o.results }));
  const base = outcomes.find((o) => o.baseline)?.baseline;
  const table = compareRuns(base ? [...runs, { name: "random actions", results: base }] : runs, reference);
  const verdicts = outcomes.filter((o) => o.name !== reference).flatMap((o) => table.columns.map((col) => verdict(table, reference, o.name, col)));
  const openLoop = compareOpenLoop(base ? [...runs, { name: "random actions", results: base }] : runs, reference);
  const olVerdicts = outcomes.filter((o) => o.name !== reference && o.results.openLoop).flatMap((o) => openLoop.columns.map((c) => openLoopVerdict(openLoop, reference, o.name, c)));
  const md = `## ${setName}\n\n${budget}\n\nClosed-loop success (95% Wilson intervals; differences in points, Newcombe):\n\n${comparisonMarkdown(table)}\n${verdicts.map((v) => `- ${v}`).join("\n")}\n\nOpen-loop joint error against the expert (95% intervals; differences paired over seeds):\n\n${openLoopMarkdown(openLoop, reference)}\n${olVerdicts.map((v) => `- ${v}`).join("\n")}\n`;
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, `${setName}.md`), md);
  writeFileSync(join(root, `${setName}.json`), JSON.stringify({ table, openLoop, outcomes: outcomes.map((o) => ({ name: o.name, dirs: o.dirs, seconds: o.seconds })) }, null, 1));
  return md;
}

/** One line on the budget: steps, data, episodes and compute time of each experiment (shared stages count in each). */
function budgetLine(cfgs: readonly ExperimentConfig[], outcomes: readonly ExperimentOutcome[]): string {
  const parts = cfgs.map((c, i) => {
    const eps = (ds: ExperimentConfig["data"]["posttrain"]) => ds.map((d) => `${d.episodes} ${d.task}/${d.robot}/${d.level}`).join(" + ");
    const pre = c.pretrain ? `pre-train ${c.pretrain.steps} steps on ${eps(c.data.pretrain.flatMap((g) => g.datasets))}, ` : "no pre-training, ";
    const minutes = (outcomes[i].seconds / 60).toFixed(0);
    return `${c.name} (${minutes} min): tokenizer ${c.tokenizer.steps} steps, ${pre}post-train ${c.posttrain.steps} steps on ${eps(c.data.posttrain)}, ${c.eval.episodes} eval episodes per task`;
  });
  return `Budget (minutes of all stages, on this machine; a stage shared by several experiments counts in each): ${parts.join("; ")}.`;
}

export const experimentCommand: Command = {
  name: "experiment",
  summary: "run named experiments (e.g. the ablations) end to end and write a comparison table",
  usage: "internvla experiment (NAME... | --set SET) [--out DIR] [--section.key=value ...]",
  description: `
Each experiment (configs/experiments/NAME.json) generates its datasets, trains the image tokenizer, pre-trains
on the mixture (unless "pretrain" is null), post-trains on the target set, then evaluates in closed loop with
the random-action baseline on the same seeds. Stage folders under --out are keyed by their inputs, so
experiments share datasets, tokenizer and pre-training where they can, and rerunning the same command resumes
at the first unfinished stage. --set ablations runs full, no-gen-expert and no-pretrain and writes
OUT/ablations.md: success per task with 95% intervals and each ablation's difference from full.
Overrides apply to every experiment, e.g. --posttrain.steps=2000 --eval.episodes=50.`,
  flags: [
    { name: "set", type: "string", help: "a named set from configs/experiments/sets.json (e.g. ablations)" },
    { name: "out", type: "string", help: "root folder of every stage", default: "runs/experiments", placeholder: "DIR" },
  ],
  async run(args, io) {
    const { loadExperiment, loadSet, runExperiment } = await import("../../train/experiment.ts");
    const set = args.flags.set === undefined ? undefined : loadSet(EXPERIMENTS_DIR, String(args.flags.set));
    const names = set ? set.experiments : args.positionals;
    if (names.length === 0) throw new InternvlaError("internvla experiment: name one or more experiments, or --set SET", "see configs/experiments/");
    const cfgs = names.map((n) => applyOverrides(loadExperiment(EXPERIMENTS_DIR, n), args.overrides, `experiment ${n}`));
    const root = resolve(String(args.flags.out));
    const stages = cliStages(io);
    const outcomes: ExperimentOutcome[] = [];
    for (const cfg of cfgs) {
      io.err(`== experiment ${cfg.name}: ${cfg.description}\n`);
      const o = await runExperiment(cfg, root, stages, (l) => io.err(`[${cfg.name}] ${l}\n`));
      outcomes.push(o);
      io.out(`${cfg.name}: report ${join(o.dirs.eval, "report.html")}\n`);
    }
    const md = await writeComparison(root, String(args.flags.set ?? names.join("-vs-")), set?.reference ?? names[0], outcomes, budgetLine(cfgs, outcomes));
    io.out(`${md}\ncomparison: ${join(root, `${args.flags.set ?? names.join("-vs-")}.md`)}\n`);
    return 0;
  },
};
