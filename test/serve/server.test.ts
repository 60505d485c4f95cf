// The websocket server: openpi handshake and replies, health check, auth, limits, errors, back-pressure, sessions.
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type NdArray, type WireMap, decodeMsgpackNumpy, encodeMsgpackNumpy, ndarray } from "../../src/serve/msgpack-numpy.ts";
import { type PolicyServer } from "../../src/serve/server.ts";
import { replayPolicy } from "../../src/serve/replay.ts";
import { PROBE_DIM, type RawClient, type RawEvent, probeProvider, rawClient, startServer } from "./helpers.ts";

const obsFrame = (step?: number, state = [1, 2, 3]): Uint8Array =>
  encodeMsgpackNumpy({
    images: { top: ndarray(new Uint8Array(4 * 4 * 3).fill(5), [4, 4, 3]) },
    state: ndarray(Float32Array.from(state), [state.length]),
    prompt: "pick",
    ...(step !== undefined ? { step } : {}),
  });

function binary(e: RawEvent): WireMap {
  if (e.kind !== "binary") throw new Error(`expected a binary frame, got ${JSON.stringify(e)}`);
  return decodeMsgpackNumpy(e.bytes) as WireMap;
}
const actionsOf = (m: WireMap): Float32Array => (m.actions as NdArray).data as Float32Array;

async function connected(port: number, headers?: Record<string, string>): Promise<RawClient> {
  const c = await rawClient(port, headers);
  binary(await c.next()); // metadata
  return c;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject).end();
  });
}

let server: PolicyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("openpi protocol", () => {
  it("answers GET /healthz with 200 and other plain HTTP with 426", async () => {
    server = await startServer(probeProvider());
    expect(await httpGet(server.port, "/healthz")).toEqual({ status: 200, body: "OK\n" });
    expect((await httpGet(server.port, "/")).status).toBe(426);
  });

  it("sends the metadata frame first, then one reply per observation with openpi timing keys", async () => {
    server = await startServer(probeProvider());
    const c = await rawClient(server.port);
    const meta = binary(await c.next());
    expect(meta).toMatchObject({ policy: "probe", action_horizon: 3, server: "internvla" });
    c.send(obsFrame(0));
    const r1 = binary(await c.next());
    expect(r1.actions).toMatchObject({ dtype: "float32", shape: [3, PROBE_DIM] });
    expect(Array.from(actionsOf(r1).subarray(0, 3))).toEqual([1, 2, 3]);
    expect(Object.keys(r1.server_timing as object)).toEqual(["infer_ms"]);
    expect(r1.policy_timing).toHaveProperty("infer_ms");
    c.send(obsFrame(1));
    expect(Object.keys(binary(await c.next()).server_timing as object).sort()).toEqual(["infer_ms", "prev_total_ms"]);
    c.close();
  });

  it("checks `Authorization: Api-Key` when a key is set", async () => {
    server = await startServer(probeProvider(), { apiKey: "s3cret" });
    await expect(rawClient(server.port)).rejects.toThrow(/HTTP 401/);
    await expect(rawClient(server.port, { Authorization: "Api-Key wrong!" })).rejects.toThrow(/HTTP 401/);
    const c = await connected(server.port, { Authorization: "Api-Key s3cret" });
    c.send(obsFrame());
    expect(binary(await c.next())).toHaveProperty("actions");
    expect(server.stats.refused).toBe(2);
    c.close();
  });

  it("refuses clients beyond maxClients with 503 and accepts again once one leaves", async () => {
    server = await startServer(probeProvider(), { maxClients: 2 });
    const a = await connected(server.port);
    const b = await connected(server.port);
    await expect(rawClient(server.port)).rejects.toThrow(/HTTP 503/);
    a.close();
    await a.next();
    await new Promise((r) => setTimeout(r, 20));
    const c = await connected(server.port);
    c.send(obsFrame());
    expect(binary(await c.next())).toHaveProperty("actions");
    b.close();
    c.close();
  });

  it("a port in use is a clear error", async () => {
    server = await startServer(probeProvider());
    await expect(startServer(probeProvider(), { port: server.port })).rejects.toThrow(/cannot listen on 127.0.0.1:\d+: .*EADDRINUSE/);
  });

  it("a control frame resets the connection's session", async () => {
    const provider = probeProvider();
    server = await startServer(provider);
    const c = await connected(server.port);
    c.send(encodeMsgpackNumpy({ __ctrl__: "reset" }));
    expect(binary(await c.next())).toEqual({ __ack__: "reset" });
    expect(provider.log.resets).toBe(1);
    c.close();
  });
});

