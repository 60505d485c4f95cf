// The three shared real datasets: open with their quirks reported, window, stats vs their own, normalise, batch.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { TOL } from "../helpers/allclose.ts";
import { LeRobotDataset } from "../../src/data/lerobot/dataset.ts";
import { type FeatureStats, imageSampleIndices, imageStats } from "../../src/data/lerobot/stats.ts";
import { DataPipeline, type PipelineSpec } from "../../src/data/pipeline.ts";
import { type SourceConfig, resolveSource } from "../../src/data/source.ts";
import { StatsAccumulator } from "../../src/data/stats-compute.ts";
import { fromDelta, unnormalize, unpadRows } from "../../src/data/transforms.ts";
import { DEFAULT_LAYOUT } from "../../src/data/types.ts";
import { deltaIndices, windowRows } from "../../src/data/window.ts";

const SHARED = resolve(import.meta.dirname, "..", "..", "..", "shared", "datasets");
const CR5 = join(SHARED, "cr5_real_v21");
const GR00T = join(SHARED, "gr00t_robot_sim_picknplace_v20");
const REACHY = join(SHARED, "reachy2_apple_storage_v30_tabular");
const ARMS: SourceConfig = {
  root: GR00T,
  stateKeys: ["state.left_arm", "state.left_hand", "state.right_arm", "state.right_hand"],
  actionKeys: ["action.left_arm", "action.left_hand", "action.right_arm", "action.right_hand"],
};

/** Rows of one parquet file read independently of our reader (hyparquet, pure JS). */
async function rows(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path), compressors });
}

/**
 * Our stats vs the dataset's own. 1e-4 relative, except where the reference itself was computed in float32
 * (numpy on float32 arrays) and the quantity sits below float32 resolution of the feature's magnitude: there
 * an absolute allowance of 64 float32 ulps of max|x| applies. Returns the dims that needed the allowance so
 * the test can pin them.
 */
function compareStats(ours: FeatureStats, own: FeatureStats, label: string): string[] {
  const allowance: string[] = [];
  for (const stat of ["mean", "std"] as const) {
    own[stat].forEach((ref, j) => {
      const got = ours[stat][j];
      const diff = Math.abs(got - ref);
      if (diff <= 1e-4 * Math.abs(ref)) return;
      const scale = Math.max(Math.abs(own.min[j]), Math.abs(own.max[j]));
      expect(diff, `${label}.${stat}[${j}]: ours ${got}, theirs ${ref}`).toBeLessThanOrEqual(64 * 2 ** -23 * scale);
      allowance.push(`${label}.${stat}[${j}]`);
    });
  }
  return allowance;
}

