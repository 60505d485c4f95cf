// Computes normalisation statistics over datasets: absolute or delta actions (official chunked delta), images.
import type { LeRobotDataset } from "./lerobot/dataset.ts";
import { type FeatureStats, RunningStats, aggregateStats, imageSampleIndices, imageStats } from "./lerobot/stats.ts";
import type { StatsMap } from "./lerobot/stats-json.ts";
import { type FeatureSlice, concatFeatures } from "./source.ts";
import type { ActionMode } from "./types.ts";

export interface StatsOptions {
  readonly actionMode: ActionMode;
  /** Chunk length for delta actions (50); delta mode skips episodes shorter than this, as the official script. */
  readonly chunk: number;
  /** Compute per-channel image statistics (decodes sampled frames: the slow part). */
  readonly images: boolean;
}

/** Which feature slices are the state and the action, and which dims of the concatenated action are delta. */
export interface StatsKeys {
  readonly state: readonly FeatureSlice[];
  readonly action: readonly FeatureSlice[];
  readonly deltaMask: readonly boolean[];
}

export type ProgressFn = (done: number, total: number) => void;

/**
 * Accumulates statistics over one or more datasets of the same robot. Numeric features use one running
 * histogram each over all frames (like openpi and the official compute_norm_stats); images aggregate
 * per-episode stats like LeRobot.
 */
export class StatsAccumulator {
  private readonly vec = new Map<string, RunningStats>();
  private readonly img = new Map<string, FeatureStats[]>();
  skippedEpisodes = 0;
  frames = 0;

  constructor(readonly opts: StatsOptions) {}

  private running(key: string, dim: number): RunningStats {
    let rs = this.vec.get(key);
    if (!rs) this.vec.set(key, (rs = new RunningStats(dim)));
    if (rs.dim !== dim) throw new Error(`internal: feature "${key}" changed dims from ${rs.dim} to ${dim}`);
    return rs;
  }

  /** Adds every episode of a dataset; progress counts episodes. */
  async add(ds: LeRobotDataset, keys: StatsKeys, onProgress?: ProgressFn): Promise<void> {
    const { actionMode, chunk } = this.opts;
    const actionSet = new Set(keys.action.map((f) => f.key));
    let done = 0;
    for (const ep of ds.episodes) {
      const n = ep.end - ep.start;
      if (actionMode === "delta" && n < chunk) {
        this.skippedEpisodes++;
        onProgress?.(++done, ds.episodes.length);
        continue;
      }
      this.frames += n;
      for (const key of ds.vectorKeys) {
        if (actionMode === "delta" && actionSet.has(key)) continue;
        const v = ds.vector(key);
        this.running(key, v.dim).update(v.data.subarray(ep.start * v.dim, ep.end * v.dim), n);
      }
      if (actionMode === "delta") this.addDelta(ds, keys, ep.start, n);
      if (this.opts.images) await this.addImages(ds, ep.index, ep.start, n);
      onProgress?.(++done, ds.episodes.length);
    }
  }

  /**
   * Official delta stats: for t in [0, n - chunk] and k < chunk, a[t + k] - mask * state[t], kept per action
   * slice (under its selector, e.g. "action").
   */
  private addDelta(ds: LeRobotDataset, keys: StatsKeys, start: number, n: number): void {
    const { chunk } = this.opts;
    const windows = n - chunk + 1;
    const rows = Array.from({ length: n }, (_, i) => start + i);
    const state = concatFeatures(ds, keys.state, rows);
    const stateDim = state.length / n;
    let offset = 0;
    for (const slice of keys.action) {
      const a = concatFeatures(ds, [slice], rows);
      const dim = slice.to - slice.from;
      const out = new Float32Array(windows * chunk * dim);
      for (let t = 0; t < windows; t++) {
        for (let k = 0; k < chunk; k++) {
          const dst = (t * chunk + k) * dim;
          for (let j = 0; j < dim; j++) {
            const g = offset + j;
            out[dst + j] = a[(t + k) * dim + j] - (keys.deltaMask[g] && g < stateDim ? state[t * stateDim + g] : 0);
          }
        }
      }
      this.running(slice.selector, dim).update(out, windows * chunk);
      offset += dim;
    }
  }

  private async addImages(ds: LeRobotDataset, episode: number, start: number, n: number): Promise<void> {
    for (const cam of ds.cameras) {
      if (!ds.hasCamera(cam, episode)) continue;
      const picks = imageSampleIndices(n);
      const frames = await ds.frames(cam, picks.map((i) => start + i));
      const all = Array.from({ length: n }, (_, i) => frames[picks.indexOf(i)]);
      const { width, height } = frames[0];
      const list = this.img.get(cam) ?? [];
      list.push(imageStats(all.map((f) => f?.rgb ?? new Uint8Array(0)), width, height));
      this.img.set(cam, list);
    }
  }

  /** The statistics of everything added so far, keyed by feature. */
  result(): StatsMap {
    const out: StatsMap = {};
    for (const [k, rs] of this.vec) if (rs.n > 0) out[k] = rs.result();
    for (const [k, list] of this.img) out[k] = aggregateStats(list);
    return out;
  }
}
