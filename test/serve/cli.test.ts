// `internvla serve --replay DATASET` as a process: it serves the recorded actions of a real LeRobot dataset
// (shared cr5_real_v21, v2.1, 7-dim actions), answers /healthz, and stops cleanly on SIGTERM.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { connectPolicy } from "../../src/serve/client.ts";
import { greyImage } from "../../src/serve/policy.ts";
import { replayFromDataset } from "../../src/serve/replay.ts";
import { LeRobotDataset } from "../../src/data/lerobot/dataset.ts";

const DATASET = "/work/shared/datasets/cr5_real_v21";
const BIN = new URL("../../bin/internvla.mjs", import.meta.url).pathname;

/** The dataset's recorded `action` rows of one episode, read through the data reader. */
async function recordedActions(episode: number): Promise<{ rows: Float32Array; dim: number }> {
  const ds = await LeRobotDataset.open(DATASET);
  try {
    const e = ds.episodes.find((x) => x.index === episode)!;
    const v = ds.vector("action");
    return { rows: v.data.slice(e.start * v.dim, e.end * v.dim), dim: v.dim };
  } finally {
    await ds.close();
  }
}

const obs = (step?: number) => ({ images: { top: greyImage(48, 64) }, state: new Float32Array(6), prompt: "x", ...(step !== undefined ? { step } : {}) });

describe("replay", () => {
  it("replayFromDataset serves an episode's actions from the requested step, repeating the last one past the end", async () => {
    const { rows, dim } = await recordedActions(2);
    const provider = await replayFromDataset(DATASET, { episode: 2, horizon: 10 });
    expect(provider.metadata).toMatchObject({ policy: "replay", action_dim: dim, action_horizon: 10, episode: 2 });
    const session = provider.session();
    const a = await session.infer(obs(3));
    expect(a.actions.data).toEqual(rows.slice(3 * dim, 13 * dim));
    const n = rows.length / dim;
    const end = await session.infer(obs(n - 2));
    expect(Array.from(end.actions.data.subarray(2 * dim, 3 * dim))).toEqual(Array.from(rows.subarray((n - 1) * dim)));
    await expect(replayFromDataset(DATASET, { episode: 99 })).rejects.toThrow(/no episode 99; episodes are 0, 1, 2, 3, 4/);
  });

  it("`internvla serve --replay` runs as a process: health, openpi replies, SIGTERM stops it", async () => {
    const { rows, dim } = await recordedActions(1);
    const child = spawn(process.execPath, [BIN, "serve", "--replay", DATASET, "--episode", "1", "--horizon", "5", "--port", "0", "--host", "127.0.0.1"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    let stdout = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        stdout += d;
        const m = /listening on (ws:\/\/[\d.]+:\d+)/.exec(stdout);
        if (m) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    try {
      const health = await fetch(url.replace("ws://", "http://") + "/healthz");
      expect(health.status).toBe(200);
      const policy = await connectPolicy(url);
      expect(policy.metadata).toMatchObject({ policy: "replay", robot_type: "cr5", episode: 1, server: "internvla" });
      const first = await policy.infer(obs());
      const second = await policy.infer(obs());
      expect(first.actions.data).toEqual(rows.slice(0, 5 * dim));
      expect(second.actions.data).toEqual(rows.slice(5 * dim, 10 * dim));
      await policy.close();
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    expect(stderr).toMatch(/stopped after 2 requests/);
  });
});