describe("errors: a text frame, then close 1011; the server keeps serving", () => {
  async function expectError(c: RawClient, re: RegExp): Promise<void> {
    const e = await c.next();
    expect(e.kind).toBe("text");
    expect((e as { text: string }).text).toMatch(re);
    expect(await c.next()).toMatchObject({ kind: "close", code: 1011 });
  }

  it("an oversize frame (configurable limit)", async () => {
    server = await startServer(probeProvider(), { maxFrameBytes: 1000 });
    const c = await connected(server.port);
    c.send(new Uint8Array(5000));
    await expectError(c, /exceeds the server's size limit/);
    const d = await connected(server.port);
    d.send(obsFrame());
    expect(binary(await d.next())).toHaveProperty("actions");
    d.close();
  });

  it("a text frame, malformed msgpack, and a bad observation each say what was wrong", async () => {
    server = await startServer(probeProvider());
    const cases: [Uint8Array | string, RegExp][] = [
      ["hello", /expected a binary msgpack frame, got a text frame/],
      [new Uint8Array([0xc1]), /malformed msgpack/],
      [obsFrame(0, [1, NaN]), /state: element 1 is NaN/],
    ];
    for (const [frame, re] of cases) {
      const c = await connected(server.port);
      c.send(frame);
      await expectError(c, re);
    }
    expect(server.stats.errors).toBe(3);
  });

  it("a session that cannot be created (no metadata frame; the server stays up)", async () => {
    let n = 0;
    const base = probeProvider();
    const session = () => {
      if (n++ === 0) throw new Error("out of sessions");
      return base.session();
    };
    server = await startServer({ ...base, session });
    const c = await rawClient(server.port);
    await expectError(c, /internal error: Error: out of sessions/);
    const d = await connected(server.port);
    d.send(obsFrame());
    expect(binary(await d.next())).toHaveProperty("actions");
    d.close();
  });

  it("an exception inside the policy", async () => {
    server = await startServer(probeProvider({ fail: (o) => o.prompt === "pick" }));
    const c = await connected(server.port);
    c.send(obsFrame());
    await expectError(c, /internal error: Error: probe failure requested by the test/);
  });
});

describe("concurrency", () => {
  it("pipelined requests on one connection are served one at a time, in order", async () => {
    const provider = probeProvider({ delayMs: 10 });
    server = await startServer(provider);
    const c = await connected(server.port);
    for (let s = 0; s < 4; s++) c.send(obsFrame(s));
    for (let s = 0; s < 4; s++) expect(actionsOf(binary(await c.next()))[2 * PROBE_DIM + 1]).toBe(s);
    expect(provider.log.maxActive).toBe(1);
    c.close();
  });

  it("many clients at once: each gets its own replies; inferences in flight never exceed the provider's concurrency", async () => {
    const provider = probeProvider({ delayMs: 5, concurrency: 2 });
    server = await startServer(provider);
    const clients = await Promise.all(Array.from({ length: 8 }, () => connected(server!.port)));
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < 5; k++) {
          c.send(obsFrame(100 * i + k, [i]));
          const a = actionsOf(binary(await c.next()));
          expect([a[0], a[2 * PROBE_DIM + 1]]).toEqual([i, 100 * i + k]);
        }
        c.close();
      }),
    );
    expect(provider.log.calls).toBe(40);
    expect(provider.log.maxActive).toBe(2);
  });

  it("replay sessions keep separate cursors per connection", async () => {
    const actions = Float32Array.from({ length: 20 }, (_, i) => i); // 20 steps of a 1-D action
    server = await startServer(replayPolicy([{ actions, length: 20, task: "t" }], { horizon: 2, stride: 2 }));
    const [a, b] = await Promise.all([connected(server.port), connected(server.port)]);
    const firsts = async (c: RawClient): Promise<number> => {
      c.send(obsFrame());
      return actionsOf(binary(await c.next()))[0];
    };
    expect([await firsts(a), await firsts(a), await firsts(b), await firsts(a), await firsts(b)]).toEqual([0, 2, 0, 4, 2]);
    a.close();
    b.close();
  });
});
