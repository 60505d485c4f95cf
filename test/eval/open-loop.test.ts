// Open-loop evaluation against exact cases: replaying the expert's own actions has zero error, and a policy that
// holds the observed state has exactly the "hold" error; the seeds are the ones the expert solves.
import { describe, expect, it } from "vitest";
import { getTask, loadMujoco, runEpisode } from "../../src/sim/index.ts";
import { replayPolicy } from "../../src/serve/replay.ts";
import { type Policy, actionChunk } from "../../src/serve/policy.ts";
import { type TaskEvalConfig } from "../../src/train/eval/evaluate.ts";
import { openLoopTask } from "../../src/train/eval/open-loop.ts";

const CFG: TaskEvalConfig = {
  task: "pick_place", level: "clean", split: "train", episodes: 1, seed: 21, expertCheck: true, imageSize: 64, nActionSteps: 10, frameGap: 15,
};

const hold: Policy = {
  metadata: {},
  async reset() {},
  async infer(obs) {
    const data = new Float32Array(16 * obs.state.length);
    for (let i = 0; i < 16; i++) data.set(obs.state, i * obs.state.length);
    return { actions: actionChunk(data, 16, obs.state.length), policyTiming: {} };
  },
};

describe("openLoopTask", () => {
  it("is exactly zero for the expert's own actions and exactly the hold error for a policy that does not move", async () => {
    const rec = runEpisode(await loadMujoco(), getTask("pick_place").generate(21, "clean"));
    expect(rec.success).toBe(true);
    const replay = replayPolicy([{ actions: rec.actions, length: rec.length, task: rec.instruction }], { horizon: 16 }).session();
    const mine = await openLoopTask(replay, CFG);
    expect(mine.seeds).toEqual([21]);
    expect(mine.episodes[0].rmse).toBe(0);
    expect(mine.episodes[0].holdRmse).toBeGreaterThan(0.01);
    const still = await openLoopTask(hold, { ...CFG, episodes: 2 });
    expect(still.episodes.map((e) => e.rmse)).toEqual(still.episodes.map((e) => e.holdRmse));
    expect(still.rmse.mean).toBeCloseTo(still.holdRmse.mean, 12);
    expect(still.episodes[0].holdRmse).toBe(mine.episodes[0].holdRmse);
  });
});
