// Comparison of several evaluated policies (an ablation table): success and open-loop error per task, differences vs a reference.
import { ConfigError } from "../../tensor/errors.ts";
import { type EvalResults } from "./results.ts";
import { type DifferenceInterval, type MeanInterval, type RateInterval, differenceInterval, formatRate, meanInterval } from "./stats.ts";

/** One row of the table: a named policy and its results. */
export interface ComparedRun {
  readonly name: string;
  readonly results: EvalResults;
}

export interface ComparisonRow {
  readonly name: string;
  /** Per column key: the rate, and its difference from the reference row's (absent on the reference row). */
  readonly cells: Readonly<Record<string, { readonly rate: RateInterval; readonly vsReference?: DifferenceInterval }>>;
}

export interface Comparison {
  readonly reference: string;
  /** Column keys in order: each task as "task (kind)", then "all <kind>" per kind, then "overall". */
  readonly columns: readonly string[];
  readonly rows: readonly ComparisonRow[];
}

/** The rate behind each column of one run's results. */
function columnsOf(r: EvalResults): Map<string, RateInterval> {
  const out = new Map<string, RateInterval>();
  for (const t of r.tasks) out.set(`${t.config.task} (${t.kind})`, t.success);
  const kinds = Object.keys(r.overall.byKind);
  if (kinds.length > 1 || r.tasks.length > 1) for (const k of kinds) out.set(`all ${k}`, r.overall.byKind[k]);
  if (r.tasks.length > 1) out.set("overall", r.overall.all);
  return out;
}

/**
 * Builds the table; `reference` (default: the first run) is the row the others are compared with. Every run
 * must cover the same columns (same tasks).
 */
export function compareRuns(runs: readonly ComparedRun[], reference = runs[0]?.name): Comparison {
  if (runs.length === 0) throw new ConfigError("compareRuns: no runs to compare");
  const ref = runs.find((r) => r.name === reference);
  if (!ref) throw new ConfigError(`compareRuns: reference "${reference}" is not one of ${runs.map((r) => r.name).join(", ")}`);
  const refCols = columnsOf(ref.results);
  const columns = [...refCols.keys()];
  const rows = runs.map((run): ComparisonRow => {
    const cols = columnsOf(run.results);
    const missing = columns.filter((c) => !cols.has(c));
    if (missing.length > 0) throw new ConfigError(`compareRuns: run "${run.name}" has no results for ${missing.join(", ")}; every run must evaluate the same tasks`);
    const cells = Object.fromEntries(columns.map((c) => {
      const rate = cols.get(c)!;
      return [c, run === ref ? { rate } : { rate, vsReference: differenceInterval(rate, refCols.get(c)!) }];
    }));
    return { name: run.name, cells };
  });
  return { reference: ref.name, columns, rows };
}

function pts(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;
}

/** "−20.0 [−38.1, −0.4]" percentage points. */
export function formatDifference(d: DifferenceInterval): string {
  return Number.isNaN(d.diff) ? "n/a" : `${pts(d.diff)} [${pts(d.lo)}, ${pts(d.hi)}]`;
}

/** A Markdown table: one row per run, a rate cell per column, and the difference from the reference below it. */
export function comparisonMarkdown(c: Comparison): string {
  const head = `| experiment | ${c.columns.join(" | ")} |`;
  const rule = `|---|${c.columns.map(() => "---").join("|")}|`;
  const rows = c.rows.map((r) => {
    const cells = c.columns.map((col) => {
      const cell = r.cells[col];
      return cell.vsReference ? `${formatRate(cell.rate)}<br>${formatDifference(cell.vsReference)} vs ${c.reference}` : formatRate(cell.rate);
    });
    return `| ${r.name} | ${cells.join(" | ")} |`;
  });
  return [head, rule, ...rows].join("\n") + "\n";
}

/**
 * Plain statements of what the table shows for `better` vs `worse` in one column: "higher" only when the
 * difference interval excludes 0, "lower" likewise, else "no significant difference".
 */
