// ActionChunkBroker with a hand-driven fake policy and a fake clock: sync re-query, replan horizon, async early
// requests with weighted-average / latest-only merging of overlaps (LeRobot async inference rules), RTC requests.
import { describe, expect, it } from "vitest";
import { ActionChunkBroker } from "../../src/serve/broker.ts";
import { type Policy, type PolicyObservation, type PolicyResult, actionChunk, greyImage } from "../../src/serve/policy.ts";
import { ConfigError } from "../../src/tensor/errors.ts";

interface Call {
  readonly obs: PolicyObservation;
  resolve(values: number[]): void;
  reject(e: Error): void;
}

/** A policy whose replies the test hands out; 1-D actions. */
function fakePolicy(): Policy & { calls: Call[]; resets: number } {
  const calls: Call[] = [];
  const p = {
    calls,
    resets: 0,
    metadata: {},
    infer(obs: PolicyObservation): Promise<PolicyResult> {
      return new Promise((resolve, reject) => {
        calls.push({
          obs,
          resolve: (v) => resolve({ actions: actionChunk(Float32Array.from(v), v.length, 1), policyTiming: {} }),
          reject,
        });
      });
    },
    async reset() {
      p.resets++;
    },
  };
  return p;
}

const obs: PolicyObservation = { images: { top: greyImage(2, 2) }, state: new Float32Array(1), prompt: "p" };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
/** A chunk whose action i is base + i. */
const chunk = (base: number, n: number): number[] => Array.from({ length: n }, (_, i) => base + i);

/** Calls next(); if the broker is waiting for call `answer.call`, answers it. */
async function step(b: ActionChunkBroker, p: ReturnType<typeof fakePolicy>, answer?: { call: number; values: number[] }): Promise<number> {
  const a = b.next(obs);
  if (answer) {
    await tick();
    p.calls[answer.call].resolve(answer.values);
  }
  return (await a)[0];
}

describe("sync mode (openpi ActionChunkBroker)", () => {
  it("hands out a chunk one action per step and re-queries when it is used up", async () => {
    const p = fakePolicy();
    const b = new ActionChunkBroker(p);
    const got = [await step(b, p, { call: 0, values: chunk(0, 4) })];
    for (let i = 1; i < 4; i++) got.push(await step(b, p));
    got.push(await step(b, p, { call: 1, values: chunk(100, 4) }));
    expect(got).toEqual([0, 1, 2, 3, 100]);
    expect(p.calls.map((c) => c.obs.step)).toEqual([0, 4]);
    expect(b.stats).toMatchObject({ requests: 2, stalls: 2, mergedSteps: 0 });
  });

  it("replanSteps uses only the first actions of each chunk (LIBERO replan_steps)", async () => {
    const p = fakePolicy();
    const b = new ActionChunkBroker(p, { replanSteps: 2 });
    const got: number[] = [];
    for (let k = 0; k < 3; k++) {
      got.push(await step(b, p, { call: k, values: chunk(100 * k, 10) }));
      got.push(await step(b, p));
    }
    expect(got).toEqual([0, 1, 100, 101, 200, 201]);
    expect(p.calls.map((c) => c.obs.step)).toEqual([0, 2, 4]);
  });

  it("propagates a policy error and recovers after reset", async () => {
    const p = fakePolicy();
    const b = new ActionChunkBroker(p);
    const a = b.next(obs);
    await tick();
    p.calls[0].reject(new Error("server gone"));
    await expect(a).rejects.toThrow("server gone");
    await b.reset();
    expect(p.resets).toBe(1);
    expect(await step(b, p, { call: 1, values: [7] })).toBe(7);
  });
});

describe("async mode (LeRobot async inference)", () => {
  /** Steps 0..4 from chunk A (10 actions); B is requested at step 5 and answered after step 6 ran. */
  async function overlapRun(merge: "weighted_average" | "latest_only"): Promise<{ got: number[]; b: ActionChunkBroker; p: ReturnType<typeof fakePolicy> }> {
    const p = fakePolicy();
    const b = new ActionChunkBroker(p, { mode: "async", threshold: 0.5, merge });
    const got = [await step(b, p, { call: 0, values: chunk(0, 10) })];
    for (let s = 1; s < 7; s++) got.push(await step(b, p));
    expect(p.calls.map((c) => c.obs.step)).toEqual([0, 5]); // asked early, when 10 - 5 <= 0.5 * 10 remained
    p.calls[1].resolve(chunk(100, 10)); // B[i] is for step 5 + i
    await tick();
    for (let s = 7; s < 15; s++) got.push(await step(b, p));
    return { got, b, p };
  }

  it("weighted_average: overlapping steps get 0.3 * old + 0.7 * new; stale actions are dropped", async () => {
    const { got, b } = await overlapRun("weighted_average");
    expect(got.slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // steps 7..9 overlap: old A[s] = s, new B[s - 5] = 100 + s - 5
    const blend = (s: number) => Math.fround(0.3 * s + 0.7 * (95 + s));
    expect(got.slice(7, 10)).toEqual([7, 8, 9].map(blend));
    expect(got.slice(10)).toEqual([105, 106, 107, 108, 109]);
    expect(b.stats).toMatchObject({ requests: 3, mergedSteps: 3, staleSteps: 2, stalls: 1 });
  });

  it("latest_only: the newer chunk replaces the queued actions", async () => {
    const { got } = await overlapRun("latest_only");
    expect(got.slice(7)).toEqual([102, 103, 104, 105, 106, 107, 108, 109]);
  });

  it("never blocks while a chunk is queued, and stalls only when the queue runs dry", async () => {
    const p = fakePolicy();
    const b = new ActionChunkBroker(p, { mode: "async", threshold: 0.5 });
    await step(b, p, { call: 0, values: chunk(0, 4) });
    await step(b, p);
    await step(b, p); // request 1 sent at step 2 (2 of 4 left), not answered yet
    await step(b, p); // still served from the queue
    expect(b.stats.stalls).toBe(1);
    expect(await step(b, p, { call: 1, values: chunk(50, 4) })).toBe(52); // B[0], B[1] were for steps 2, 3
    expect(b.stats).toMatchObject({ stalls: 2, staleSteps: 2 });
  });

  it("RTC: sends the queued actions and the delay measured on the clock (ceil(latency / period))", async () => {
    let now = 0;
    const p = fakePolicy();
    const b = new ActionChunkBroker(p, { mode: "async", threshold: 0.5, rtc: true, clock: () => now, controlPeriodMs: 50 });
    const first = b.next(obs);
    await tick();
    expect(p.calls[0].obs.rtc).toBeUndefined(); // nothing queued yet
    now = 120; // the first round trip took 120 ms
    p.calls[0].resolve(chunk(0, 10));
    await first;
    for (let s = 1; s < 6; s++) await step(b, p);
    const rtc = p.calls[1].obs.rtc!;
    expect(p.calls[1].obs.step).toBe(5);
    expect([rtc.prevCount, rtc.inferenceDelay, Array.from(rtc.prevActions)]).toEqual([5, 3, [5, 6, 7, 8, 9]]);
    expect(b.stats.latenciesMs).toEqual([120]);
  });

  it("rejects inconsistent options", () => {
    expect(() => new ActionChunkBroker(fakePolicy(), { rtc: true })).toThrow(ConfigError);
    expect(() => new ActionChunkBroker(fakePolicy(), { threshold: 2 })).toThrow(/threshold must be in \[0, 1\]/);
    expect(() => new ActionChunkBroker(fakePolicy(), { replanSteps: 0 })).toThrow(/replanSteps/);
  });
});
