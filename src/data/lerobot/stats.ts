// Feature statistics as LeRobot computes them: min/max/mean/std/count plus histogram quantiles, and aggregation.

/** LeRobot's default quantiles and their keys (q01, q10, q50, q90, q99). */
export const QUANTILES = [0.01, 0.1, 0.5, 0.9, 0.99] as const;
export const QUANTILE_KEYS = ["q01", "q10", "q50", "q90", "q99"] as const;
export type QuantileKey = (typeof QUANTILE_KEYS)[number];

/** Statistics of one feature, flattened per dimension (images: per channel). */
export interface FeatureStats {
  readonly min: number[];
  readonly max: number[];
  readonly mean: number[];
  readonly std: number[];
  readonly count: number;
  readonly quantiles?: Readonly<Partial<Record<QuantileKey, number[]>>>;
}

const BINS = 5000;

/** Per-dim min, max, sum and sum of squares of one batch (float64). */
interface Moments {
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly sum: Float64Array;
  readonly sq: Float64Array;
}

function batchMoments(d: number): Moments {
  return { min: new Float64Array(d).fill(Infinity), max: new Float64Array(d).fill(-Infinity), sum: new Float64Array(d), sq: new Float64Array(d) };
}

/** np.linspace(lo, hi, n + 1) as numpy computes it (step * i + lo, last = hi). */
function linspaceEdges(lo: number, hi: number, n: number): Float64Array {
  const e = new Float64Array(n + 1);
  const step = (hi - lo) / n;
  for (let i = 0; i <= n; i++) e[i] = i * step + lo;
  e[n] = hi;
  return e;
}

/** First index i with a[i] >= v (numpy searchsorted side="left"). */
function searchLeft(a: ArrayLike<number>, v: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Running statistics over batches of vectors, a port of LeRobot's `RunningQuantileStats` (5000-bin histograms
 * rebinned when the range grows; quantiles interpolated in the bin). Sums are kept in float64.
 */
