// Serving benchmark (npm run bench:serve): loopback round trip with 3 x 224 px images, overhead over in-process
// inference, requests/s with 8 concurrent clients, and server memory across 10,000 requests; prints JSON.
// Servers run in child processes (so their memory is their own). Two policies: replay (no model: the figures are
// the serving cost itself) and the tiny InternVLA-A1 preset with random weights and its built-in vocabulary.
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
const MODEL_CALLS = 8;

/** A two-arm replay (14-dim actions, chunk 50) over a 1,000-step episode. */
function replayProvider(): PolicyProvider {
  const length = 1000;
  const actions = Float32Array.from({ length: length * 14 }, (_, i) => Math.sin(i / 50));
  return replayPolicy([{ actions, length, task: "hand the cube over" }], {
    horizon: 50,
    stateDim: 14,
    cameras: Object.fromEntries(CAMERAS.map((c) => [c, { height: SIDE, width: SIDE }])),
  });
}

/** The tiny preset behind the served policy (loaded on demand: it brings in the compute engine). */
async function tinyProvider(): Promise<PolicyProvider> {
  const [{ initEngine, keyFromSeed }, { presetConfig }, { initModel }, { builtinTokenizer }, { modelActionModel }, { modelPolicy }] = await Promise.all([
    import("../src/tensor/index.ts"),
    import("../src/model/config.ts"),
    import("../src/model/params.ts"),
    import("../src/model/tokenizer.ts"),
    import("../src/serve/model-adapter.ts"),
    import("../src/serve/model-policy.ts"),
  ]);
  await initEngine();
  const cfg = presetConfig("tiny");
  const stats = { mean: new Array(14).fill(0), std: new Array(14).fill(1), min: [], max: [], count: 1 };
  const spec = {
    robotType: "dual_arm", stateDim: 14, actionDim: 14, actionMode: "delta" as const,
    deltaMask: [...new Array(6).fill(true), false, ...new Array(6).fill(true), false], normMode: "mean_std" as const,
    cameras: CAMERAS, inferHorizon: cfg.chunk_size, binarizeGrippers: true, frameGap: 15,
  };
  return modelPolicy(modelActionModel(initModel(cfg, keyFromSeed(0)), cfg, builtinTokenizer(cfg.text_config.vocab_size)), spec, { state: stats, action: stats });
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
const stats = (xs: number[]) => ({ p50: round(percentile(xs, 0.5)), p99: round(percentile(xs, 0.99)), n: xs.length });

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
async function child(kind: string): Promise<void> {
  const server = await PolicyServer.start(kind === "tiny" ? await tinyProvider() : replayProvider(), { host: "127.0.0.1", port: 0, warmupRuns: 1 });
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

async function startChild(kind: string): Promise<{ c: ChildProcess; url: string }> {
  const self = fileURLToPath(import.meta.url);
  const runTs = fileURLToPath(new URL("../bin/run-ts.mjs", import.meta.url));
  const c = spawn(process.execPath, ["--expose-gc", runTs, self, "--child", kind], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port } = await new Promise<{ port: number }>((resolve) => c.once("message", (m) => resolve(m as { port: number })));
  return { c, url: `ws://127.0.0.1:${port}` };
}

/** Replay: latency, overhead, throughput with 8 clients, and server memory across 10,000 more requests. */
async function benchReplay(obs: PolicyObservation) {
  const session = replayProvider().session();
  await timeEach(200, () => session.infer(obs));
  const inProcess = await timeEach(2000, () => session.infer(obs));
  const { c, url } = await startChild("replay");
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
  return {
    policy: "replay (14-dim actions, chunk 50); no model: figures are the serving cost",
    round_trip_ms: stats(roundTrip),
    in_process_ms: { p50: round(percentile(inProcess, 0.5), 4), p99: round(percentile(inProcess, 0.99), 4) },
    overhead_p50_ms: round(percentile(roundTrip, 0.5) - percentile(inProcess, 0.5)),
    concurrent: { clients: CLIENTS, requests: CLIENTS * perClient, requests_per_s: round(rps, 1) },
    server_memory_mb: {
      before,
      after_10k_more_requests: after,
      heap_growth_mb: round(after.heapUsedMb - before.heapUsedMb),
      rss_growth_mb: round(after.rssMb - before.rssMb),
    },
  };
}

/** Tiny model: in-process sampling against the same policy served, same observation. */
async function benchTiny(obs: PolicyObservation) {
  const session = (await tinyProvider()).session();
  await session.infer(obs);
  const inProcess = await timeEach(MODEL_CALLS, () => session.infer(obs));
  const { c, url } = await startChild("tiny");
  const policy = await connectPolicy(url);
  await policy.infer(obs);
  const roundTrip = await timeEach(MODEL_CALLS, () => policy.infer(obs));
  await policy.close();
  c.send("stop");
  return {
    policy: "tiny InternVLA-A1 preset, random weights, jax-js eager on CPU (10 Euler steps, chunk 16)",
    round_trip_ms: stats(roundTrip),
    in_process_ms: stats(inProcess),
    overhead_p50_ms: round(percentile(roundTrip, 0.5) - percentile(inProcess, 0.5)),
    note: "the model's own run-to-run spread (hundreds of ms here) hides the ~1 ms serving cost; see replay for it",
  };
}

async function run(): Promise<void> {
  const obs = observation();
  const codec = await timeEach(500, async () => parseObservation(decodeMsgpackNumpy(encodeMsgpackNumpy(observationToWire(obs))), { format: "auto" }));
  const replay = await benchReplay(obs);
  const tiny = await benchTiny(obs);
  const result = {
    bench: "serve",
    payload: `3 x ${SIDE}x${SIDE}x3 uint8 images + 14 floats + prompt (${encodeMsgpackNumpy(observationToWire(obs)).length} bytes/request)`,
    codec_encode_decode_parse_ms_p50: round(percentile(codec, 0.5)),
    overhead_target_ms: 5,
    replay,
    tiny,
    node: process.version,
    note: "measured under load on a shared machine unless stated; re-run with `npm run bench:serve`",
  };
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
  process.exit(0); // the compute engine's worker pool would keep the process alive
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) await child(process.argv[childAt + 1]);
else await run();
