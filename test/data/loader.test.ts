// The loader: worker threads return exactly the batches the in-process pipeline builds, in draw order.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeRobotWriter } from "../../src/data/lerobot/writer.ts";
import { Loader } from "../../src/data/loader.ts";
import { DataPipeline, type PipelineSpec } from "../../src/data/pipeline.ts";
import { collate } from "../../src/data/sample.ts";
import { DEFAULT_LAYOUT } from "../../src/data/types.ts";

const root = mkdtempSync(join(tmpdir(), "internvla-loader-"));
const layout = { ...DEFAULT_LAYOUT, imageSize: 32, chunk: 8 };

async function writeSet(dir: string, robot: string, cams: string[], stateDim: number, episodes: number): Promise<void> {
  const w = await LeRobotWriter.create(dir, {
    fps: 10, robotType: robot, videoCodec: "h264",
    features: {
      "observation.state": { dtype: "float32", shape: [stateDim] }, action: { dtype: "float32", shape: [stateDim] },
      ...Object.fromEntries(cams.map((c) => [c, { dtype: "video" as const, shape: [24, 32, 3] }])),
    },
  });
  for (let e = 0; e < episodes; e++) {
    const n = 20 + e;
    const vec = () => Float32Array.from({ length: n * stateDim }, (_, i) => Math.sin(i + e));
    const frames = Object.fromEntries(cams.map((c, ci) => [c, Array.from({ length: n }, (_, f) => new Uint8Array(24 * 32 * 3).map((_, i) => (i + f * 5 + ci * 40) & 255))]));
    await w.addEpisode({ task: `task ${e}`, length: n, vectors: { "observation.state": vec(), action: vec() }, frames });
  }
  await w.finalize();
}

let spec: PipelineSpec;
beforeAll(async () => {
  await writeSet(join(root, "a"), "arm_a", ["observation.images.top", "observation.images.wrist"], 5, 3);
  await writeSet(join(root, "b"), "arm_b", ["observation.images.front"], 9, 2);
  spec = {
    seed: 11, config: { layout, actionMode: "abs", norm: "none" },
    groups: [{ name: "a", weight: 0.6, sources: [{ root: join(root, "a") }] }, { name: "b", weight: 0.4, sources: [{ root: join(root, "b") }] }],
  };
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("Loader", () => {
  it("in-thread: overlapping next() calls give the same batches as calls made one at a time", async () => {
    const run = async (overlap: boolean) => {
      const loader = await Loader.create(spec, { batchSize: 4, workers: 0, prefetch: 0 });
      try {
        if (overlap) return await Promise.all([loader.next(), loader.next(), loader.next()]);
        const out = [];
        for (let i = 0; i < 3; i++) out.push(await loader.next());
        return out;
      } finally {
        await loader.close();
      }
    };
    const serial = await run(false);
    const together = await run(true);
    for (let i = 0; i < 3; i++) {
      expect(together[i].frameIndex).toEqual(serial[i].frameIndex);
      expect(Buffer.compare(together[i].images, serial[i].images)).toBe(0);
    }
  }, 60_000);

  it("gives identical batches with 2 workers and in-process, with heterogeneous robots padded together", async () => {
    const collect = async (workers: number) => {
      const loader = await Loader.create(spec, { batchSize: 5, workers, prefetch: 3 });
      try {
        const out = [];
        for (let i = 0; i < 3; i++) out.push(await loader.next());
        return out;
      } finally {
        await loader.close();
      }
    };
    const local = await collect(0);
    const threaded = await collect(2);
    for (let i = 0; i < 3; i++) {
      expect(threaded[i].episodeIndex).toEqual(local[i].episodeIndex);
      expect(threaded[i].frameIndex).toEqual(local[i].frameIndex);
      expect(Buffer.compare(threaded[i].images, local[i].images)).toBe(0);
      expect(Buffer.compare(new Uint8Array(threaded[i].actions.buffer), new Uint8Array(local[i].actions.buffer))).toBe(0);
      expect(threaded[i].tasks).toEqual(local[i].tasks);
    }
    const all = local.flatMap((b) => Array.from(b.datasetIndex));
    expect(new Set(all)).toEqual(new Set([0, 1]));
    const b = local[0];
    for (let i = 0; i < b.size; i++) {
      const robot = b.datasetIndex[i] === 0 ? { dims: 5, mask: [1, 1, 0] } : { dims: 9, mask: [1, 0, 0] };
      expect(b.stateDim[i]).toBe(robot.dims);
      expect(Array.from(b.imageMask.subarray(i * 3, i * 3 + 3))).toEqual(robot.mask);
      expect(Array.from(b.state.subarray(i * 32 + robot.dims, (i + 1) * 32)).every((v) => v === 0)).toBe(true);
    }
  }, 90_000);

  it("writes a batch in place exactly as collating its samples one by one does", async () => {
    const p = await DataPipeline.open(spec);
    try {
      const draws = Array.from({ length: 9 }, () => p.sampler.next());
      const direct = await p.batchOf(draws);
      const collated = collate(await Promise.all(draws.map((d) => p.sample(d.dataset, d.frame))), layout);
      expect(new Set(draws.map((d) => d.dataset))).toEqual(new Set([0, 1]));
      for (const k of ["images", "imageMask", "state", "stateMask", "actions", "actionMask", "actionIsPad", "stateDim", "actionDim", "datasetIndex", "episodeIndex", "frameIndex"] as const) {
        expect(Buffer.compare(new Uint8Array(direct[k].buffer), new Uint8Array(collated[k].buffer)), k).toBe(0);
      }
      expect(direct.tasks).toEqual(collated.tasks);
      expect(direct.robotTypes).toEqual(collated.robotTypes);
    } finally {
      await p.close();
    }
  });

  it("fails with the dataset named when a worker cannot open it", async () => {
    const bad = { ...spec, groups: [{ name: "x", weight: 1, sources: [{ root: join(root, "missing") }] }] };
    await expect(Loader.create(bad, { batchSize: 2, workers: 1, prefetch: 1 })).rejects.toThrow(/missing: not a LeRobot dataset/);
  }, 60_000);
});
