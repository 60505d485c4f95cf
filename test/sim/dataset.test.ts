// Dataset export: a generated LeRobot v3.0 dataset re-read with hyparquet and mediabunny, and resume after an interruption.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { ALL_FORMATS, FilePathSource, Input, VideoSampleSink } from "mediabunny";
import { registerMediabunnyServer } from "@mediabunny/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataset, type GenerateSummary } from "../../src/sim/dataset/generate.ts";
import { stallLimitMs } from "../../src/sim/dataset/pool.ts";
import { runEpisode, type EpisodeRecord } from "../../src/sim/episode.ts";
import { loadMujoco } from "../../src/sim/mujoco.ts";
import { getTask } from "../../src/sim/tasks/index.ts";

const SIZE = 64;
const TASK = { task: "lift_box", robot: "dual_arm", level: "randomised" } as const;
const root = mkdtempSync(join(tmpdir(), "internvla-sim-"));
let summary: GenerateSummary;
const truth = new Map<number, EpisodeRecord>();

async function rows(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path), compressors });
}

/** Every frame of an mp4 as packed RGB, decoded by mediabunny with FFmpeg (independent of our writer's YUV code). */
async function decodeVideo(path: string): Promise<{ rgb: Uint8Array; timestamp: number }[]> {
  registerMediabunnyServer();
  const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
  try {
    const track = (await input.getPrimaryVideoTrack())!;
    const out: { rgb: Uint8Array; timestamp: number }[] = [];
    const asRgbx = { format: "RGBX" } as unknown as Parameters<import("mediabunny").VideoSample["copyTo"]>[1];
    for await (const sample of new VideoSampleSink(track).samples()) {
      const rgbx = new Uint8Array(sample.allocationSize(asRgbx));
      await sample.copyTo(rgbx, asRgbx);
      out.push({ rgb: rgbx.filter((_, i) => i % 4 !== 3), timestamp: sample.timestamp });
      sample.close();
    }
    return out;
  } finally {
    input.dispose();
  }
}

