// Evaluation statistics: Wilson's interval of a rate, Newcombe's interval of a difference, mean intervals, the normal quantile.
import { ConfigError } from "../../tensor/errors.ts";

/** A success rate with its confidence interval. */
export interface RateInterval {
  readonly successes: number;
  readonly trials: number;
  /** successes / trials (NaN when there were no trials). */
  readonly rate: number;
  readonly lo: number;
  readonly hi: number;
  /** The two-sided confidence level, e.g. 0.95. */
  readonly confidence: number;
}

/** A difference of two rates (a - b) with its confidence interval. */
export interface DifferenceInterval {
  readonly diff: number;
  readonly lo: number;
  readonly hi: number;
  readonly confidence: number;
}

// Wichura's AS 241 (PPND16) coefficients: central region |q| <= 0.425, then the two tail regions.
const A = [3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125, 45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727];
const B = [1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852545925];
const C = [1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4];
const D = [1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9];
const E = [6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7];
const F = [1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15];

/** Evaluates a polynomial given lowest-order first. */
function poly(c: readonly number[], x: number): number {
  let s = 0;
  for (let i = c.length - 1; i >= 0; i--) s = s * x + c[i];
  return s;
}

/**
 * The standard normal quantile Phi^-1(p) (Wichura 1988, AS 241, about 1e-16 relative accuracy), the same
 * algorithm as Python's `statistics.NormalDist.inv_cdf`.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new ConfigError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(A, r)) / poly(B, r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x = poly(C, r) / poly(D, r);
  } else {
    r -= 5;
    x = poly(E, r) / poly(F, r);
  }
  return q < 0 ? -x : x;
}

function checkCounts(successes: number, trials: number, where: string): void {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || trials < 0 || successes < 0 || successes > trials) {
    throw new ConfigError(`${where}: expected integers 0 <= successes <= trials, got ${successes} of ${trials}`);
  }
}

function checkConfidence(confidence: number, where: string): void {
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError(`${where}: confidence must be in (0, 1), got ${confidence}`);
}

/**
 * Wilson's score interval (Wilson 1927; method 3 of Newcombe 1998, no continuity correction): the usual choice
 * for success rates of a few dozen episodes, since it stays inside [0, 1] and is not degenerate at 0 or n
 * successes. With no trials the interval is [0, 1].
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): RateInterval {
  checkCounts(successes, trials, "wilsonInterval");
  checkConfidence(confidence, "wilsonInterval");
  if (trials === 0) return { successes, trials, rate: NaN, lo: 0, hi: 1, confidence };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const n = trials;
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  // Exact ends at 0 and n successes (the formula gives them up to rounding).
  const lo = successes === 0 ? 0 : Math.max(0, centre - half);
  const hi = successes === n ? 1 : Math.min(1, centre + half);
  return { successes, trials, rate: p, lo, hi, confidence };
}

/**
 * Newcombe's hybrid score interval for the difference of two independent rates a - b (Newcombe 1998b,
 * method 10), built from the two Wilson intervals.
 */
export function differenceInterval(a: RateInterval, b: RateInterval): DifferenceInterval {
  if (a.confidence !== b.confidence) {
    throw new ConfigError(`differenceInterval: both rates need the same confidence level, got ${a.confidence} and ${b.confidence}`);
  }
  if (a.trials === 0 || b.trials === 0) return { diff: NaN, lo: -1, hi: 1, confidence: a.confidence };
  const diff = a.rate - b.rate;
  const lo = diff - Math.sqrt((a.rate - a.lo) ** 2 + (b.hi - b.rate) ** 2);
  const hi = diff + Math.sqrt((a.hi - a.rate) ** 2 + (b.rate - b.lo) ** 2);
  return { diff, lo: Math.max(-1, lo), hi: Math.min(1, hi), confidence: a.confidence };
}

/** A mean with a normal-approximation confidence interval (mean +- z * sd / sqrt(n)). */
export interface MeanInterval {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly confidence: number;
}

/** Mean and a normal-approximation interval (use with a few dozen values or more). */
export function meanInterval(values: readonly number[], confidence = 0.95): MeanInterval {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  if (n < 2) return { mean: n === 1 ? mean : NaN, lo: -Infinity, hi: Infinity, n, confidence };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const half = normalQuantile(1 - (1 - confidence) / 2) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, n, confidence };
}

/** "40.0% [27.6, 53.8] (20/50)": a rate as a person reads it. */
export function formatRate(r: RateInterval, digits = 1): string {
  if (r.trials === 0) return "n/a (0 episodes)";
  const pct = (x: number) => (100 * x).toFixed(digits);
  return `${pct(r.rate)}% [${pct(r.lo)}, ${pct(r.hi)}] (${r.successes}/${r.trials})`;
}
