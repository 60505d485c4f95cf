// The websocket client: connects with retry, reads the metadata frame, and is a Policy (RemotePolicy).
import { WebSocket, type RawData } from "ws";
import { InternvlaError } from "../tensor/errors.ts";
import { type WireMap, decodeMsgpackNumpy, encodeMsgpackNumpy, DEFAULT_LIMITS } from "./msgpack-numpy.ts";
import { SERVER_NAME, observationToWire, wireToResult } from "./protocol.ts";
import { type Policy, type PolicyMetadata, type PolicyObservation, type PolicyResult } from "./policy.ts";

/** The server answered with an error frame, closed the connection, or could not be reached. */
export class RemotePolicyError extends InternvlaError {}

export interface ConnectOptions {
  /** Sent as `Authorization: Api-Key <key>`. */
  readonly apiKey?: string;
  /** Wait between connection attempts (openpi: 5 s). */
  readonly retryMs?: number;
  /** Give up after this long (default: 5 minutes). */
  readonly timeoutMs?: number;
  /** Largest reply accepted (default 64 MiB). */
  readonly maxFrameBytes?: number;
  /** Called before each wait, e.g. to print "still waiting for the server". */
  readonly onWaiting?: (attempt: number, reason: string) => void;
  /**
   * Mask client frames with a random key as RFC 6455 asks (default false: an all-zero key, which lets both ends
   * skip XOR-ing every payload byte). The mask only protects HTTP proxies from script-crafted frames; a robot
   * talking to its policy server sends no such content. Set true when a proxy sits in between.
   */
  readonly randomMask?: boolean;
}

type Reply = { kind: "binary"; bytes: Uint8Array } | { kind: "text"; text: string } | { kind: "closed"; code: number; reason: string };

/** One open connection, turning the message stream into awaited replies. */
function openSocket(url: string, opts: ConnectOptions): Promise<{ ws: WebSocket; next: () => Promise<Reply> }> {
  const headers = opts.apiKey !== undefined ? { Authorization: `Api-Key ${opts.apiKey}` } : undefined;
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    maxPayload: opts.maxFrameBytes ?? DEFAULT_LIMITS.maxBytes,
    headers,
    ...(opts.randomMask ? {} : { generateMask: (mask: Buffer) => mask.fill(0) }),
  });
  const replies: Reply[] = [];
  const waiters: ((r: Reply) => void)[] = [];
  let closed: Reply | undefined;
  const next = (): Promise<Reply> => {
    const r = replies.shift() ?? closed;
    return r ? Promise.resolve(r) : new Promise((resolve) => waiters.push(resolve));
  };
  ws.on("message", (data: RawData, isBinary: boolean) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const r: Reply = isBinary ? { kind: "binary", bytes: buf } : { kind: "text", text: buf.toString("utf8") };
    const w = waiters.shift();
    if (w) w(r);
    else replies.push(r);
  });
  ws.on("close", (code, reason) => {
    closed = { kind: "closed", code, reason: reason.toString() };
    for (const w of waiters.splice(0)) w(closed);
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.removeAllListeners("unexpected-response");
      resolve({ ws, next });
    });
    ws.once("error", (e) => reject(e));
    ws.once("unexpected-response", (_req, res) => {
      reject(new RemotePolicyError(`${url}: server refused the connection with HTTP ${res.statusCode} ${res.statusMessage ?? ""}`.trim()));
      ws.terminate();
    });
  }).then((v) => {
    ws.on("error", () => {}); // later errors surface as a "closed" reply
    return v as { ws: WebSocket; next: () => Promise<Reply> };
  });
}

function unwrap(r: Reply, where: string, limits = DEFAULT_LIMITS): WireMap {
  if (r.kind === "text") throw new RemotePolicyError(`${where}: error from the policy server:\n${r.text}`);
  if (r.kind === "closed") throw new RemotePolicyError(`${where}: connection closed (code ${r.code}${r.reason ? `, ${r.reason}` : ""})`);
  return decodeMsgpackNumpy(r.bytes, limits) as WireMap;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A policy served over the openpi websocket protocol (ours or any openpi server). One request is in flight at
 * a time; concurrent `infer` calls queue behind each other.
 */
export interface RemotePolicy extends Policy {
  readonly url: string;
  /** Sends any wire dict (e.g. another robot's openpi keys) and returns the decoded reply. */
  inferWire(obs: WireMap): Promise<WireMap>;
  close(): Promise<void>;
}

/** Connects, retrying while the server is not up yet (refused, 503), until `timeoutMs`. */
export async function connectPolicy(url: string, opts: ConnectOptions = {}): Promise<RemotePolicy> {
  const deadline = performance.now() + (opts.timeoutMs ?? 300_000);
  const limits = { ...DEFAULT_LIMITS, maxBytes: opts.maxFrameBytes ?? DEFAULT_LIMITS.maxBytes };
  for (let attempt = 1; ; attempt++) {
    try {
      const { ws, next } = await openSocket(url, opts);
      const metadata = unwrap(await next(), `${url} metadata`, limits) as PolicyMetadata;
      return remotePolicy(url, ws, next, metadata, limits);
    } catch (e) {
      const reason = (e as Error).message;
      const retriable = !(e instanceof RemotePolicyError) || /HTTP 503/.test(reason);
      if (!retriable) throw e;
      const wait = opts.retryMs ?? 5000;
      if (performance.now() + wait > deadline) {
        throw new RemotePolicyError(`${url}: no policy server after ${attempt} attempts (${reason})`, "start one with `internvla serve`");
      }
      opts.onWaiting?.(attempt, reason);
      await sleep(wait);
    }
  }
}

function remotePolicy(url: string, ws: WebSocket, next: () => Promise<Reply>, metadata: PolicyMetadata, limits: typeof DEFAULT_LIMITS): RemotePolicy {
  let chain: Promise<unknown> = Promise.resolve();
  const request = (msg: WireMap, where: string): Promise<WireMap> => {
    const run = async (): Promise<WireMap> => {
      if (ws.readyState !== WebSocket.OPEN) throw new RemotePolicyError(`${where}: connection to ${url} is closed`);
      ws.send(encodeMsgpackNumpy(msg));
      return unwrap(await next(), where, limits);
    };
    const p = chain.then(run, run);
    chain = p.catch(() => {});
    return p;
  };
  const supportsCtrl = metadata.server === SERVER_NAME;
  return {
    url,
    metadata,
    inferWire: (obs) => request(obs, `${url} infer`),
    async infer(obs: PolicyObservation): Promise<PolicyResult> {
      return wireToResult(await request(observationToWire(obs), `${url} infer`));
    },
    async reset(): Promise<void> {
      // Plain openpi servers keep no per-episode state and would treat a control frame as an observation.
      if (supportsCtrl) await request({ __ctrl__: "reset" }, `${url} reset`);
    },
    async close(): Promise<void> {
      if (ws.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.close(1000);
      });
    },
  };
}
