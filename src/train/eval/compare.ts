// Comparison of several evaluated policies (an ablation table): success per task with intervals, differences vs a reference.
import { ConfigError } from "../../tensor/errors.ts";
import { type EvalResults } from "./results.ts";
import { type DifferenceInterval, type RateInterval, differenceInterval, formatRate } from "./stats.ts";

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
