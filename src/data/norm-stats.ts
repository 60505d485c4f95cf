// Normalisation statistics per robot_type for the concatenated state and action vectors, and their files.
import { ConfigError } from "../tensor/errors.ts";
import { readJson, writeJsonAtomic } from "./fs.ts";
import { type FeatureStats, QUANTILE_KEYS, type QuantileKey } from "./lerobot/stats.ts";
import { type StatsMap, statsFromJson, statsToJson } from "./lerobot/stats-json.ts";
import type { FeatureSlice } from "./source.ts";

/** Stats of the vectors the model sees (after concatenation and, for delta mode, delta conversion). */
export interface NormStats {
  readonly state: FeatureStats;
  readonly action: FeatureStats;
}

/** Keyed by robot_type, as the official checkpoints store them. */
export type NormStatsByRobot = Readonly<Record<string, NormStats>>;

/** Concatenates per-feature stats along the dimension axis (counts must agree). */
export function concatStats(parts: readonly FeatureStats[], where: string): FeatureStats {
  if (parts.length === 1) return parts[0];
  const count = parts[0].count;
  if (parts.some((p) => p.count !== count)) throw new ConfigError(`${where}: cannot concatenate stats with different counts (${parts.map((p) => p.count).join(", ")})`);
  const cat = (f: (p: FeatureStats) => number[] | undefined): number[] | undefined =>
    parts.every((p) => f(p)) ? parts.flatMap((p) => f(p)!) : undefined;
  const quantiles: Partial<Record<QuantileKey, number[]>> = {};
  for (const q of QUANTILE_KEYS) {
    const v = cat((p) => p.quantiles?.[q]);
    if (v) quantiles[q] = v;
  }
  return { min: cat((p) => p.min)!, max: cat((p) => p.max)!, mean: cat((p) => p.mean)!, std: cat((p) => p.std)!, count, quantiles };
}

/** Dims [from, to) of one feature's stats. */
export function sliceStats(s: FeatureStats, from: number, to: number): FeatureStats {
  const q: Partial<Record<QuantileKey, number[]>> = {};
  for (const k of QUANTILE_KEYS) if (s.quantiles?.[k]) q[k] = s.quantiles[k]!.slice(from, to);
  return { min: s.min.slice(from, to), max: s.max.slice(from, to), mean: s.mean.slice(from, to), std: s.std.slice(from, to), count: s.count, quantiles: q };
}

/**
 * Picks and concatenates the stats of the state and action slices out of a per-feature stats map: a slice's
 * own selector when the map has it (delta stats are stored per selector), else the slice of its feature.
 */
export function normStatsFrom(stats: StatsMap, state: readonly FeatureSlice[], action: readonly FeatureSlice[], where: string): NormStats {
  const get = (f: FeatureSlice): FeatureStats => {
    if (stats[f.selector] && f.selector !== f.key) return stats[f.selector];
    const s = stats[f.key];
    if (!s) throw new ConfigError(`${where}: no stats for "${f.selector}"; stats cover ${Object.keys(stats).join(", ")}`, "compute them with internvla stats");
    if (s.mean.length < f.to) throw new ConfigError(`${where}: stats of "${f.key}" have ${s.mean.length} dims; the selector "${f.selector}" needs ${f.to}`);
    return f.from === 0 && f.to === s.mean.length ? s : sliceStats(s, f.from, f.to);
  };
  return { state: concatStats(state.map(get), where), action: concatStats(action.map(get), where) };
}

/** A norm-stats file: { robot_type: { feature: LeRobot stats } } (the "state"/"action" keys hold the vectors). */
export function writeNormStatsFile(path: string, byRobot: Readonly<Record<string, StatsMap>>): void {
  const out: Record<string, unknown> = {};
  for (const [robot, stats] of Object.entries(byRobot)) out[robot] = statsToJson(stats, new Set());
  writeJsonAtomic(path, out);
}

/** Reads a norm-stats file written by writeNormStatsFile (robot_type -> per-feature stats). */
export function readNormStatsFile(path: string): Record<string, StatsMap> {
  const raw = readJson(path) as Record<string, unknown>;
  const out: Record<string, StatsMap> = {};
  for (const [robot, stats] of Object.entries(raw)) out[robot] = statsFromJson(stats, `${path} [${robot}]`);
  return out;
}
