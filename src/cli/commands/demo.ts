// `internvla demo` (npm run demo): the whole system on a fresh machine: data, tokenizer, tiny policy, eval, report.
import { join, resolve } from "node:path";
import { type Command } from "../command.ts";
import { applyOverrides } from "../args.ts";
import { EXPERIMENTS_DIR, cliStages } from "./experiment.ts";

export const demoCommand: Command = {
  name: "demo",
  summary: "the end-to-end demo: generate data, train the tokenizer and a tiny policy, evaluate it, write the report",
  usage: "internvla demo [--out DIR] [--section.key=value ...]",
  description: `
Runs the "demo" experiment (configs/experiments/demo.json), sized for about 15 minutes on 2 CPU cores:
scripted episodes of one static task (pick_cube) and one dynamic task (conveyor_sort), the image tokenizer,
a tiny InternVLA-A1 policy trained on both, then closed-loop evaluation on unseen scenes next to the
random-action baseline. Prints the success rates and where the HTML report is. Rerunning reuses finished
stages (delete --out to start over). Overrides change the budget, e.g. --posttrain.steps=2000.`,
  flags: [{ name: "out", type: "string", help: "output folder", default: "runs/demo", placeholder: "DIR" }],
  async run(args, io) {
    const { loadExperiment, runExperiment } = await import("../../train/experiment.ts");
    const { differenceInterval, formatRate } = await import("../../train/eval/stats.ts");
    const { formatDifference } = await import("../../train/eval/compare.ts");
    const cfg = applyOverrides(loadExperiment(EXPERIMENTS_DIR, "demo"), args.overrides, "internvla demo");
    const root = resolve(String(args.flags.out));
    const t0 = performance.now();
    const o = await runExperiment(cfg, root, cliStages(io), (l) => io.err(`[demo] ${l}\n`));
    const minutes = ((performance.now() - t0) / 60000).toFixed(1);
    io.out(`\ninternvla demo finished in ${minutes} min (all stages: ${(o.seconds / 60).toFixed(1)} min)\n`);
    for (const t of o.results.tasks) {
      const base = o.baseline?.tasks.find((b) => b.config.task === t.config.task);
      const d = base ? differenceInterval(t.success, base.success) : undefined;
      const beat = !d ? "" : d.lo > 0 ? "beats random (95% interval above 0)" : d.diff > 0 ? "is above random, not significantly" : "does not beat random";
      io.out(`  ${t.config.task} (${t.kind}): policy ${formatRate(t.success)}${base && d ? `; random actions ${formatRate(base.success)}; difference ${formatDifference(d)} points: the policy ${beat}` : ""}\n`);
    }
    for (const ol of o.results.openLoop ?? []) {
      const base = o.baseline?.openLoop?.find((b) => b.task === ol.task);
      const f = (x: number) => x.toFixed(3);
      io.out(`  ${ol.task} open-loop joint error: policy ${f(ol.rmse.mean)} rad [${f(ol.rmse.lo)}, ${f(ol.rmse.hi)}], holding still ${f(ol.holdRmse.mean)}${base ? `, random actions ${f(base.rmse.mean)}` : ""}\n`);
    }
    io.out(`report: ${join(o.dirs.eval, "report.html")}\n`);
    return 0;
  },
};
