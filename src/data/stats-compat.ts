// A compatibility report between two stats files: missing features, dims, tiny spreads, and distribution shift.
import type { FeatureStats } from "./lerobot/stats.ts";
import type { StatsMap } from "./lerobot/stats-json.ts";

export interface CompatFinding {
  readonly severity: "error" | "warning";
  readonly feature: string;
  readonly dim?: number;
  readonly message: string;
}

export interface CompatOptions {
  /** A std below this makes (x - mean) / (std + 1e-6) explode (openpi's troubleshooting case). */
  readonly tinyStd: number;
  /** A q99 - q01 range below this makes quantile normalisation explode. */
  readonly tinyRange: number;
  /** Flag when B's data normalised with A's stats reaches beyond this many units. */
  readonly maxNormalised: number;
}

export const DEFAULT_COMPAT: CompatOptions = { tinyStd: 1e-4, tinyRange: 1e-4, maxNormalised: 10 };

function spreadFindings(label: string, key: string, s: FeatureStats, o: CompatOptions): CompatFinding[] {
  const out: CompatFinding[] = [];
  s.std.forEach((sd, j) => {
    if (sd < o.tinyStd) {
      out.push({ severity: "warning", feature: key, dim: j, message: `${label} ${key}[${j}]: std ${sd.toExponential(2)} < ${o.tinyStd}: a change of 0.01 normalises to ${(0.01 / (sd + 1e-6)).toExponential(2)}` });
    }
  });
  const q01 = s.quantiles?.q01;
  const q99 = s.quantiles?.q99;
  if (q01 && q99) {
    q01.forEach((lo, j) => {
      const range = q99[j] - lo;
      if (range < o.tinyRange) out.push({ severity: "warning", feature: key, dim: j, message: `${label} ${key}[${j}]: q99 - q01 = ${range.toExponential(2)} < ${o.tinyRange}: quantile normalisation is ill-conditioned` });
    });
  }
  return out;
}

/** Tiny std and quantile ranges of one stats file (what makes normalised values explode). */
export function checkSpread(stats: StatsMap, opts: CompatOptions = DEFAULT_COMPAT, label = "stats"): CompatFinding[] {
  return Object.entries(stats).flatMap(([key, s]) => spreadFindings(label, key, s, opts));
}

/** How far B's observed range reaches when normalised with A's mean/std. */
function shiftFindings(key: string, a: FeatureStats, b: FeatureStats, o: CompatOptions): CompatFinding[] {
  const out: CompatFinding[] = [];
  a.mean.forEach((m, j) => {
    const scale = a.std[j] + 1e-6;
    const reach = Math.max(Math.abs((b.min[j] - m) / scale), Math.abs((b.max[j] - m) / scale));
    if (Number.isFinite(reach) && reach > o.maxNormalised) {
      out.push({ severity: "warning", feature: key, dim: j, message: `${key}[${j}]: B's range [${b.min[j].toPrecision(4)}, ${b.max[j].toPrecision(4)}] normalised with A's stats reaches ${reach.toPrecision(3)} (mean ${m.toPrecision(4)}, std ${a.std[j].toPrecision(3)})` });
    }
  });
  return out;
}

/**
 * Compares stats A (e.g. pretraining) with stats B (e.g. your dataset): errors for missing features and
 * dimension mismatches, warnings for tiny spreads in either and for B's data falling far outside A's.
 */
export function compareStats(a: StatsMap, b: StatsMap, opts: CompatOptions = DEFAULT_COMPAT): CompatFinding[] {
  const out: CompatFinding[] = [];
  for (const key of Object.keys(a)) if (!(key in b)) out.push({ severity: "error", feature: key, message: `${key}: in A, missing from B` });
  for (const key of Object.keys(b)) if (!(key in a)) out.push({ severity: "error", feature: key, message: `${key}: in B, missing from A` });
  for (const key of Object.keys(a).filter((k) => k in b)) {
    const sa = a[key];
    const sb = b[key];
    if (sa.mean.length !== sb.mean.length) {
      out.push({ severity: "error", feature: key, message: `${key}: A has ${sa.mean.length} dims, B has ${sb.mean.length}` });
      continue;
    }
    out.push(...spreadFindings("A", key, sa, opts), ...spreadFindings("B", key, sb, opts), ...shiftFindings(key, sa, sb, opts));
  }
  return out;
}

/** The findings as terminal text, errors first. */
export function formatCompat(findings: readonly CompatFinding[]): string {
  if (findings.length === 0) return "compatible: same features and dims, no tiny spreads, B within A's normalised range\n";
  const sorted = [...findings].sort((x, y) => (x.severity === y.severity ? 0 : x.severity === "error" ? -1 : 1));
  const errors = findings.filter((f) => f.severity === "error").length;
  return [`${errors} error(s), ${findings.length - errors} warning(s)`, ...sorted.map((f) => `  ${f.severity.padEnd(7)} ${f.message}`)].join("\n") + "\n";
}
