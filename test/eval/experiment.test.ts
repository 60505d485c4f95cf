// Experiment configs (extends, validation, the shipped set), the stage runner with recording fake stages (sharing,
// resume, from-scratch), and the comparison table against hand-made rates whose intervals come from stats.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/tensor/errors.ts";
import { type ExperimentConfig, type ExperimentStages, evalTasks, loadExperiment, loadSet, mergeConfig, runExperiment } from "../../src/train/experiment.ts";
import { compareOpenLoop, compareRuns, comparisonMarkdown, formatDifference, openLoopMarkdown, openLoopVerdict, verdict } from "../../src/train/eval/compare.ts";
import { type TaskEval } from "../../src/train/eval/evaluate.ts";
import { buildResults, type EvalResults } from "../../src/train/eval/results.ts";
import { differenceInterval, meanInterval, wilsonInterval } from "../../src/train/eval/stats.ts";

const SHIPPED = new URL("../../configs/experiments", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "internvla-experiment-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Results of one policy with the given successes out of n on pick_place (static) and conveyor_sort (dynamic). */
function results(staticOk: number, dynamicOk: number, n: number): EvalResults {
  const task = (name: string, kind: "static" | "dynamic", ok: number): TaskEval => ({
    config: { task: name, level: "clean", split: "train", episodes: n, seed: 0, expertCheck: true, imageSize: 64, nActionSteps: 10, frameGap: 15 },
    kind, robot: "arm5", seeds: [], skippedSeeds: [], success: wilsonInterval(ok, n),
    episodes: Array.from({ length: n }, (_, i) => ({ seed: i, instruction: "", success: i < ok, steps: 10, inferMs: [1], foresight: [] })),
  });
  return buildResults([task("pick_place", "static", staticOk), task("conveyor_sort", "dynamic", dynamicOk)], {
    code: { package: "t", commit: null, dirty: null }, command: [], policy: { kind: "other", metadata: {} }, wallSeconds: 0,
  });
}

describe("experiment configs", () => {
  it("loads the shipped ablation set; each ablation changes only what it ablates", () => {
    const set = loadSet(SHIPPED, "ablations");
    expect(set).toMatchObject({ experiments: ["full", "no-gen-expert", "no-pretrain"], reference: "full" });
    const [full, noGen, noPre] = set.experiments.map((n) => loadExperiment(SHIPPED, n));
    expect({ ...noGen, name: "", description: "", model: null }).toEqual({ ...full, name: "", description: "", model: null });
    expect(noGen.model.args.length).toBeGreaterThan(0);
    expect(noPre.pretrain).toBeNull();
    expect({ ...noPre, name: "", description: "", pretrain: null }).toEqual({ ...full, name: "", description: "", pretrain: null });
  });

  it("merges objects key by key and replaces arrays and null", () => {
    expect(mergeConfig({ a: { b: 1, c: [1, 2] }, d: { e: 1 } }, { a: { c: [3] }, d: null })).toEqual({ a: { b: 1, c: [3] }, d: null });
  });

  it("names the field and the rule when a config is wrong, and suggests a known name", () => {
    const base = loadExperiment(SHIPPED, "full");
    const write = (name: string, over: object) => writeFileSync(join(tmp, `${name}.json`), JSON.stringify(mergeConfig(base as never, { ...over, name } as never)));
    write("overlap", { eval: { seed: 1000 } });
    expect(() => loadExperiment(tmp, "overlap")).toThrow(/eval.seed 1000 overlaps the seeds of a training dataset/);
    write("zero", { posttrain: { steps: 0 } });
    expect(() => loadExperiment(tmp, "zero")).toThrow(/posttrain.steps must be an integer >= 1, got 0/);
    expect(() => loadExperiment(SHIPPED, "no-pretrian")).toThrow(/did you mean no-pretrain\?/);
    expect(() => loadSet(SHIPPED, "ablation")).toThrow(ConfigError);
  });

  it("turns the eval section into task configs with the post-training robot and image size", () => {
    const tasks = evalTasks(loadExperiment(SHIPPED, "full"), 10);
    expect(tasks.map((t) => [t.task, t.robot, t.level, t.imageSize, t.nActionSteps, t.seed])).toEqual([
      ["pick_place", "arm5", "randomised", 64, 10, 100000], ["conveyor_sort", "arm5", "randomised", 64, 10, 100000],
    ]);
  });
});

/** Stages that record their calls and write nothing but what the runner needs. */
function fakeStages(log: string[]): ExperimentStages {
  return {
    generate: async (d, _size, out) => void log.push(`generate ${d.task}/${d.robot}/${d.level} -> ${out.split("/").at(-1)}`),
    trainTokenizer: async (req) => void log.push(`tokenizer ${req.data.flatMap((g) => g.roots).length} datasets`),
    trainPolicy: async (req) => {
      log.push(`train ${req.out.split("/").at(-2)} init=${req.initFrom ? "pretrain" : "scratch"} args=${req.model.args.join(" ")}`);
      return join(req.out, "checkpoint");
    },
    evaluate: async (req) => {
      log.push(`evaluate ${req.policy === "random" ? "random" : `${req.policy.checkpoint.split("/").at(-3)} logs=${req.logs.map((l) => l.name).join("+")} baseline=${req.baseline !== undefined}`}`);
      return results(1, 0, 2);
    },
  };
}

describe("runExperiment", () => {
  it("runs every stage once, shares datasets, tokenizer and baseline across experiments, and resumes", async () => {
    const root = join(tmp, "runs");
    const cfgs = ["full", "no-pretrain", "no-gen-expert"].map((n) => loadExperiment(SHIPPED, n)) as ExperimentConfig[];
    const log: string[] = [];
    const wide = "--model.expert_config.hidden_size=128 --model.expert_config.intermediate_size=256";
    const full = await runExperiment(cfgs[0], root, fakeStages(log));
    expect(log.filter((l) => l.startsWith("generate")).length).toBe(9);
    expect(log.slice(9)).toEqual([
      "tokenizer 9 datasets", `train pretrain init=scratch args=${wide}`, `train posttrain init=pretrain args=${wide}`, "evaluate random",
      "evaluate posttrain logs=tokenizer+pre-training+post-training baseline=true",
    ]);
    expect(full.dirs.pretrain).not.toBeNull();
    log.length = 0;
    const noPre = await runExperiment(cfgs[1], root, fakeStages(log));
    expect(log).toEqual([`train posttrain init=scratch args=${wide}`, "evaluate posttrain logs=tokenizer+post-training baseline=true"]);
    expect(noPre.dirs.tokenizer).toBe(full.dirs.tokenizer);
    expect(noPre.dirs.posttrain).not.toBe(full.dirs.posttrain);
    log.length = 0;
    await runExperiment(cfgs[2], root, fakeStages(log));
    expect(log).toEqual([
      `train pretrain init=scratch args=${wide} --model.use_gen_expert=false`, `train posttrain init=pretrain args=${wide} --model.use_gen_expert=false`,
      "evaluate posttrain logs=tokenizer+pre-training+post-training baseline=true",
    ]);
    log.length = 0;
    const again = await runExperiment(cfgs[0], root, fakeStages(log));
    expect(log).toEqual([]);
    expect(again.results.overall.all.successes).toBe(1);
  });
});

describe("comparison table", () => {
  const runs = [{ name: "full", results: results(12, 15, 20) }, { name: "no-gen-expert", results: results(10, 4, 20) }];

  it("has a column per task, per kind and overall, with Newcombe differences from the reference", () => {
    const c = compareRuns(runs, "full");
    expect(c.columns).toEqual(["pick_place (static)", "conveyor_sort (dynamic)", "all static", "all dynamic", "overall"]);
    const cell = c.rows[1].cells["conveyor_sort (dynamic)"];
    expect(cell.rate).toEqual(wilsonInterval(4, 20));
    expect(cell.vsReference).toEqual(differenceInterval(wilsonInterval(4, 20), wilsonInterval(15, 20)));
    expect(c.rows[0].cells["overall"].vsReference).toBeUndefined();
    const md = comparisonMarkdown(c);
    expect(md.split("\n")[0]).toBe("| experiment | pick_place (static) | conveyor_sort (dynamic) | all static | all dynamic | overall |");
    expect(md).toContain(`20.0% [8.1, 41.6] (4/20)<br>${formatDifference(cell.vsReference!)} vs full`);
  });

  it("calls a difference only when its interval excludes zero", () => {
    const c = compareRuns(runs, "full");
    expect(verdict(c, "full", "no-gen-expert", "conveyor_sort (dynamic)")).toContain("full is higher");
    expect(verdict(c, "full", "no-gen-expert", "pick_place (static)")).toContain("not significantly different");
    expect(() => compareRuns([...runs, { name: "x", results: buildResults([], { code: { package: "t", commit: null, dirty: null }, command: [], policy: { kind: "other", metadata: {} }, wallSeconds: 0 }) }])).toThrow(/run "x" has no results for pick_place \(static\)/);
  });
});

describe("open-loop comparison", () => {
  /** Results with open-loop errors per seed on pick_place. */
  function withOpenLoop(rmse: number[]): EvalResults {
    const episodes = rmse.map((r, i) => ({ seed: 100 + i, rmse: r, holdRmse: 0.3 }));
    const ol = { task: "pick_place", seeds: episodes.map((e) => e.seed), episodes, rmse: meanInterval(rmse), holdRmse: meanInterval(rmse.map(() => 0.3)) };
    return { ...results(1, 1, 4), openLoop: [ol] };
  }

  it("pairs the errors over seeds and states a difference only when its interval excludes 0", () => {
    const full = [0.2, 0.25, 0.22, 0.3, 0.18, 0.27];
    const worse = full.map((x, i) => x + 0.05 + 0.01 * (i % 2));
    const noisy = full.map((x, i) => x + (i % 2 ? 0.04 : -0.04));
    const t = compareOpenLoop([{ name: "full", results: withOpenLoop(full) }, { name: "worse", results: withOpenLoop(worse) }, { name: "noisy", results: withOpenLoop(noisy) }], "full");
    expect(t.columns).toEqual(["pick_place"]);
    expect(t.rows[1].cells.pick_place.vsReference).toEqual(meanInterval(worse.map((w, i) => w - full[i])));
    expect(openLoopVerdict(t, "full", "worse", "pick_place")).toContain("worse's joint error is higher than full's");
    expect(openLoopVerdict(t, "full", "noisy", "pick_place")).toContain("not significantly different");
    expect(openLoopMarkdown(t, "full").split("\n")[0]).toBe("| experiment | pick_place: joint RMSE (rad) |");
  });
});
