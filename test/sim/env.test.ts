// The closed-loop Environment: matches the generator's frames and states, ends on success, executes chunks, refuses bad input.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEnvironment, rollout, type Environment } from "../../src/sim/env.ts";
import { runEpisode, type EpisodeRecord } from "../../src/sim/episode.ts";
import { loadMujoco } from "../../src/sim/mujoco.ts";
import { getTask } from "../../src/sim/tasks/index.ts";

const SIZE = 64;
let record: EpisodeRecord;
let env: Environment | undefined;

/** Row t of a flat [T * dim] array. */
const row = (a: Float32Array, t: number, dim: number): Float32Array => a.subarray(t * dim, (t + 1) * dim);

beforeAll(async () => {
  const mj = await loadMujoco();
  const instance = getTask("lift_box").generate(5, "randomised");
  record = runEpisode(mj, instance, { cameras: instance.scene.robot.cameras, width: SIZE, height: SIZE });
});

afterEach(() => {
  env?.close();
  env = undefined;
});

describe("Environment", () => {
  it("replaying the recorded actions reproduces the recorded images and states bit for bit, then succeeds", async () => {
    env = await createEnvironment({ task: "lift_box", level: "randomised", imageSize: SIZE });
    expect(env.cameras).toEqual(["top", "left_wrist", "right_wrist"]);
    const dim = env.actionNames.length;
    let obs = env.reset(5);
    expect(obs.instruction).toBe(record.instruction);
    let last = { done: false, success: false };
    for (let t = 0; t < record.length && !last.done; t++) {
      expect(obs.timestamp).toBeCloseTo(t / 20, 12);
      expect(Array.from(obs.state)).toEqual(Array.from(row(record.states, t, dim)));
      for (const cam of env.cameras) expect(obs.images[cam].length === SIZE * SIZE * 3 && Buffer.compare(obs.images[cam], record.frames[cam][t])).toBe(0);
      const r = env.step(row(record.actions, t, dim));
      obs = r.observation;
      last = r;
    }
    expect(last).toMatchObject({ done: true, success: true });
  });

  it("executes action chunks (rows or flat) and stops a chunk when the episode ends", async () => {
    env = await createEnvironment({ task: "lift_box", level: "randomised", imageSize: SIZE, cameras: ["top"] });
    const dim = env.actionNames.length;
    env.reset(5);
    const rows = Array.from({ length: 8 }, (_, t) => row(record.actions, t, dim));
    expect(env.executeChunk(rows, 5)).toHaveLength(5);
    expect(env.executeChunk(record.actions.slice(5 * dim, 8 * dim))).toHaveLength(3);
    const rest = record.actions.slice(8 * dim);
    const results = env.executeChunk(rest);
    expect(results.length).toBeLessThanOrEqual(record.length - 8);
    expect(results[results.length - 1]).toMatchObject({ done: true, success: true });
    expect(Object.keys(results[0].observation.images)).toEqual(["top"]);
  });

  it("rollout runs a chunk policy in closed loop until success", async () => {
    env = await createEnvironment({ task: "lift_box", level: "randomised", imageSize: SIZE, cameras: ["top"] });
    const dim = env.actionNames.length;
    let t = 0;
    const replay = () => {
      const chunk = Array.from({ length: 10 }, (_, k) => row(record.actions, Math.min(t + k, record.length - 1), dim));
      t += 4;
      return chunk;
    };
    const result = await rollout(env, replay, 5, { replanEvery: 4 });
    expect(result).toMatchObject({ seed: 5, success: true });
  });

  it("refuses bad settings and misuse with clear errors", async () => {
    await expect(createEnvironment({ task: "lift_box", imageSize: 63 })).rejects.toThrow(/even integer in 64-224; got 63/);
    await expect(createEnvironment({ task: "lift_box", imageSize: 256 })).rejects.toThrow(/64-224/);
    await expect(createEnvironment({ task: "lift_box", cameras: ["wrist"] })).rejects.toThrow(/unknown camera\(s\) wrist for robot dual_arm; expected top, left_wrist, right_wrist/);
    await expect(createEnvironment({ task: "lift_box", robot: "arm5" })).rejects.toThrow(/robot "arm5" is not supported; expected one of dual_arm/);
    await expect(createEnvironment({ task: "lift_bx" })).rejects.toThrow(/unknown task "lift_bx"/);
    env = await createEnvironment({ task: "pick_place", robot: "arm7", imageSize: 64 });
    expect(() => env!.step(new Float32Array(8))).toThrow(/call reset\(seed\) before step/);
    env.reset(0);
    expect(() => env!.step(new Float32Array(6))).toThrow(/action has 6 values; expected 8 \(joint1, .*, gripper\)/);
  });
});
