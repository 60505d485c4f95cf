// Closed-loop evaluation against the simulator's own truth: replayed expert actions succeed, replayed mistakes fail,
// the evaluator replans exactly every n_action_steps, and frames t-15 / t+15 are the ones the episode produced.
import { describe, expect, it } from "vitest";
import { ShapeError } from "../../src/tensor/errors.ts";
import { getTask, loadMujoco, runEpisode, type EpisodeRecord } from "../../src/sim/index.ts";
import { connectPolicy } from "../../src/serve/client.ts";
import { replayPolicy } from "../../src/serve/replay.ts";
import { PolicyServer } from "../../src/serve/server.ts";
import { type Policy, type PolicyObservation, actionChunk } from "../../src/serve/policy.ts";
import { defaultActionSteps, evaluateTask, expertSeeds, overallSuccess, type TaskEvalConfig } from "../../src/train/eval/evaluate.ts";
import { randomPolicy } from "../../src/train/eval/random-policy.ts";

const BASE: TaskEvalConfig = {
  task: "pick_place", level: "clean", split: "train", episodes: 1, seed: 0, expertCheck: false, imageSize: 64, nActionSteps: 10, frameGap: 15,
};

async function scripted(seed: number, policy: "expert" | "mistake"): Promise<EpisodeRecord> {
  return runEpisode(await loadMujoco(), getTask("pick_place").generate(seed, "clean"), { policy });
}

function replaySession(rec: EpisodeRecord, horizon: number): Policy {
  return replayPolicy([{ actions: rec.actions, length: rec.length, task: rec.instruction }], { horizon }).session();
}

/** Holds the observed state; logs every observation it is given. */
function holdPolicy(horizon: number, seen: PolicyObservation[] = []): Policy {
  return {
    metadata: { policy: "hold" },
    async reset() {},
    async infer(obs) {
      seen.push(obs);
      const data = new Float32Array(horizon * obs.state.length);
      for (let i = 0; i < horizon; i++) data.set(obs.state, i * obs.state.length);
      return { actions: actionChunk(data, horizon, obs.state.length), policyTiming: {} };
    },
  };
}

