// Success statistics vs Python (statistics.NormalDist, float64 formulas): scripts/ref/eval_stats.py writes
// test/fixtures/eval/stats.json; and vs the worked examples published by Newcombe (1998a, 1998b).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/tensor/errors.ts";
import { differenceInterval, formatRate, meanInterval, normalQuantile, wilsonInterval } from "../../src/train/eval/stats.ts";

const FORMAT = "internvla-eval-stats-fixture/1";
/** Both sides evaluate the same float64 closed forms; only the order of a few operations differs. */
const F64 = { rtol: 1e-12, atol: 1e-14 };

interface Fixture {
  format: string;
  quantiles: { p: number; z: number }[];
  wilson: { k: number; n: number; confidence: number; lo: number; hi: number }[];
  differences: { a: number; m: number; b: number; n: number; lo: number; hi: number }[];
  means: { values: number[]; confidence: number; mean: number; lo: number; hi: number }[];
}

function loadFixture(): Fixture {
  const fx = JSON.parse(readFileSync(new URL("../fixtures/eval/stats.json", import.meta.url), "utf8")) as Fixture;
  if (fx.format !== FORMAT) {
    throw new Error(`stats.json is ${fx.format}, expected ${FORMAT}; HINT: regenerate with /usr/bin/python3 scripts/ref/eval_stats.py`);
  }
  return fx;
}

const fx = loadFixture();

describe("normalQuantile", () => {
  it("matches statistics.NormalDist.inv_cdf (cross-checked with torch.special.ndtri) from 1e-300 to 1 - 1e-12", () => {
    expect(fx.quantiles.map((q) => normalQuantile(q.p))).toBeAllclose(fx.quantiles.map((q) => q.z), F64, "z");
  });

  it("refuses p outside (0, 1)", () => {
    for (const p of [0, 1, -0.1, NaN]) expect(() => normalQuantile(p)).toThrow(ConfigError);
  });
});

describe("wilsonInterval", () => {
  it("matches the float64 reference at 90/95/99% for 0..n successes of 1..263 trials", () => {
    const got = fx.wilson.flatMap((w) => {
      const r = wilsonInterval(w.k, w.n, w.confidence);
      return [r.lo, r.hi];
    });
    expect(got).toBeAllclose(fx.wilson.flatMap((w) => [w.lo, w.hi]), F64, "wilson [lo, hi]");
  });

  it("reproduces Newcombe (1998a) Table II, method 3, to the 4 printed decimals", () => {
    // Stat Med 17:857-872: 81/263, 15/148, 0/20, 1/29.
    const published: [number, number, number, number][] = [[81, 263, 0.2553, 0.3662], [15, 148, 0.0624, 0.1605], [0, 20, 0, 0.1611], [1, 29, 0.0061, 0.1718]];
    for (const [k, n, lo, hi] of published) {
      const r = wilsonInterval(k, n);
      expect([Number(r.lo.toFixed(4)), Number(r.hi.toFixed(4))], `${k}/${n}`).toEqual([lo, hi]);
    }
  });

  it("has exact ends at 0 and n successes, contains the rate, and is [0, 1] with no trials", () => {
    expect(wilsonInterval(0, 7).lo).toBe(0);
    expect(wilsonInterval(7, 7).hi).toBe(1);
    const r = wilsonInterval(3, 11);
    expect(r.lo < r.rate && r.rate < r.hi).toBe(true);
    expect(wilsonInterval(0, 0)).toMatchObject({ lo: 0, hi: 1, trials: 0 });
    expect(Number.isNaN(wilsonInterval(0, 0).rate)).toBe(true);
  });

  it("refuses impossible counts and confidence levels", () => {
    expect(() => wilsonInterval(3, 2)).toThrow(/0 <= successes <= trials, got 3 of 2/);
    expect(() => wilsonInterval(1.5, 4)).toThrow(ConfigError);
    expect(() => wilsonInterval(1, 4, 1)).toThrow(/confidence must be in \(0, 1\)/);
  });
});

describe("differenceInterval", () => {
  it("matches the float64 reference of Newcombe's method 10", () => {
    const got = fx.differences.flatMap((d) => {
      const r = differenceInterval(wilsonInterval(d.a, d.m), wilsonInterval(d.b, d.n));
      return [r.lo, r.hi];
    });
    expect(got).toBeAllclose(fx.differences.flatMap((d) => [d.lo, d.hi]), F64, "difference [lo, hi]");
  });

  it("reproduces Newcombe (1998b) Table II, method 10, to the 4 printed decimals", () => {
    // Stat Med 17:873-890, examples (a)-(e) and (g).
    const published: [number, number, number, number, number, number][] = [
      [56, 70, 48, 80, 0.0524, 0.3339], [9, 10, 3, 10, 0.1705, 0.809], [6, 7, 2, 7, 0.0582, 0.8062],
      [5, 56, 0, 29, -0.0381, 0.1926], [0, 10, 0, 20, -0.1611, 0.2775], [10, 10, 0, 20, 0.6791, 1],
    ];
    for (const [a, m, b, n, lo, hi] of published) {
      const r = differenceInterval(wilsonInterval(a, m), wilsonInterval(b, n));
      expect([Number(r.lo.toFixed(4)), Number(r.hi.toFixed(4))], `${a}/${m} - ${b}/${n}`).toEqual([lo, hi]);
    }
  });

  it("refuses rates at different confidence levels", () => {
    expect(() => differenceInterval(wilsonInterval(1, 2, 0.9), wilsonInterval(1, 2))).toThrow(ConfigError);
  });
});

describe("meanInterval", () => {
  it("matches statistics.mean / stdev with the normal quantile", () => {
    const got = fx.means.flatMap((m) => {
      const r = meanInterval(m.values, m.confidence);
      return [r.mean, r.lo, r.hi];
    });
    expect(got).toBeAllclose(fx.means.flatMap((m) => [m.mean, m.lo, m.hi]), F64, "mean [lo, hi]");
  });

  it("has no interval below two values", () => {
    expect(meanInterval([0.4])).toMatchObject({ mean: 0.4, lo: -Infinity, hi: Infinity, n: 1 });
  });
});

describe("formatRate", () => {
  it("prints the rate, the interval and the counts", () => {
    expect(formatRate(wilsonInterval(81, 263))).toBe("30.8% [25.5, 36.6] (81/263)");
    expect(formatRate(wilsonInterval(0, 0))).toBe("n/a (0 episodes)");
  });
});