beforeAll(async () => {
  summary = await generateDataset({ out: join(root, "ds"), ...TASK, episodes: 2, seed: 10, imageSize: SIZE, workers: 2, preview: 1 });
  const mj = await loadMujoco();
  const task = getTask(TASK.task);
  for (const seed of summary.seeds) {
    const instance = task.generate(seed, TASK.level, { robot: TASK.robot });
    truth.set(seed, runEpisode(mj, instance, { cameras: instance.scene.robot.cameras, width: SIZE, height: SIZE }));
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("generate: LeRobot v3.0 dataset", () => {
  it("writes info.json with robot_type, fps, named state/action (grippers named) and one video per camera", () => {
    const info = JSON.parse(readFileSync(join(root, "ds", "meta", "info.json"), "utf8"));
    expect(info).toMatchObject({ codebase_version: "v3.0", robot_type: "dual_arm", fps: 20, total_episodes: 2 });
    const names: string[] = info.features["observation.state"].names;
    expect(names.filter((n) => n.includes("gripper"))).toEqual(["left_gripper", "right_gripper"]);
    expect(info.features.action.names).toEqual(names);
    for (const cam of ["top", "left_wrist", "right_wrist"]) expect(info.features[`observation.images.${cam}`].shape).toEqual([SIZE, SIZE, 3]);
    expect(existsSync(join(root, "ds", "meta", "PARTIAL"))).toBe(false);
    expect(summary).toMatchObject({ written: 2, interrupted: false });
    // The workers simulated and encoded; the main thread only staged and finalised.
    expect(summary.seconds.simulate).toBeGreaterThan(0);
    expect(summary.seconds.encode).toBeGreaterThan(0);
    expect(readFileSync(join(root, "ds-preview", "episode_000000.gif")).subarray(0, 6).toString()).toBe("GIF89a");
  });

  it("stores exactly the simulated states, actions and instructions (read back with hyparquet)", async () => {
    const data = await rows(join(root, "ds", "data", "chunk-000", "file-000.parquet"));
    const tasks = await rows(join(root, "ds", "meta", "tasks.parquet"));
    let index = 0;
    summary.seeds.forEach((seed, ep) => {
      const rec = truth.get(seed)!;
      const dim = rec.states.length / rec.length;
      const epRows = data.filter((r) => Number(r.episode_index) === ep);
      expect(epRows).toHaveLength(rec.length);
      epRows.forEach((r, t) => {
        expect(Number(r.frame_index)).toBe(t);
        expect(Number(r.index)).toBe(index++);
        expect(r.timestamp).toBeCloseTo(t / 20, 6);
        expect(r["observation.state"]).toEqual(Array.from(rec.states.subarray(t * dim, (t + 1) * dim)));
        expect(r.action).toEqual(Array.from(rec.actions.subarray(t * dim, (t + 1) * dim)));
      });
      const task = tasks.find((row) => Number(row.task_index) === Number(epRows[0].task_index));
      expect(Object.values(task!)).toContain(rec.instruction);
    });
  });

  it("stores camera videos that decode back to the rendered frames within codec error", async () => {
    for (const cam of ["top", "left_wrist"]) {
      const frames = await decodeVideo(join(root, "ds", "videos", `observation.images.${cam}`, "chunk-000", "file-000.mp4"));
      const rendered = summary.seeds.flatMap((seed) => truth.get(seed)!.frames[cam]);
      expect(frames).toHaveLength(rendered.length);
      let worst = 0;
      let total = 0;
      frames.forEach((f, k) => {
        expect(f.timestamp).toBeCloseTo(k / 20, 3);
        let sum = 0;
        for (let i = 0; i < f.rgb.length; i++) sum += Math.abs(f.rgb[i] - rendered[k][i]);
        worst = Math.max(worst, sum / f.rgb.length);
        total += sum / f.rgb.length / frames.length;
      });
      // Mean absolute error per channel value (of 255) at LeRobot's settings (libsvtav1 crf 30, GOP 2, 4:2:0) on
      // 64 px flat-shaded frames with sharp edges: measured worst frame 6.0, average 4.0-4.2 (it was 4.0-4.2 worst when
      // the writer encoded near-losslessly at SVT qp 8, not LeRobot's crf 30).
      expect(worst).toBeLessThan(8);
      expect(total).toBeLessThan(5);
    }
  });
});

describe("generate: interruption and resume", () => {
  it("kills and replaces a worker that gives no result in time, and gives up on an episode stuck three times", async () => {
    const out = join(root, "stuck");
    // With a 50 ms limit every episode is "stuck": each try kills its worker process and reruns on a fresh one.
    await expect(generateDataset({ out, ...TASK, episodes: 1, seed: 10, imageSize: SIZE, workers: 1, stallSeconds: 0.05 }))
      .rejects.toThrow(/episode seed 10 got stuck 3 times.*--resume/s);
    expect(existsSync(join(out, "meta", "PARTIAL"))).toBe(true);
  });

  it("an aborted run leaves a marked partial dataset that --resume completes with the same episodes", async () => {
    const out = join(root, "resumed");
    const controller = new AbortController();
    const first = await generateDataset({
      out, ...TASK, episodes: 2, seed: 10, imageSize: SIZE, workers: 1, signal: controller.signal,
      onProgress: (p) => p.written >= 1 && controller.abort(),
    });
    expect(first).toMatchObject({ interrupted: true, written: 1 });
    expect(existsSync(join(out, "meta", "PARTIAL"))).toBe(true);
    expect(existsSync(join(out, "meta", "info.json"))).toBe(false);
    await expect(generateDataset({ out, ...TASK, episodes: 2, seed: 10, imageSize: SIZE })).rejects.toThrow(/partial dataset/);
    await expect(generateDataset({ out, ...TASK, episodes: 2, seed: 11, imageSize: SIZE, resume: true })).rejects.toThrow(/settings differ/);
    const done = await generateDataset({ out, ...TASK, episodes: 2, seed: 10, imageSize: SIZE, workers: 1, resume: true });
    expect(done).toMatchObject({ interrupted: false, written: 2 });
    expect(done.seeds).toEqual(summary.seeds);
    const data = await rows(join(out, "data", "chunk-000", "file-000.parquet"));
    const rec = truth.get(summary.seeds[1])!;
    const ep1 = data.filter((r) => Number(r.episode_index) === 1);
    expect(ep1.map((r) => r.action)).toEqual(Array.from({ length: rec.length }, (_, t) => Array.from(rec.actions.subarray(t * 14, (t + 1) * 14))));
  });
});

describe("generate: the watchdog's time limit", () => {
  it("gives a first try 10x the slowest finished episode (20 s to the limit), reruns and early jobs the full limit", () => {
    expect(stallLimitMs(120, 0, 0, 0)).toBe(120_000);
    expect(stallLimitMs(120, 0, 2, 500)).toBe(120_000);
    expect(stallLimitMs(120, 0, 3, 500)).toBe(20_000);
    expect(stallLimitMs(120, 0, 50, 4_000)).toBe(40_000);
    expect(stallLimitMs(120, 0, 50, 60_000)).toBe(120_000);
    expect(stallLimitMs(120, 1, 50, 500)).toBe(120_000);
    expect(stallLimitMs(0.05, 0, 50, 500)).toBe(50);
  });
});
