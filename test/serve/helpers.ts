// Test helpers for serving: a probe policy whose actions reveal what it received, servers, raw websocket clients.
import { WebSocket } from "ws";
import { PolicyServer, type ServerOptions } from "../../src/serve/server.ts";
import {
  type Policy, type PolicyObservation, type PolicyProvider, actionChunk, greyImage,
} from "../../src/serve/policy.ts";

export const PROBE_DIM = 16;

/**
 * Actions [3, 16]: row 0 = state; row 1 = per camera (sorted by name) height, width, mean byte, first pixel RGB;
 * row 2 = prompt length, step (or -1), camera count, rtc delay (or -1), rtc prevCount (or -1).
 * scripts/ref/openpi_client.py recomputes the same from what it sent.
 */
export function probeActions(obs: PolicyObservation): Float32Array {
  const out = new Float32Array(3 * PROBE_DIM);
  out.set(obs.state.subarray(0, PROBE_DIM));
  const stats: number[] = [];
  for (const name of Object.keys(obs.images).sort()) {
    const im = obs.images[name];
    let sum = 0;
    for (const b of im.data) sum += b;
    stats.push(im.height, im.width, sum / im.data.length, im.data[0], im.data[1], im.data[2]);
  }
  out.set(stats.slice(0, PROBE_DIM), PROBE_DIM);
  out.set([obs.prompt.length, obs.step ?? -1, Object.keys(obs.images).length, obs.rtc?.inferenceDelay ?? -1, obs.rtc?.prevCount ?? -1], 2 * PROBE_DIM);
  return out;
}

export interface ProbeLog {
  active: number;
  maxActive: number;
  calls: number;
  resets: number;
}

/** A provider of probe sessions; `delayMs` makes each inference take that long (to test queuing). */
export function probeProvider(opts: { delayMs?: number; concurrency?: number; fail?: (obs: PolicyObservation) => boolean } = {}): PolicyProvider & { log: ProbeLog } {
  const log: ProbeLog = { active: 0, maxActive: 0, calls: 0, resets: 0 };
  const metadata = { policy: "probe", action_horizon: 3, action_dim: PROBE_DIM };
  const session = (): Policy => ({
    metadata,
    async infer(obs) {
      log.calls++;
      log.active++;
      log.maxActive = Math.max(log.maxActive, log.active);
      try {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        if (opts.fail?.(obs)) throw new Error("probe failure requested by the test");
        return { actions: actionChunk(probeActions(obs), 3, PROBE_DIM), policyTiming: { infer_ms: 0 } };
      } finally {
        log.active--;
      }
    },
    async reset() {
      log.resets++;
    },
  });
  return {
    log,
    metadata,
    session,
    concurrency: opts.concurrency ?? 1,
    exampleObservation: () => ({ images: { top: greyImage(8, 8) }, state: new Float32Array(4), prompt: "warm up" }),
    dispose: () => {},
  };
}

/** A server on 127.0.0.1 with a free port and no warm-up unless asked. */
export function startServer(provider: PolicyProvider, opts: ServerOptions = {}): Promise<PolicyServer> {
  return PolicyServer.start(provider, { host: "127.0.0.1", port: 0, warmupRuns: 0, ...opts });
}

export type RawEvent = { kind: "binary"; bytes: Buffer } | { kind: "text"; text: string } | { kind: "close"; code: number; reason: string };

/** A bare websocket client that records every event in order (for protocol-level tests). */
export interface RawClient {
  readonly ws: WebSocket;
  next(): Promise<RawEvent>;
  send(data: Uint8Array | string): void;
  close(): void;
}

export function rawClient(port: number, headers?: Record<string, string>): Promise<RawClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, headers, maxPayload: 0 });
  const events: RawEvent[] = [];
  const waiters: ((e: RawEvent) => void)[] = [];
  let closed: RawEvent | undefined;
  const push = (e: RawEvent): void => {
    const w = waiters.shift();
    if (w) w(e);
    else events.push(e);
  };
  ws.on("message", (d, isBinary) => {
    const buf = Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d as ArrayBuffer);
    push(isBinary ? { kind: "binary", bytes: buf } : { kind: "text", text: buf.toString() });
  });
  ws.on("close", (code, reason) => {
    closed = { kind: "close", code, reason: reason.toString() };
    push(closed);
    for (const w of waiters.splice(0)) w(closed);
  });
  ws.on("error", () => {});
  return new Promise((resolve, reject) => {
    ws.once("open", () =>
      resolve({
        ws,
        next: () => {
          const e = events.shift() ?? closed;
          return e ? Promise.resolve(e) : new Promise((r) => waiters.push(r));
        },
        send: (data) => ws.send(data),
        close: () => ws.close(),
      }),
    );
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}
