// Serving benchmark (npm run bench:serve): loopback round trip with 3 x 224 px images, overhead over in-process
// inference, requests/s with 8 concurrent clients, and server memory across 10,000 requests; prints JSON.
// The server runs in a child process (so its memory is its own) and serves the replay policy: no model is needed,
// which makes every figure the serving overhead itself.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectPolicy, type RemotePolicy } from "../src/serve/client.ts";
import { decodeMsgpackNumpy, encodeMsgpackNumpy } from "../src/serve/msgpack-numpy.ts";
import { observationToWire, parseObservation } from "../src/serve/protocol.ts";
import { type PolicyObservation, type PolicyProvider } from "../src/serve/policy.ts";
import { replayPolicy } from "../src/serve/replay.ts";
import { PolicyServer } from "../src/serve/server.ts";

const SIDE = 224;
const CAMERAS = ["top", "left_wrist", "right_wrist"];
const CLIENTS = 8;
const MEMORY_REQUESTS = 10_000;

/** A two-arm replay (14-dim actions, chunk 50) over a 1,000-step episode. */
function provider(): PolicyProvider {
  const length = 1000;
  const actions = Float32Array.from({ length: length * 14 }, (_, i) => Math.sin(i / 50));
  return replayPolicy([{ actions, length, task: "hand the cube over" }], {
    horizon: 50,
    stateDim: 14,
    cameras: Object.fromEntries(CAMERAS.map((c) => [c, { height: SIDE, width: SIDE }])),
  });
}

function observation(): PolicyObservation {
  const images = Object.fromEntries(
    CAMERAS.map((c, k) => [c, { data: Uint8Array.from({ length: SIDE * SIDE * 3 }, (_, i) => (i * (k + 3)) & 255), height: SIDE, width: SIDE }]),
  );
  return { images, state: new Float32Array(14).fill(0.1), prompt: "hand the cube over", step: 0 };
}

const percentile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const round = (x: number, d = 3): number => Number(x.toFixed(d));

async function timeEach(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Child mode: serve, report the port, answer memory requests (after a full GC) over IPC. */
async function child(): Promise<void> {
  const server = await PolicyServer.start(provider(), { host: "127.0.0.1", port: 0 });
  process.on("message", (m) => {
    if (m === "memory") {
      (globalThis as { gc?: () => void }).gc?.();
      const u = process.memoryUsage();
      process.send!({ rssMb: u.rss / 2 ** 20, heapUsedMb: u.heapUsed / 2 ** 20, externalMb: u.external / 2 ** 20, requests: server.stats.requests });
    } else if (m === "stop") void server.close().then(() => process.exit(0));
  });
  process.send!({ port: server.port });
}

function ask<T>(c: ChildProcess, msg: string): Promise<T> {
  return new Promise((resolve) => {
    c.once("message", (m) => resolve(m as T));
    c.send(msg);
  });
}

async function run(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const runTs = fileURLToPath(new URL("../bin/run-ts.mjs", import.meta.url));
  const c = spawn(process.execPath, ["--expose-gc", runTs, self, "--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port } = await new Promise<{ port: number }>((resolve) => c.once("message", (m) => resolve(m as { port: number })));
  const obs = observation();

  // In-process: the same policy without the wire, and the codec alone.
  const session = provider().session();
  await timeEach(200, () => session.infer(obs));
  const inProcess = await timeEach(2000, () => session.infer(obs));
  const codec = await timeEach(500, async () => parseObservation(decodeMsgpackNumpy(encodeMsgpackNumpy(observationToWire(obs))), { format: "auto" }));

  const url = `ws://127.0.0.1:${port}`;
  const one = await connectPolicy(url);
  await timeEach(200, () => one.infer(obs));
  const roundTrip = await timeEach(2000, () => one.infer(obs));

  const clients: RemotePolicy[] = await Promise.all(Array.from({ length: CLIENTS }, () => connectPolicy(url)));
  const perClient = 250;
  const t0 = performance.now();
  await Promise.all(clients.map((p) => timeEach(perClient, () => p.infer(obs))));
  const rps = (CLIENTS * perClient) / ((performance.now() - t0) / 1000);

  const before = await ask<Record<string, number>>(c, "memory");
  await Promise.all(clients.map((p) => timeEach(MEMORY_REQUESTS / CLIENTS, () => p.infer(obs))));
  const after = await ask<Record<string, number>>(c, "memory");

  await Promise.all([one, ...clients].map((p) => p.close()));
  c.send("stop");
  const p50 = percentile(roundTrip, 0.5);
  const inP50 = percentile(inProcess, 0.5);
  process.stdout.write(
    JSON.stringify(
      {
        bench: "serve",
        policy: "replay (14-dim actions, chunk 50); no model: figures are the serving cost",
        payload: `3 x ${SIDE}x${SIDE}x3 uint8 images + 14 floats + prompt (${encodeMsgpackNumpy(observationToWire(obs)).length} bytes/request)`,
        round_trip_ms: { p50: round(p50), p99: round(percentile(roundTrip, 0.99)), n: roundTrip.length },
        in_process_ms: { p50: round(inP50, 4), p99: round(percentile(inProcess, 0.99), 4) },
        overhead_p50_ms: round(p50 - inP50),
        overhead_target_ms: 5,
        codec_encode_decode_parse_ms_p50: round(percentile(codec, 0.5)),
        concurrent: { clients: CLIENTS, requests: CLIENTS * perClient, requests_per_s: round(rps, 1) },
        server_memory_mb: {
          before: before,
          after_10k_more_requests: after,
          heap_growth_mb: round(after.heapUsedMb - before.heapUsedMb),
          rss_growth_mb: round(after.rssMb - before.rssMb),
        },
        node: process.version,
        note: "measured under load on a shared machine unless stated; re-run with `npm run bench:serve`",
      },
      null,
      1,
    ) + "\n",
  );
}

if (process.argv.includes("--child")) await child();
else await run();