export class RunningStats {
  private count = 0;
  private mean: Float64Array;
  private meanSq: Float64Array;
  private lo: Float64Array;
  private hi: Float64Array;
  private hist: Float64Array[] = [];
  private edges: Float64Array[] = [];

  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.meanSq = new Float64Array(dim);
    this.lo = new Float64Array(dim).fill(Infinity);
    this.hi = new Float64Array(dim).fill(-Infinity);
  }

  get n(): number {
    return this.count;
  }

  /** Adds `rows` vectors stored row-major in `batch` [rows * dim]. */
  update(batch: ArrayLike<number>, rows = batch.length / this.dim): void {
    if (rows === 0) return;
    const d = this.dim;
    const m = batchMoments(d);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const v = batch[r * d + j];
        if (v < m.min[j]) m.min[j] = v;
        if (v > m.max[j]) m.max[j] = v;
        m.sum[j] += v;
        m.sq[j] += v * v;
      }
    }
    this.absorb(m, rows);
    for (let j = 0; j < d; j++) {
      const h = this.hist[j];
      for (let r = 0; r < rows; r++) {
        const i = this.binOf(j, batch[r * d + j]);
        if (i >= 0) h[i] += 1;
      }
    }
  }

  /**
   * Adds a batch given as value counts: `counts[j][v]` vectors have the integer value v in dim j (every dim must
   * count the same vectors). Gives exactly what update() gives for those vectors, in time independent of their
   * number: the way to take statistics of uint8 images.
   */
  updateCounts(counts: readonly ArrayLike<number>[]): void {
    const d = this.dim;
    if (counts.length !== d) throw new Error(`internal: RunningStats.updateCounts: ${counts.length} count arrays for ${d} dims`);
    const m = batchMoments(d);
    let rows = -1;
    for (let j = 0; j < d; j++) {
      let n = 0;
      for (let v = 0; v < counts[j].length; v++) {
        const c = counts[j][v];
        if (c === 0) continue;
        if (v < m.min[j]) m.min[j] = v;
        if (v > m.max[j]) m.max[j] = v;
        m.sum[j] += v * c;
        m.sq[j] += v * v * c;
        n += c;
      }
      if (rows >= 0 && n !== rows) throw new Error(`internal: RunningStats.updateCounts: dim ${j} counts ${n} vectors, dim 0 counts ${rows}`);
      rows = n;
    }
    if (rows <= 0) return;
    this.absorb(m, rows);
    for (let j = 0; j < d; j++) {
      for (let v = 0; v < counts[j].length; v++) {
        const i = counts[j][v] > 0 ? this.binOf(j, v) : -1;
        if (i >= 0) this.hist[j][i] += counts[j][v];
      }
    }
  }

  /** Folds a batch's moments in: range (re-binning when it grows), running mean and mean of squares. */
  private absorb(m: Moments, rows: number): void {
    const d = this.dim;
    if (this.count === 0) {
      this.lo.set(m.min);
      this.hi.set(m.max);
      for (let j = 0; j < d; j++) {
        this.hist.push(new Float64Array(BINS));
        this.edges.push(linspaceEdges(m.min[j] - 1e-10, m.max[j] + 1e-10, BINS));
      }
    } else {
      let changed = false;
      for (let j = 0; j < d; j++) {
        if (m.max[j] > this.hi[j]) [this.hi[j], changed] = [m.max[j], true];
        if (m.min[j] < this.lo[j]) [this.lo[j], changed] = [m.min[j], true];
      }
      if (changed) this.rebin();
    }
    this.count += rows;
    const w = rows / this.count;
    for (let j = 0; j < d; j++) {
      this.mean[j] += (m.sum[j] / rows - this.mean[j]) * w;
      this.meanSq[j] += (m.sq[j] / rows - this.meanSq[j]) * w;
    }
  }

  /** np.histogram's bin of v with the current edges (the last bin is closed); -1 outside [first, last]. */
  private binOf(j: number, v: number): number {
    const e = this.edges[j];
    const first = e[0], last = e[BINS];
    if (!(v >= first && v <= last)) return -1;
    let i = Math.min(BINS - 1, Math.floor((v - first) * (BINS / (last - first))));
    if (v < e[i]) i--;
    else if (i < BINS - 1 && v >= e[i + 1]) i++;
    return Math.max(0, i);
  }

  /** Moves every old bin's count to the new bin holding its centre (LeRobot's `_adjust_histograms`). */
  private rebin(): void {
    for (let j = 0; j < this.dim; j++) {
      const old = this.edges[j];
      const oldH = this.hist[j];
      const pad = (this.hi[j] - this.lo[j]) * 1e-10;
      const e = linspaceEdges(this.lo[j] - pad, this.hi[j] + pad, BINS);
      const h = new Float64Array(BINS);
      for (let b = 0; b < BINS; b++) {
        if (oldH[b] <= 0) continue;
        const centre = (old[b] + old[b + 1]) / 2;
        const idx = Math.max(0, Math.min(searchLeft(e, centre) - 1, BINS - 1));
        h[idx] += oldH[b];
      }
      this.hist[j] = h;
      this.edges[j] = e;
    }
  }

  private quantile(j: number, q: number): number {
    const target = q * this.count;
    const h = this.hist[j];
    const e = this.edges[j];
    const cum = new Float64Array(BINS);
    let s = 0;
    for (let b = 0; b < BINS; b++) cum[b] = s += h[b];
    const idx = searchLeft(cum, target);
    if (idx === 0) return e[0];
    if (idx >= BINS) return e[BINS];
    const before = cum[idx - 1];
    const inBin = cum[idx] - before;
    if (inBin === 0) return e[idx];
    return e[idx] + ((target - before) / inBin) * (e[idx + 1] - e[idx]);
  }

  /** The statistics so far. With fewer than 2 vectors the quantiles equal the mean, as in LeRobot. */
  result(): FeatureStats {
    const std = Array.from(this.mean, (m, j) => Math.sqrt(Math.max(0, this.meanSq[j] - m * m)));
    const mean = Array.from(this.mean);
    const quantiles: Partial<Record<QuantileKey, number[]>> = {};
    QUANTILES.forEach((q, i) => {
      quantiles[QUANTILE_KEYS[i]] = this.count < 2 ? mean.slice() : Array.from({ length: this.dim }, (_, j) => this.quantile(j, q));
    });
    return { min: Array.from(this.lo), max: Array.from(this.hi), mean, std, count: this.count, quantiles };
  }
}

