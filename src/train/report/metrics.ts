// Training logs for the report: reads metrics.jsonl files and groups their numeric fields into plots.
import { existsSync, readFileSync } from "node:fs";
import { ConfigError } from "../../tensor/errors.ts";
import { linePlot, type Series } from "./svg.ts";

/** One logged step: `step` plus any numeric fields (loss, loss_action, loss_gen, grad_norm, lr, ...). */
export type MetricRow = Readonly<Record<string, number>>;

/** A training log with a name for the report ("policy", "tokenizer"). */
export interface TrainingLog {
  readonly name: string;
  readonly rows: readonly MetricRow[];
}

/** Fields that are axes or bookkeeping, never plotted on their own. */
const NOT_PLOTTED = new Set(["step", "steps", "epoch", "time", "elapsed_s", "wall_s", "timestamp"]);

/**
 * Reads a metrics.jsonl file: one JSON object per line with a numeric `step`; other numeric fields are kept,
 * anything else is ignored. A line that is not JSON fails with its line number, except a torn last line
 * (a run killed mid-write), which is skipped.
 */
export function readMetrics(path: string): MetricRow[] {
  if (!existsSync(path)) throw new ConfigError(`report: no training log at ${path}`, "pass the run folder that holds metrics.jsonl");
  const lines = readFileSync(path, "utf8").split("\n");
  const rows: MetricRow[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      if (i >= lines.length - 2) return;
      throw new ConfigError(`report: ${path} line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
    if (typeof obj !== "object" || obj === null) return;
    const row: Record<string, number> = {};
    for (const [k, v] of Object.entries(obj)) if (typeof v === "number") row[k] = v;
    if (typeof row.step === "number") rows.push(row);
  });
  return rows;
}

function series(rows: readonly MetricRow[], key: string): Series {
  return { name: key, points: rows.filter((r) => key in r).map((r) => [r.step, r[key]] as const) };
}

/** The plot groups of a log: every *loss* field together on a log axis, then each other field on its own. */
export function metricPlots(log: TrainingLog): string[] {
  const keys = [...new Set(log.rows.flatMap((r) => Object.keys(r)))].filter((k) => !NOT_PLOTTED.has(k));
  const losses = keys.filter((k) => k.includes("loss"));
  const others = keys.filter((k) => !k.includes("loss"));
  const plots: string[] = [];
  if (losses.length > 0) {
    plots.push(linePlot(losses.map((k) => series(log.rows, k)), { title: `${log.name}: loss`, xLabel: "step", yLabel: "loss", logY: true }));
  }
  for (const k of others) plots.push(linePlot([series(log.rows, k)], { title: `${log.name}: ${k}`, xLabel: "step", yLabel: k }));
  return plots;
}
