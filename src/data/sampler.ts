// The data-pyramid mixture: pick a group by weight, a dataset in it by frames^gamma, then a frame uniformly.
import { ConfigError } from "../tensor/errors.ts";

/** One dataset of a mixture: its name and how many frames it offers. */
export interface MixtureDataset {
  readonly name: string;
  readonly frames: number;
}

export interface MixtureGroup {
  readonly name: string;
  /** Relative weight of the group (normalised over groups). */
  readonly weight: number;
  /** Within the group a dataset is drawn proportional to frames^gamma (1: by size, 0: uniform). Default 1. */
  readonly gamma?: number;
  readonly datasets: readonly MixtureDataset[];
}

export interface MixtureConfig {
  readonly groups: readonly MixtureGroup[];
  readonly seed: number;
}

/** One draw: which dataset (index over all groups' datasets, in order) and which of its frames. */
export interface Draw {
  readonly dataset: number;
  readonly frame: number;
}

/** The realised mix after N draws, next to the configured one. */
export interface MixReport {
  readonly draws: number;
  readonly groups: readonly { name: string; target: number; realised: number }[];
  readonly datasets: readonly { name: string; group: string; target: number; realised: number }[];
}

/**
 * A small seeded generator (SplitMix32 state stepping into a Mulberry32-style mix): explicit state, no
 * Math.random. Returns floats in [0, 1) with 32 random bits.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function validate(cfg: MixtureConfig): void {
  if (cfg.groups.length === 0) throw new ConfigError("mixture: no groups; expected at least one group with datasets");
  for (const g of cfg.groups) {
    if (!(g.weight >= 0)) throw new ConfigError(`mixture group "${g.name}": weight must be >= 0; got ${g.weight}`);
    if (g.datasets.length === 0) throw new ConfigError(`mixture group "${g.name}": no datasets`);
    for (const d of g.datasets) if (!(d.frames > 0)) throw new ConfigError(`mixture group "${g.name}", dataset "${d.name}": needs frames > 0; got ${d.frames}`);
  }
  if (!(cfg.groups.reduce((s, g) => s + g.weight, 0) > 0)) throw new ConfigError("mixture: group weights sum to 0");
}

/** Cumulative distribution from weights, normalised. */
function cdf(weights: readonly number[]): Float64Array {
  const total = weights.reduce((s, w) => s + w, 0);
  const out = new Float64Array(weights.length);
  weights.reduce((acc, w, i) => (out[i] = (acc + w) / total, acc + w), 0);
  out[out.length - 1] = 1;
  return out;
}

function pick(c: Float64Array, u: number): number {
  let i = 0;
  while (i < c.length - 1 && u >= c[i]) i++;
  return i;
}

/** Draws (dataset, frame) pairs from a mixture; reproducible for a seed. */
export class MixtureSampler {
  private readonly rng: SeededRandom;
  private readonly groupCdf: Float64Array;
  private readonly dsCdf: Float64Array[];
  /** Global dataset index of each group's first dataset. */
  private readonly first: number[];
  private readonly counts: Float64Array;
  private draws = 0;

  constructor(readonly cfg: MixtureConfig) {
    validate(cfg);
    this.rng = new SeededRandom(cfg.seed);
    this.groupCdf = cdf(cfg.groups.map((g) => g.weight));
    this.dsCdf = cfg.groups.map((g) => cdf(g.datasets.map((d) => d.frames ** (g.gamma ?? 1))));
    this.first = [];
    cfg.groups.reduce((n, g) => (this.first.push(n), n + g.datasets.length), 0);
    this.counts = new Float64Array(this.first[this.first.length - 1] + cfg.groups[cfg.groups.length - 1].datasets.length);
  }

  /** The target probability of each dataset (group weight x within-group share), in global order. */
  targets(): number[] {
    const gw = this.cfg.groups.reduce((s, g) => s + g.weight, 0);
    return this.cfg.groups.flatMap((g, gi) => {
      const c = this.dsCdf[gi];
      return g.datasets.map((_, i) => (g.weight / gw) * (c[i] - (i > 0 ? c[i - 1] : 0)));
    });
  }

  next(): Draw {
    const g = pick(this.groupCdf, this.rng.next());
    const d = pick(this.dsCdf[g], this.rng.next());
    const dataset = this.first[g] + d;
    this.counts[dataset]++;
    this.draws++;
    return { dataset, frame: this.rng.int(this.cfg.groups[g].datasets[d].frames) };
  }

  /** The realised shares so far against the targets. */
  report(): MixReport {
    const t = this.targets();
    const n = Math.max(1, this.draws);
    const datasets = this.cfg.groups.flatMap((g, gi) =>
      g.datasets.map((d, i) => ({ name: d.name, group: g.name, target: t[this.first[gi] + i], realised: this.counts[this.first[gi] + i] / n })));
    const groups = this.cfg.groups.map((g) => {
      const mine = datasets.filter((d) => d.group === g.name);
      return { name: g.name, target: mine.reduce((s, d) => s + d.target, 0), realised: mine.reduce((s, d) => s + d.realised, 0) };
    });
    return { draws: this.draws, groups, datasets };
  }
}
