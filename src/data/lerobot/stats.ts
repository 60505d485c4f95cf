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
    const bMin = new Float64Array(d).fill(Infinity);
    const bMax = new Float64Array(d).fill(-Infinity);
    const bSum = new Float64Array(d);
    const bSq = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const v = batch[r * d + j];
        if (v < bMin[j]) bMin[j] = v;
        if (v > bMax[j]) bMax[j] = v;
        bSum[j] += v;
        bSq[j] += v * v;
      }
    }
    if (this.count === 0) {
      this.lo.set(bMin);
      this.hi.set(bMax);
      for (let j = 0; j < d; j++) {
        this.hist.push(new Float64Array(BINS));
        this.edges.push(linspaceEdges(bMin[j] - 1e-10, bMax[j] + 1e-10, BINS));
      }
    } else {
      let changed = false;
      for (let j = 0; j < d; j++) {
        if (bMax[j] > this.hi[j]) [this.hi[j], changed] = [bMax[j], true];
        if (bMin[j] < this.lo[j]) [this.lo[j], changed] = [bMin[j], true];
      }
      if (changed) this.rebin();
    }
    this.count += rows;
    const w = rows / this.count;
    for (let j = 0; j < d; j++) {
      this.mean[j] += (bSum[j] / rows - this.mean[j]) * w;
      this.meanSq[j] += (bSq[j] / rows - this.meanSq[j]) * w;
    }
    this.histogram(batch, rows);
  }

  /** np.histogram with the current edges: values outside [first, last] are dropped, the last bin is closed. */
  private histogram(batch: ArrayLike<number>, rows: number): void {
    const d = this.dim;
    for (let j = 0; j < d; j++) {
      const e = this.edges[j];
      const h = this.hist[j];
      const first = e[0], last = e[BINS];
      const norm = BINS / (last - first);
      for (let r = 0; r < rows; r++) {
        const v = batch[r * d + j];
        if (!(v >= first && v <= last)) continue;
        let i = Math.min(BINS - 1, Math.floor((v - first) * norm));
        if (v < e[i]) i--;
        else if (i < BINS - 1 && v >= e[i + 1]) i++;
        h[Math.max(0, i)] += 1;
      }
    }
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
 * Per-channel statistics of RGB frames [H, W, 3] as LeRobot computes them for one episode: frames picked by
 * `imageSampleIndices`, strided down to about 150 px when larger than 300 px, values in [0, 1]. `count` is the
 * number of frames sampled.
 */
export function imageStats(frames: readonly Uint8Array[], width: number, height: number): FeatureStats {
  const picks = imageSampleIndices(frames.length);
  const factor = Math.max(width, height) < 300 ? 1 : Math.floor((width > height ? width : height) / 150);
  const rows = Math.ceil(height / factor);
  const cols = Math.ceil(width / factor);
  const buf = new Float32Array(picks.length * rows * cols * 3);
  let o = 0;
  for (const f of picks) {
    const img = frames[f];
    for (let y = 0; y < height; y += factor) {
      for (let x = 0; x < width; x += factor) {
        const p = (y * width + x) * 3;
        buf[o++] = img[p];
        buf[o++] = img[p + 1];
        buf[o++] = img[p + 2];
      }
    }
  }
  const rs = new RunningStats(3);
  rs.update(buf, buf.length / 3);
  const s = rs.result();
  const scale = (v: number[]): number[] => v.map((x) => x / 255);
  const q: Partial<Record<QuantileKey, number[]>> = {};
  for (const k of QUANTILE_KEYS) q[k] = scale(s.quantiles![k]!);
  return { min: scale(s.min), max: scale(s.max), mean: scale(s.mean), std: scale(s.std), count: picks.length, quantiles: q };
}
