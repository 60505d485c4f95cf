// An evaluation run: one policy over a list of task configs, its results record, and (optionally) the HTML report.
import { type Policy } from "../../serve/policy.ts";
import { type TrainingLog } from "../report/metrics.ts";
import { type Comparison, writeReport } from "../report/html.ts";
import { type EvalProgress, type RecordOptions, type TaskEval, type TaskEvalConfig, evaluateTask } from "./evaluate.ts";
import { type OpenLoopTask, openLoopTask } from "./open-loop.ts";
import { type CodeVersion, type EvalResults, type PolicySource, buildResults, writeResults } from "./results.ts";

export interface EvalRunOptions {
  readonly tasks: readonly TaskEvalConfig[];
  readonly record?: RecordOptions;
  /** What was evaluated (the policy's metadata is added). */
  readonly source: Omit<PolicySource, "metadata">;
  readonly code: CodeVersion;
  readonly command: readonly string[];
  readonly onProgress?: (p: EvalProgress) => void;
  /** Also measure the open-loop joint error along expert episodes of the same seeds. */
  readonly openLoop?: boolean;
}

export interface EvalRun {
  readonly tasks: readonly TaskEval[];
  readonly results: EvalResults;
}

/** Evaluates `policy` on every task in order (the policy is reset before each episode). */
export async function runEvaluation(policy: Policy, opts: EvalRunOptions): Promise<EvalRun> {
  const t0 = performance.now();
  const tasks: TaskEval[] = [];
  for (const c of opts.tasks) tasks.push(await evaluateTask(policy, c, opts.record, opts.onProgress));
  const openLoop: OpenLoopTask[] = [];
  if (opts.openLoop) for (const c of opts.tasks) openLoop.push(await openLoopTask(policy, c));
  const results = buildResults(tasks, {
    code: opts.code, command: opts.command, policy: { ...opts.source, metadata: policy.metadata }, wallSeconds: (performance.now() - t0) / 1000,
    openLoop: opts.openLoop ? openLoop : undefined,
  });
  return { tasks, results };
}

export interface SaveOptions {
  readonly title: string;
  readonly comparisons?: readonly Comparison[];
  readonly logs?: readonly TrainingLog[];
  readonly notes?: readonly string[];
  /** Write report.html and media/ next to results.json (default true). */
  readonly report?: boolean;
}

/** Writes results.json (and the report) into `dir`; returns the files written. */
export function saveEvaluation(dir: string, run: EvalRun, opts: SaveOptions): { results: string; report?: string } {
  const results = `${dir}/results.json`;
  if (opts.report === false) {
    writeResults(results, run.results);
    return { results };
  }
  const report = writeReport(dir, { title: opts.title, results: run.results, tasks: run.tasks, comparisons: opts.comparisons, logs: opts.logs, notes: opts.notes });
  return { results, report };
}
