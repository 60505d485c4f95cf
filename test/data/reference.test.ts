// src/data against PyTorch/numpy references (scripts/ref/data.py): LeRobot histogram stats, official delta stats, resize.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOL } from "../helpers/allclose.ts";
import { type Fixture, loadFixture } from "../helpers/fixtures.ts";
import { resizeBilinear } from "../../src/data/image.ts";
import { LeRobotDataset } from "../../src/data/lerobot/dataset.ts";
import { type FeatureStats, QUANTILE_KEYS, RunningStats } from "../../src/data/lerobot/stats.ts";
import { LeRobotWriter } from "../../src/data/lerobot/writer.ts";
import { resolveSource } from "../../src/data/source.ts";
import { StatsAccumulator } from "../../src/data/stats-compute.ts";

const SCRIPT = "scripts/ref/data.py";
let fx: Fixture;
const root = mkdtempSync(join(tmpdir(), "internvla-ref-"));
beforeAll(async () => {
  fx = await loadFixture("data/reference.safetensors", { script: SCRIPT });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function expectStats(s: FeatureStats, prefix: string): void {
  for (const k of ["min", "max", "mean", "std"] as const) expect(s[k]).toBeAllclose(fx.f32(`${prefix}.${k}`), TOL.f32, `${prefix}.${k}`);
  for (const q of QUANTILE_KEYS) expect(s.quantiles![q]!).toBeAllclose(fx.f32(`${prefix}.${q}`), TOL.f32, `${prefix}.${q}`);
}

describe("statistics vs LeRobot's RunningQuantileStats", () => {
  it("matches min/max/mean/std and histogram quantiles over batches that widen the range (re-binning)", () => {
    const rs = new RunningStats(3);
    for (let i = 0; i < 4; i++) rs.update(fx.f32(`hist/in.${i}`));
    expectStats(rs.result(), "hist/out");
  });

  it("matches the official chunked delta-action statistics (masked dims, short episode skipped)", async () => {
    const meta = fx.json<{ chunk: number; mask: boolean[]; episodes: number }>("delta");
    const dir = join(root, "delta");
    const w = await LeRobotWriter.create(dir, { fps: 10, robotType: "ref_arm", features: { "observation.state": { dtype: "float32", shape: [4] }, action: { dtype: "float32", shape: [5] } } });
    for (let e = 0; e < meta.episodes; e++) {
      const state = fx.f32(`delta/in.state.${e}`);
      await w.addEpisode({ task: "t", length: state.length / 4, vectors: { "observation.state": state, action: fx.f32(`delta/in.action.${e}`) }, frames: {} });
    }
    await w.finalize();
    const ds = await LeRobotDataset.open(dir);
    const src = resolveSource({ root: dir, deltaMask: meta.mask }, ds, 3);
    const acc = new StatsAccumulator({ actionMode: "delta", chunk: meta.chunk, images: false });
    await acc.add(ds, { state: src.state, action: src.action, deltaMask: src.deltaMask });
    expect(acc.skippedEpisodes).toBe(1);
    expectStats(acc.result().action, "delta/out");
    await ds.close();
  });
});

describe("resize vs torch interpolate(bilinear, antialias=True)", () => {
  it.each(["down", "up", "odd", "wide"])("%s", (name) => {
    const [h, w, oh, ow] = fx.json<Record<string, number[]>>("resize")[name];
    const rgb = Uint8Array.from(fx.f32(`resize/${name}.in`));
    expect(resizeBilinear({ rgb, width: w, height: h }, ow, oh)).toBeAllclose(fx.f32(`resize/${name}.out`), TOL.f32, name);
  });
});