/**
 * Aggregates per-episode statistics as LeRobot's `aggregate_feature_stats` does: exact pooled mean and variance,
 * min of mins, max of maxes, and count-weighted means of the quantiles.
 */
export function aggregateStats(parts: readonly FeatureStats[]): FeatureStats {
  if (parts.length === 0) throw new Error("internal: aggregateStats needs at least one part");
  const d = parts[0].mean.length;
  const total = parts.reduce((s, p) => s + p.count, 0);
  const mean = new Array<number>(d).fill(0);
  const varSum = new Array<number>(d).fill(0);
  for (const p of parts) for (let j = 0; j < d; j++) mean[j] += (p.mean[j] * p.count) / total;
  for (const p of parts) {
    for (let j = 0; j < d; j++) varSum[j] += (p.std[j] ** 2 + (p.mean[j] - mean[j]) ** 2) * p.count;
  }
  const quantiles: Partial<Record<QuantileKey, number[]>> = {};
  for (const key of QUANTILE_KEYS) {
    if (!parts.every((p) => p.quantiles?.[key])) continue;
    quantiles[key] = Array.from({ length: d }, (_, j) => parts.reduce((s, p) => s + p.quantiles![key]![j] * p.count, 0) / total);
  }
  return {
    min: Array.from({ length: d }, (_, j) => Math.min(...parts.map((p) => p.min[j]))),
    max: Array.from({ length: d }, (_, j) => Math.max(...parts.map((p) => p.max[j]))),
    mean,
    std: varSum.map((v) => Math.sqrt(v / total)),
    count: total,
    quantiles,
  };
}

/** LeRobot's `estimate_num_samples`: how many frames of an episode its image statistics look at. */
export function imageSampleCount(length: number): number {
  const lo = Math.min(100, length);
  return Math.max(lo, Math.min(Math.floor(length ** 0.75), 10_000));
}

/** LeRobot's `sample_indices`: evenly spaced frame indices, rounded half to even like numpy. */
export function imageSampleIndices(length: number): number[] {
  const n = imageSampleCount(length);
  const roundHalfEven = (x: number): number => {
    const r = Math.round(x);
    return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  if (n === 1) return [0];
  return Array.from({ length: n }, (_, i) => roundHalfEven((i * (length - 1)) / (n - 1)));
}

/**
 * Per-channel statistics of RGB frames [H, W, 3] as LeRobot's `compute_episode_stats` takes them for one episode:
 * frames picked by `imageSampleIndices` (`sample_indices`), strided down to about 150 px when 300 px or larger
 * (`auto_downsample_height_width`), values in [0, 1]. `count` is the number of frames sampled. Counting the 256
 * values per channel gives exactly the RunningStats of all sampled pixels, at a fraction of the cost.
 */
export function imageStats(frames: readonly Uint8Array[], width: number, height: number): FeatureStats {
  const picks = imageSampleIndices(frames.length);
  const factor = Math.max(width, height) < 300 ? 1 : Math.floor((width > height ? width : height) / 150);
  const counts = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
  const [r, g, b] = counts;
  for (const f of picks) {
    const img = frames[f];
    for (let y = 0; y < height; y += factor) {
      for (let p = y * width * 3, end = p + width * 3; p < end; p += 3 * factor) {
        r[img[p]]++;
        g[img[p + 1]]++;
        b[img[p + 2]]++;
      }
    }
  }
  const rs = new RunningStats(3);
  rs.updateCounts(counts);
  const s = rs.result();
  const scale = (v: number[]): number[] => v.map((x) => x / 255);
  const q: Partial<Record<QuantileKey, number[]>> = {};
  for (const k of QUANTILE_KEYS) q[k] = scale(s.quantiles![k]!);
  return { min: scale(s.min), max: scale(s.max), mean: scale(s.mean), std: scale(s.std), count: picks.length, quantiles: q };
}