describe("evaluateTask", () => {
  it("succeeds when the policy replays the scripted expert, and fails when it replays the scripted mistake", async () => {
    const seed = 3;
    const expert = await scripted(seed, "expert");
    const mistake = await scripted(seed, "mistake");
    expect(expert.success && !mistake.success).toBe(true);
    const good = await evaluateTask(replaySession(expert, 16), { ...BASE, seed });
    expect(good.episodes[0]).toMatchObject({ seed, success: true, instruction: expert.instruction });
    expect(good.episodes[0].steps).toBeLessThanOrEqual(expert.length);
    expect(good.success).toMatchObject({ successes: 1, trials: 1 });
    const bad = await evaluateTask(replaySession(mistake, 16), { ...BASE, seed });
    expect(bad.episodes[0].success).toBe(false);
    expect(bad.episodes[0].steps).toBe(getTask("pick_place").generate(seed, "clean").maxSteps);
  });

  it("gives the same result through the websocket server and client as in process", async () => {
    const seed = 5;
    const expert = await scripted(seed, "expert");
    const inProcess = await evaluateTask(replaySession(expert, 16), { ...BASE, seed, nActionSteps: 7 });
    const server = await PolicyServer.start(replayPolicy([{ actions: expert.actions, length: expert.length, task: expert.instruction }], { horizon: 16 }), {
      host: "127.0.0.1", port: 0, warmupRuns: 0,
    });
    const remote = await connectPolicy(`ws://127.0.0.1:${server.port}`, { retryMs: 100, timeoutMs: 10_000 });
    try {
      const over = await evaluateTask(remote, { ...BASE, seed, nActionSteps: 7 });
      expect(over.episodes[0]).toMatchObject({ success: true, steps: inProcess.episodes[0].steps });
      expect(over.episodes[0].inferMs.length).toBe(inProcess.episodes[0].inferMs.length);
    } finally {
      await remote.close();
      await server.close();
    }
  });

  it("replans every n_action_steps (or every horizon when the chunk is shorter) until the step limit", async () => {
    const maxSteps = getTask("pick_place").generate(0, "clean").maxSteps;
    for (const [horizon, n, calls] of [[16, 10, Math.ceil(maxSteps / 10)], [4, 10, maxSteps / 4], [50, 30, Math.ceil(maxSteps / 30)]]) {
      const seen: PolicyObservation[] = [];
      const r = await evaluateTask(holdPolicy(horizon, seen), { ...BASE, nActionSteps: n });
      expect(r.episodes[0]).toMatchObject({ success: false, steps: maxSteps });
      expect(seen.map((o) => o.step)).toEqual(Array.from({ length: calls }, (_, i) => i * Math.min(horizon, n)));
    }
  });

  it("hands the policy frame t-15 (clamped to the first frame) and pairs each imagined frame with the real frame t+15", async () => {
    const seen: PolicyObservation[] = [];
    const at = (step: number) => seen.find((o) => o.step === step)!;
    const foresightCalls: number[] = [];
    const r = await evaluateTask(holdPolicy(5, seen), { ...BASE, nActionSteps: 5 }, {
      foresightPerEpisode: 2,
      foresight: async (obs) => {
        foresightCalls.push(obs.step!);
        return { top: obs.images.top };
      },
    });
    expect(Buffer.compare(at(5).pastImages!.top.data, at(0).images.top.data)).toBe(0);
    expect(Buffer.compare(at(15).pastImages!.top.data, at(0).images.top.data)).toBe(0);
    expect(Buffer.compare(at(20).pastImages!.top.data, at(5).images.top.data)).toBe(0);
    expect(Buffer.compare(at(20).pastImages!.wrist.data, at(5).images.wrist.data)).toBe(0);
    expect(foresightCalls).toEqual([15, 20]);
    const pairs = r.episodes[0].foresight;
    expect(pairs.map((p) => [p.step, p.camera])).toEqual([[15, "top"], [20, "top"]]);
    expect(Buffer.compare(pairs[0].real!.data, at(30).images.top.data)).toBe(0);
    expect(Buffer.compare(pairs[1].real!.data, at(35).images.top.data)).toBe(0);
  });

  it("writes a GIF per episode and refuses a policy whose actions do not fit the robot", async () => {
    const r = await evaluateTask(holdPolicy(16), { ...BASE, nActionSteps: 16 }, { videoEvery: 4 });
    const gif = r.episodes[0].video!;
    expect(Buffer.from(gif.subarray(0, 6)).toString("latin1")).toBe("GIF89a");
    const wrong: Policy = { ...holdPolicy(16), infer: async () => ({ actions: actionChunk(new Float32Array(16 * 7), 16, 7), policyTiming: {} }) };
    await expect(evaluateTask(wrong, BASE)).rejects.toThrow(ShapeError);
    await expect(evaluateTask(wrong, BASE)).rejects.toThrow(/returned actions \[16, 7\]; the arm5 robot needs \[>= 1, 6\]/);
  });
});

describe("expert check and baselines", () => {
  it("keeps only seeds the scripted expert solves, in order", async () => {
    const cfg: TaskEvalConfig = { ...BASE, task: "conveyor_sort", episodes: 3, seed: 40, expertCheck: true };
    const { seeds, skipped } = await expertSeeds(cfg);
    expect(seeds.length).toBe(3);
    for (const s of seeds) expect(runEpisode(await loadMujoco(), getTask("conveyor_sort").generate(s, "clean")).success).toBe(true);
    expect([...seeds, ...skipped].sort((a, b) => a - b)).toEqual(Array.from({ length: seeds.length + skipped.length }, (_, i) => 40 + i));
  });

  it("the random-action baseline is reproducible and pools into overall rates", async () => {
    const cfg = { ...BASE, episodes: 2, seed: 11 };
    const a = await evaluateTask(randomPolicy({ robot: "arm5", horizon: 16, seed: 1 }), cfg);
    const b = await evaluateTask(randomPolicy({ robot: "arm5", horizon: 16, seed: 1 }), cfg);
    expect(a.episodes.map((e) => [e.seed, e.success, e.steps])).toEqual(b.episodes.map((e) => [e.seed, e.success, e.steps]));
    const all = overallSuccess([a, b]);
    expect(all.all.trials).toBe(4);
    expect(all.byKind.static?.trials).toBe(4);
  });

  it("defaults n_action_steps to RoboTwin's 30 of 50, scaled to the chunk", () => {
    expect([50, 16, 10, 1].map(defaultActionSteps)).toEqual([30, 10, 6, 1]);
  });
});
