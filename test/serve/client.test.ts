// The client: connect with retry, RemotePolicy as a Policy (infer, reset, queued calls), clear errors.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RemotePolicyError, connectPolicy } from "../../src/serve/client.ts";
import { greyImage } from "../../src/serve/policy.ts";
import { type PolicyServer } from "../../src/serve/server.ts";
import { ActionChunkBroker } from "../../src/serve/broker.ts";
import { replayPolicy } from "../../src/serve/replay.ts";
import { PROBE_DIM, probeProvider, startServer } from "./helpers.ts";

const obs = (step: number) => ({ images: { top: greyImage(6, 6) }, state: new Float32Array([step, 2]), prompt: "go", step });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let server: PolicyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("connectPolicy", () => {
  it("keeps retrying until the server is up, then reads its metadata", async () => {
    const port = await freePort();
    const waits: string[] = [];
    const pending = connectPolicy(`ws://127.0.0.1:${port}`, { retryMs: 50, onWaiting: (_n, why) => waits.push(why) });
    await new Promise((r) => setTimeout(r, 200));
    server = await startServer(probeProvider(), { port });
    const policy = await pending;
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatch(/ECONNREFUSED/);
    expect(policy.metadata).toMatchObject({ policy: "probe", server: "internvla" });
    await policy.close();
  });

  it("gives up after timeoutMs with a hint, and does not retry a refused key", async () => {
    const port = await freePort();
    await expect(connectPolicy(`ws://127.0.0.1:${port}`, { retryMs: 20, timeoutMs: 100 })).rejects.toThrow(/no policy server after \d+ attempts/);
    server = await startServer(probeProvider(), { apiKey: "k" });
    await expect(connectPolicy(`ws://127.0.0.1:${server.port}`, { apiKey: "nope", retryMs: 10 })).rejects.toThrow(/HTTP 401/);
  });
});

describe("RemotePolicy", () => {
  it("infers, queues concurrent calls one at a time, forwards reset, and closes", async () => {
    const provider = probeProvider({ delayMs: 5 });
    server = await startServer(provider);
    const policy = await connectPolicy(`ws://127.0.0.1:${server.port}`);
    const results = await Promise.all([1, 2, 3].map((s) => policy.infer(obs(s))));
    expect(results.map((r) => [r.actions.horizon, r.actions.dim, r.actions.data[0], r.actions.data[2 * PROBE_DIM + 1]])).toEqual([
      [3, PROBE_DIM, 1, 1],
      [3, PROBE_DIM, 2, 2],
      [3, PROBE_DIM, 3, 3],
    ]);
    expect(results[0].serverTiming).toHaveProperty("infer_ms");
    expect(provider.log.maxActive).toBe(1);
    await policy.reset();
    expect(provider.log.resets).toBe(1);
    await policy.close();
    await expect(policy.infer(obs(0))).rejects.toThrow(/connection to .* is closed/);
  });

  it("turns the server's error frame into a RemotePolicyError with the server's message", async () => {
    server = await startServer(probeProvider());
    const policy = await connectPolicy(`ws://127.0.0.1:${server.port}`);
    const bad = { ...obs(0), state: new Float32Array([0, Number.NaN]) };
    const err = await policy.infer(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemotePolicyError);
    expect((err as Error).message).toMatch(/error from the policy server:\ninternvla serve: state: element 1 is NaN/);
    await expect(policy.infer(obs(0))).rejects.toThrow(/closed/);
  });

  it("sends other robots' openpi keys unchanged with inferWire", async () => {
    server = await startServer(probeProvider());
    const policy = await connectPolicy(`ws://127.0.0.1:${server.port}`);
    const reply = await policy.inferWire({ "observation/image": { kind: "ndarray", dtype: "uint8", shape: [1, 1, 3], data: new Uint8Array(3) }, "observation/state": [4, 5], prompt: "x" });
    expect(reply.actions).toMatchObject({ shape: [3, PROBE_DIM] });
    await policy.close();
  });
});

describe("broker over the wire", () => {
  it("an async broker on a replay server executes the recorded trajectory step for step", async () => {
    const length = 60;
    const actions = Float32Array.from({ length: length * 2 }, (_, i) => Math.sin(i / 7));
    server = await startServer(replayPolicy([{ actions, length, task: "t" }], { horizon: 10 }), { port: 0 });
    const policy = await connectPolicy(`ws://127.0.0.1:${server.port}`);
    const broker = new ActionChunkBroker(policy, { mode: "async", threshold: 0.6, merge: "weighted_average" });
    const executed: number[] = [];
    for (let s = 0; s < 45; s++) {
      executed.push(...(await broker.next(obs(s))));
      await new Promise((r) => setTimeout(r, 1)); // a control period: replies arrive while the robot acts
    }
    // Every chunk is aligned by step, so overlaps merge equal values and the robot follows the recording
    // (0.3 a + 0.7 a in float64, stored as float32, is within 1 ulp of a: hence rtol 1e-6).
    expect(executed).toBeAllclose(Array.from(actions.subarray(0, 90)), { rtol: 1e-6, atol: 1e-7 });
    expect(broker.stats.mergedSteps).toBeGreaterThan(0);
    await policy.close();
  });
});
