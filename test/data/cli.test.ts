// internvla inspect / stats / convert end to end through the CLI entry point, on the shared datasets.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { LeRobotDataset } from "../../src/data/lerobot/dataset.ts";
import { LeRobotWriter } from "../../src/data/lerobot/writer.ts";

const SHARED = resolve(import.meta.dirname, "..", "..", "..", "shared", "datasets");
const tmp = mkdtempSync(join(tmpdir(), "internvla-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

describe.skipIf(!existsSync(SHARED))("data commands", () => {
  it("inspect prints what the dataset holds and its problems", async () => {
    const r = await run("inspect", join(SHARED, "gr00t_robot_sim_picknplace_v20"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/version\s+v2\.0/);
    expect(r.out).toMatch(/robot\s+GR1ArmsOnly/);
    expect(r.out).toMatch(/observation\.images\.egoview\s+1280x800 h264\s+MISSING/);
    expect(r.out).toMatch(/\[totals-mismatch\].*total_videos is 2/);
    const bad = await run("inspect", tmp);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not a LeRobot dataset \(no meta\/ folder\)/);
  });

  it("inspect reports a partial dataset (writer never finalized) and the reader refuses it", async () => {
    const dir = join(tmp, "partial");
    const w = await LeRobotWriter.create(dir, { fps: 10, robotType: "r", features: { action: { dtype: "float32", shape: [2] } } });
    await w.addEpisode({ task: "t", length: 3, vectors: { action: new Float32Array(6) }, frames: {} });
    const r = await run("inspect", dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/status\s+partial \(1 staged episodes\)/);
    await expect(LeRobotDataset.open(dir)).rejects.toThrow(/partial \(meta\/PARTIAL\)/);
  });

  it("stats writes delta stats over full chunks and reports tiny spreads; --compare reports mismatches", async () => {
    const out = join(tmp, "reachy_delta.json");
    const r = await run("stats", join(SHARED, "reachy2_apple_storage_v30_tabular"), "--action-mode", "delta", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/reachy2: 899 frames, delta actions over chunks of 50/);
    const s = JSON.parse(readFileSync(out, "utf8"));
    // Every full chunk of every episode: (299 - 49) + (300 - 49) * 2 windows of 50 steps.
    expect(s.action.count).toEqual([(250 + 251 * 2) * 50]);
    expect(s["observation.state"].count).toEqual([899]);
    expect(Object.keys(s.action)).toEqual(["min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"]);

    const abs = join(tmp, "reachy_abs.json");
    const rAbs = await run("stats", join(SHARED, "reachy2_apple_storage_v30_tabular"), "--out", abs);
    expect(rAbs.code).toBe(0);
    expect(rAbs.out).toMatch(/reachy2 action\[7\]: std 0\.00e\+0 < 0\.0001/);
    const again = await run("stats", join(SHARED, "reachy2_apple_storage_v30_tabular"), "--out", abs);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists.*--force/s);
    const cmp = await run("stats", "--compare", `${abs},${join(SHARED, "cr5_real_v21", "meta", "episodes_stats.jsonl")}`);
    expect(cmp.code).toBe(1);
    const cmp2 = await run("stats", "--compare", `${abs},${out}`);
    expect(cmp2.code).toBe(0);
    expect(cmp2.out).toMatch(/warning/);
  });

  it("convert turns v2.1 into a v3.0 dataset that reads back with the same frames", async () => {
    const dst = join(tmp, "cr5_v30");
    const r = await run("convert", join(SHARED, "cr5_real_v21"), dst);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/converted 5 episodes, 530 frames/);
    expect(r.err).toMatch(/timestamps disagree/);
    const a = await LeRobotDataset.open(dst);
    const b = await LeRobotDataset.open(join(SHARED, "cr5_real_v21"));
    try {
      expect(a.version).toBe("v3.0");
      expect(a.warnings).toEqual([]);
      expect(a.vector("action").data).toEqual(b.vector("action").data);
      const rows = [0, 150, 529];
      const [fa, fb] = [await a.frames("observation.images.top", rows), await b.frames("observation.images.top", rows)];
      fa.forEach((f, i) => expect(Buffer.compare(f.rgb, fb[i].rgb), `frame at row ${rows[i]}`).toBe(0));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