describe.skipIf(!existsSync(SHARED))("shared real datasets", () => {
  const open: Record<string, LeRobotDataset> = {};
  beforeAll(async () => {
    for (const [k, p] of [["cr5", CR5], ["gr00t", GR00T], ["reachy", REACHY]]) open[k] = await LeRobotDataset.open(p);
  });
  afterAll(async () => {
    for (const ds of Object.values(open)) await ds.close();
  });

  it("reports each dataset's quirks as warnings", () => {
    const codes = (k: string) => [...new Set(open[k].warnings.map((w) => w.code))].sort();
    expect(codes("cr5")).toEqual(["wallclock-timestamps"]);
    expect(codes("gr00t")).toEqual(["missing-video", "multi-task-episode", "no-frame-index", "split-mismatch", "totals-mismatch", "video-info-key", "wallclock-timestamps"]);
    expect(codes("reachy")).toEqual(["channel-first", "missing-video", "split-mismatch", "totals-mismatch"]);
    const text = (k: string) => open[k].warnings.map((w) => w.message).join("\n");
    expect(text("cr5")).toMatch(/up to 0\.49\d\d s .*episode 1/);
    expect(text("gr00t")).toMatch(/total_chunks is 0/);
    expect(text("gr00t")).toMatch(/total_videos is 2/);
    expect(text("gr00t")).toMatch(/"observation\.images\.egoview".*no mp4/);
    expect(text("reachy")).toMatch(/total_frames is 14983; the data has 899 frames/);
    expect(text("reachy")).toMatch(/"observation\.image" \(h264\).*no mp4/);
  });

  it("reads rows, episodes, tasks and cameras as the files hold them", async () => {
    expect([open.cr5.version, open.cr5.numFrames, open.cr5.episodes.length, open.cr5.cameras]).toEqual(["v2.1", 530, 5, ["observation.images.top"]]);
    expect([open.gr00t.version, open.gr00t.numFrames, open.gr00t.cameras]).toEqual(["v2.0", 2096, ["observation.images.ego_view"]]);
    expect([open.reachy.version, open.reachy.episodes.map((e) => e.end - e.start), open.reachy.cameras]).toEqual(["v3.0", [299, 300, 300], []]);
    expect(open.gr00t.taskOf(416)).toBe("pick the sweet potato from the counter and place it in the plate");
    const ep1 = await rows(join(CR5, "data", "chunk-000", "episode_000001.parquet"));
    expect(open.cr5.vector("observation.state").data.subarray(107 * 6, 108 * 6)).toBeAllclose(ep1[0]["observation.state"] as number[], TOL.f32);
    const g = await rows(join(GR00T, "data", "chunk-000", "episode_000002.parquet"));
    const row = open.gr00t.episodes[2].start + 5;
    expect(open.gr00t.vector("action").data.subarray(row * 44, row * 44 + 44)).toBeAllclose((g[5].action as number[]).map(Math.fround), TOL.f32);
  });

  it("builds LeRobot windows: clamped rows and is_pad at episode edges", () => {
    const ep = open.reachy.episodes[1];
    const w = windowRows(ep.start, ep.end, ep.end - 2, [-1, 0, 1, 2, 3]);
    expect(Array.from(w.rows)).toEqual([ep.end - 3, ep.end - 2, ep.end - 1, ep.end - 1, ep.end - 1]);
    expect(Array.from(w.isPad)).toEqual([0, 0, 0, 1, 1]);
    const offsets = deltaIndices([-0.5, 0, 0.5], open.reachy.fps, 1e-4, "observation.image");
    expect(offsets).toEqual([-15, 0, 15]);
    expect(() => deltaIndices([0.01], open.reachy.fps, 1e-4, "action")).toThrow(/delta_timestamps\.action: 0\.01 s is not a multiple of 1\/fps/);
    const first = windowRows(ep.start, ep.end, ep.start, offsets);
    expect(Array.from(first.rows)).toEqual([ep.start, ep.start, ep.start + 15]);
  });

  it("computes state and action stats that agree with each dataset's own to 1e-4 relative", async () => {
    const allowance: string[] = [];
    for (const key of ["cr5", "gr00t", "reachy"]) {
      const ds = open[key];
      const acc = new StatsAccumulator({ actionMode: "abs", chunk: 50, images: false });
      const src = resolveSource({ root: ds.root }, ds, 3);
      await acc.add(ds, { state: src.state, action: src.action, deltaMask: src.deltaMask });
      const ours = acc.result();
      const own = ds.ownStats()!;
      for (const f of ["observation.state", "action"]) allowance.push(...compareStats(ours[f], own[f], `${key}.${f}`));
    }
    // Dims whose spread is below float32 resolution of their magnitude (a constant action dim, std 7e-5 at
    // |x| = 1.63, and a mean of exactly 0 that float32 summation left at 2e-12).
    expect(allowance.sort()).toEqual(["cr5.action.mean[4]", "cr5.observation.state.std[4]", "reachy.action.std[7]"]);
  }, 60_000);

  it("computes per-channel image stats like the dataset's own episode stats (within decoder error)", async () => {
    const ds = open.cr5;
    const ep = ds.episodes[2];
    const n = ep.end - ep.start;
    const picks = imageSampleIndices(n);
    const frames = await ds.frames("observation.images.top", picks.map((i) => ep.start + i));
    const all = Array.from({ length: n }, (_, i) => frames[picks.indexOf(i)]?.rgb ?? new Uint8Array(0));
    const ours = imageStats(all, 640, 480);
    const own = ep.meta.stats!["observation.images.top"];
    expect(ours.count).toBe(own.count);
    // Their frames come from another decoder (torchvision/pyav) with its own YUV->RGB rounding.
    expect(ours.mean).toBeAllclose(own.mean, { rtol: 1e-2, atol: 0 }, "cr5 episode 2 image mean");
    expect(ours.std).toBeAllclose(own.std, { rtol: 1e-2, atol: 0 }, "cr5 episode 2 image std");
  });

  it("normalises and batches all three together; unnormalise and undelta give back the raw actions", async () => {
    const stats: Record<string, Record<string, FeatureStats>> = {};
    const sources: SourceConfig[] = [{ root: CR5 }, ARMS, { root: REACHY }];
    for (const [i, s] of sources.entries()) {
      const ds = open[["cr5", "gr00t", "reachy"][i]];
      const src = resolveSource(s, ds, 3);
      const acc = new StatsAccumulator({ actionMode: "delta", chunk: 50, images: false });
      await acc.add(ds, { state: src.state, action: src.action, deltaMask: src.deltaMask });
      stats[ds.robotType] = acc.result();
    }
    const spec: PipelineSpec = {
      seed: 3, stats, config: { layout: DEFAULT_LAYOUT, actionMode: "delta", norm: "mean_std", frameCacheBytes: 0 },
      groups: [{ name: "real", weight: 1, sources: [sources[0], sources[2]] }, { name: "sim", weight: 1, sources: [sources[1]] }],
    };
    const p = await DataPipeline.open(spec);
    try {
      const cr5Last = open.cr5.episodes[0].end - 3;
      const draws = [{ dataset: 0, frame: cr5Last }, { dataset: 1, frame: 0 }, { dataset: 2, frame: 420 }];
      const b = await p.batchOf(draws);
      const { chunk: C, maxActionDim: DA, maxStateDim: DS, imageSize: S } = DEFAULT_LAYOUT;
      expect([b.size, b.images.length]).toEqual([3, 3 * 3 * 3 * 3 * S * S]);
      expect(Array.from(b.imageMask)).toEqual([1, 0, 0, 0, 0, 0, 1, 0, 0]);
      expect(Array.from(b.stateDim)).toEqual([6, 19, 26]);
      expect(Array.from(b.actionDim)).toEqual([7, 19, 26]);
      expect(b.robotTypes).toEqual(["cr5", "reachy2", "GR1ArmsOnly"]);
      const frame = 3 * S * S;
      expect(b.images.subarray(27 * frame, 36 * frame).every((v) => v === 255)).toBe(true);
      expect(Array.from(b.actionIsPad.subarray(0, 4))).toEqual([0, 0, 0, 1]);
      expect(Array.from(b.stateMask.subarray(0, DS)).reduce((a, x) => a + x, 0)).toBe(6);
      for (const [i, d] of draws.entries()) {
        const pb = p.builders[d.dataset];
        const ds = pb.ds;
        const src = pb.src;
        const raw = (slices: typeof src.action, r: number) => slices.flatMap((f) => Array.from(ds.vector(f.key).data.subarray(r * ds.vector(f.key).dim + f.from, r * ds.vector(f.key).dim + f.to)));
        const state = raw(src.state, d.frame);
        const gotState = unnormalize(unpadRows(b.state.subarray(i * DS, (i + 1) * DS), src.stateDim, DS), pb.stateNorm);
        expect(gotState).toBeAllclose(state, TOL.f32, `state ${i}`);
        const acts = unnormalize(unpadRows(b.actions.subarray(i * C * DA, (i + 1) * C * DA), src.actionDim, DA), pb.actionNorm);
        const abs = fromDelta(acts, src.actionDim, state, src.deltaMask);
        const ep = ds.episodes[ds.episodeOf(d.frame)];
        const win = windowRows(ep.start, ep.end, d.frame, Array.from({ length: C }, (_, k) => k));
        // float32 delta, normalise, unnormalise and undelta: a few ulps of |state| + |action| per value.
        expect(abs).toBeAllclose(Float32Array.from(Array.from(win.rows).flatMap((r) => raw(src.action, r))), TOL.grad, `actions ${i}`);
      }
    } finally {
      await p.close();
    }
  }, 60_000);
});