export function verdict(c: Comparison, better: string, worse: string, column: string): string {
  const a = c.rows.find((r) => r.name === better)?.cells[column]?.rate;
  const b = c.rows.find((r) => r.name === worse)?.cells[column]?.rate;
  if (!a || !b) throw new ConfigError(`verdict: no "${column}" results for ${better} and ${worse}`);
  const d = differenceInterval(a, b);
  const what = d.lo > 0 ? "higher" : d.hi < 0 ? "lower" : "not significantly different";
  return `${column}: ${better} ${formatRate(a)} vs ${worse} ${formatRate(b)}: ${better} is ${what} (difference ${formatDifference(d)} points, 95%)`;
}

/** One run's open-loop error per task, and the paired difference from the reference (same seeds). */
export interface OpenLoopRow {
  readonly name: string;
  readonly cells: Readonly<Record<string, { readonly rmse: MeanInterval; readonly vsReference?: MeanInterval }>>;
}

/**
 * The open-loop table: per task the joint RMSE of each run and its difference from the reference, paired over
 * the shared seeds (run minus reference; negative = closer to the expert). Runs without open-loop results are
 * left out.
 */
export function compareOpenLoop(runs: readonly ComparedRun[], reference: string): { columns: string[]; rows: OpenLoopRow[] } {
  const ref = runs.find((r) => r.name === reference)?.results.openLoop;
  if (!ref) return { columns: [], rows: [] };
  const columns = ref.map((t) => t.task);
  const rows = runs.filter((r) => r.results.openLoop).map((run): OpenLoopRow => {
    const cells = Object.fromEntries(ref.map((rt) => {
      const t = run.results.openLoop!.find((u) => u.task === rt.task);
      if (!t) throw new ConfigError(`compareOpenLoop: run "${run.name}" has no open-loop results for ${rt.task}`);
      if (run.name === reference) return [rt.task, { rmse: t.rmse }];
      const mine = new Map(t.episodes.map((e) => [e.seed, e.rmse]));
      const diffs = rt.episodes.filter((e) => mine.has(e.seed)).map((e) => mine.get(e.seed)! - e.rmse);
      return [rt.task, { rmse: t.rmse, vsReference: meanInterval(diffs) }];
    }));
    return { name: run.name, cells };
  });
  return { columns, rows };
}

/** The open-loop table in Markdown (empty when no run has open-loop results). */
export function openLoopMarkdown(t: { columns: readonly string[]; rows: readonly OpenLoopRow[] }, reference: string): string {
  if (t.rows.length === 0) return "";
  const fmt = (m: MeanInterval) => `${m.mean.toFixed(3)} [${m.lo.toFixed(3)}, ${m.hi.toFixed(3)}]`;
  const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}`;
  const head = `| experiment | ${t.columns.map((c) => `${c}: joint RMSE (rad)`).join(" | ")} |`;
  const rule = `|---|${t.columns.map(() => "---").join("|")}|`;
  const rows = t.rows.map((r) => `| ${r.name} | ${t.columns.map((c) => {
    const cell = r.cells[c];
    const d = cell.vsReference;
    return d ? `${fmt(cell.rmse)}<br>${signed(d.mean)} [${signed(d.lo)}, ${signed(d.hi)}] vs ${reference}` : fmt(cell.rmse);
  }).join(" | ")} |`);
  return [head, rule, ...rows].join("\n") + "\n";
}

/** A plain statement for one open-loop column: lower or higher error only when the paired interval excludes 0. */
export function openLoopVerdict(t: { rows: readonly OpenLoopRow[] }, reference: string, other: string, task: string): string {
  const d = t.rows.find((r) => r.name === other)?.cells[task]?.vsReference;
  if (!d) throw new ConfigError(`openLoopVerdict: no paired "${task}" results for ${other} vs ${reference}`);
  const what = d.hi < 0 ? "lower" : d.lo > 0 ? "higher" : "not significantly different";
  return `${task} open loop: ${other}'s joint error is ${what} than ${reference}'s (paired difference ${d.mean.toFixed(3)} [${d.lo.toFixed(3)}, ${d.hi.toFixed(3)}] rad over ${d.n} episodes)`;
}
