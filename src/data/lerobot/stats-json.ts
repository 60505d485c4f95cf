// LeRobot stats.json <-> FeatureStats: images per channel as [3, 1, 1], count as [n], quantiles as q01..q99.
import { DatasetError } from "../errors.ts";
import { type FeatureStats, QUANTILE_KEYS, type QuantileKey } from "./stats.ts";

export type StatsJson = Record<string, Record<string, unknown>>;
export type StatsMap = Record<string, FeatureStats>;

const nest = (v: number[]): number[][][] => v.map((x) => [[x]]);

/** One feature's stats as LeRobot writes them; `image` nests per-channel values as [3, 1, 1]. */
export function featureStatsToJson(s: FeatureStats, image: boolean): Record<string, unknown> {
  const f = (v: number[]): unknown => (image ? nest(v) : v);
  const out: Record<string, unknown> = { min: f(s.min), max: f(s.max), mean: f(s.mean), std: f(s.std), count: [s.count] };
  for (const k of QUANTILE_KEYS) {
    const q = s.quantiles?.[k];
    if (q) out[k] = f(q);
  }
  return out;
}

/** A whole stats map as JSON; `imageKeys` are the camera features. */
export function statsToJson(stats: StatsMap, imageKeys: ReadonlySet<string>): StatsJson {
  const out: StatsJson = {};
  for (const [k, s] of Object.entries(stats)) out[k] = featureStatsToJson(s, imageKeys.has(k));
  return out;
}

function flat(v: unknown): number[] {
  if (typeof v === "number") return [v];
  if (Array.isArray(v)) return v.flatMap(flat);
  return [NaN];
}

/**
 * Parses a stats.json object (v2.0 global, v3.0, or a per-episode entry of episodes_stats.jsonl). Missing
 * count is allowed (GR00T files have none); missing mean or std is an error naming the file and feature.
 */
export function statsFromJson(json: unknown, file: string): StatsMap {
  if (json === null || typeof json !== "object") throw new DatasetError(`${file}: expected an object of features`);
  const out: StatsMap = {};
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    const s = raw as Record<string, unknown>;
    if (!s || typeof s !== "object") throw new DatasetError(`${file}: stats of "${key}" must be an object`);
    const get = (name: string, required: boolean): number[] | undefined => {
      if (s[name] === undefined) {
        if (required) throw new DatasetError(`${file}: stats of "${key}" have no "${name}"; expected min, max, mean, std`);
        return undefined;
      }
      const v = flat(s[name]);
      if (v.some((x) => Number.isNaN(x))) throw new DatasetError(`${file}: stats "${key}.${name}" must be numbers; found ${JSON.stringify(s[name]).slice(0, 80)}`);
      return v;
    };
    const quantiles: Partial<Record<QuantileKey, number[]>> = {};
    for (const q of QUANTILE_KEYS) {
      const v = get(q, false);
      if (v) quantiles[q] = v;
    }
    const mean = get("mean", true)!;
    out[key] = {
      min: get("min", false) ?? mean.map(() => NaN),
      max: get("max", false) ?? mean.map(() => NaN),
      mean,
      std: get("std", true)!,
      count: get("count", false)?.[0] ?? 0,
      quantiles,
    };
  }
  return out;
}
