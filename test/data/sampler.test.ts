// The data-pyramid mixture: realised shares, frames^gamma within a group, determinism for a seed.
import { describe, expect, it } from "vitest";
import { MixtureSampler } from "../../src/data/sampler.ts";

describe("MixtureSampler", () => {
  it("realises 0.7 / 0.3 within 1% over 100k draws", () => {
    const s = new MixtureSampler({
      seed: 7,
      groups: [
        { name: "sim", weight: 0.7, datasets: [{ name: "a", frames: 500 }] },
        { name: "real", weight: 0.3, datasets: [{ name: "b", frames: 90_000 }] },
      ],
    });
    for (let i = 0; i < 100_000; i++) s.next();
    const r = s.report();
    expect(r.draws).toBe(100_000);
    expect(Math.abs(r.groups[0].realised - 0.7)).toBeLessThan(0.01);
    expect(Math.abs(r.groups[1].realised - 0.3)).toBeLessThan(0.01);
  });

  it("splits a group by frames^gamma and draws frames uniformly", () => {
    const s = new MixtureSampler({ seed: 1, groups: [{ name: "g", weight: 1, gamma: 0.5, datasets: [{ name: "small", frames: 100 }, { name: "big", frames: 900 }] }] });
    expect(s.targets()).toEqual([0.25, 0.75]);
    const frames = new Float64Array(100);
    for (let i = 0; i < 40_000; i++) {
      const d = s.next();
      if (d.dataset === 0) frames[d.frame]++;
      expect(d.frame).toBeLessThan(d.dataset === 0 ? 100 : 900);
    }
    expect(Math.abs(s.report().datasets[0].realised - 0.25)).toBeLessThan(0.01);
    const mean = frames.reduce((a, b) => a + b, 0) / 100;
    expect(Math.max(...frames) / mean).toBeLessThan(1.5);
  });

  it("is reproducible for a seed and differs across seeds", () => {
    const cfg = { groups: [{ name: "g", weight: 1, datasets: [{ name: "a", frames: 1000 }, { name: "b", frames: 10 }] }] };
    const run = (seed: number) => Array.from({ length: 50 }, ((s) => () => s.next())(new MixtureSampler({ ...cfg, seed })));
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it("refuses bad configs with the group and dataset named", () => {
    expect(() => new MixtureSampler({ seed: 0, groups: [{ name: "g", weight: 1, datasets: [{ name: "x", frames: 0 }] }] })).toThrow(/group "g", dataset "x": needs frames > 0/);
    expect(() => new MixtureSampler({ seed: 0, groups: [{ name: "g", weight: -1, datasets: [{ name: "x", frames: 1 }] }] })).toThrow(/weight must be >= 0/);
  });
});
