// The openpi-compatible websocket policy server: metadata on connect, msgpack observations in, actions out.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type Duplex } from "node:stream";
import { timingSafeEqual } from "node:crypto";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { ConfigError, InternvlaError } from "../tensor/errors.ts";
import { type DecodeLimits, type WireMap, DEFAULT_LIMITS, ProtocolError, decodeMsgpackNumpy, encodeMsgpackNumpy } from "./msgpack-numpy.ts";
import { type InputFormat, SERVER_NAME, controlOf, parseObservation, resultToWire } from "./protocol.ts";
import { type Policy, type PolicyProvider } from "./policy.ts";

export interface ServerOptions {
  /** Interface to bind (default "0.0.0.0", as openpi). */
  readonly host?: string;
  /** TCP port; 0 picks a free one (default 8000). */
  readonly port?: number;
  /** Largest accepted frame; bigger frames get an error frame and a close (default 64 MiB). */
  readonly maxFrameBytes?: number;
  /** Connections served at once; more are refused with HTTP 503 (default 64). */
  readonly maxClients?: number;
  /** When set, clients must send `Authorization: Api-Key <key>`. */
  readonly apiKey?: string;
  readonly inputFormat?: InputFormat | "auto";
  readonly defaultPrompt?: string;
  /** Inferences run on the example observation before listening (default 2). */
  readonly warmupRuns?: number;
  /** Receives one line per event (connections, errors); library code never prints. */
  readonly log?: (line: string) => void;
}

export interface ServerStats {
  connections: number;
  totalConnections: number;
  requests: number;
  errors: number;
  refused: number;
  warmupMs: number[];
}

/** Text frame then close 1011: openpi's error convention (its client raises on a str reply). */
const ERROR_CLOSE_CODE = 1011;
const ERROR_CLOSE_REASON = "Internal server error. Error message in previous frame.";
/** Requests held per connection while one is being served (reading pauses as soon as one is held). */
const MAX_QUEUED = 4;

/**
 * ws closes a connection itself on receiver errors (oversize frame 1009, bad UTF-8 1007, protocol 1002);
 * this subclass first sends the openpi-style text error frame so the client learns why.
 */
class ExplainingWebSocket extends WebSocket {
  explained = false;
  override close(code?: number, data?: string | Buffer): void {
    if (this.readyState === WebSocket.OPEN && !this.explained && (code === 1002 || code === 1007 || code === 1009)) {
      this.explained = true;
      const why =
        code === 1009 ? "frame exceeds the server's size limit (--max-frame-mb)" :
        code === 1007 ? "text frame is not valid UTF-8" : "websocket protocol violation";
      this.send(`internvla serve: ${why}; send one binary msgpack frame per observation`);
      super.close(ERROR_CLOSE_CODE, ERROR_CLOSE_REASON);
      return;
    }
    super.close(code, data);
  }
}

/** A FIFO gate limiting inferences in flight; waiters are bounded by the number of connections. */
function gate(limit: number): { acquire(): Promise<void>; release(): void } {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    acquire: () =>
      active < limit ? (active++, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve)),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else active--;
    },
  };
}

function keyMatches(header: string | undefined, key: string): boolean {
  const expected = Buffer.from(`Api-Key ${key}`);
  const got = Buffer.from(header ?? "");
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function refuse(socket: Duplex, status: string, body: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export class PolicyServer {
  readonly stats: ServerStats = { connections: 0, totalConnections: 0, requests: 0, errors: 0, refused: 0, warmupMs: [] };
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly limits: DecodeLimits;
  private readonly gate: ReturnType<typeof gate>;
  private readonly log: (line: string) => void;

  private constructor(private readonly provider: PolicyProvider, private readonly opts: ServerOptions) {
    this.log = opts.log ?? (() => {});
    const maxBytes = opts.maxFrameBytes ?? 64 * 1024 * 1024;
    this.limits = { ...DEFAULT_LIMITS, maxBytes };
    this.gate = gate(provider.concurrency ?? 1);
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: maxBytes, WebSocket: ExplainingWebSocket });
    this.http = createServer((req, res) => {
      if (req.method === "GET" && req.url === "/healthz") {
        res.writeHead(200, { "Content-Type": "text/plain" }).end("OK\n");
      } else {
        res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket" }).end("internvla policy server: connect with a websocket client\n");
      }
    });
    this.http.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
    this.http.on("clientError", (_err, socket) => refuse(socket, "400 Bad Request", "bad request\n"));
  }

  /** Warms the policy up, then listens. Resolves once clients can connect. */
  static async start(provider: PolicyProvider, opts: ServerOptions = {}): Promise<PolicyServer> {
    const server = new PolicyServer(provider, opts);
    await server.warmUp(opts.warmupRuns ?? 2);
    const [host, port] = [opts.host ?? "0.0.0.0", opts.port ?? 8000];
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void =>
        reject(new ConfigError(`policy server: cannot listen on ${host}:${port}: ${e.message}`, "pick another --port, or stop the process using it"));
      server.http.once("error", fail);
      server.http.listen(port, host, () => {
        server.http.off("error", fail);
        resolve();
      });
    });
    server.log(`serving on ws://${host}:${server.port} (health: GET /healthz)`);
    return server;
  }

  get port(): number {
    const a = this.http.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** Stops accepting, closes every connection (1001 going away) and frees the provider. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.close(1001, "server shutting down");
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.provider.dispose();
  }

  private async warmUp(runs: number): Promise<void> {
    if (runs < 1) return;
    const session = this.provider.session();
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.infer(this.provider.exampleObservation());
      this.stats.warmupMs.push(performance.now() - t0);
    }
    await session.reset();
    this.log(`warm-up: ${this.stats.warmupMs.map((t) => t.toFixed(1)).join(", ")} ms`);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (this.opts.apiKey !== undefined && !keyMatches(req.headers.authorization, this.opts.apiKey)) {
      this.stats.refused++;
      refuse(socket, "401 Unauthorized", "missing or wrong 'Authorization: Api-Key <key>' header\n");
      return;
    }
    if (this.stats.connections >= (this.opts.maxClients ?? 64)) {
      this.stats.refused++;
      refuse(socket, "503 Service Unavailable", "too many clients; retry later\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws as ExplainingWebSocket, req.socket.remoteAddress ?? "?"));
  }

  /** Sends the openpi error convention (text frame, close 1011); the server itself carries on. */
  private fail(ws: ExplainingWebSocket, peer: string, e: unknown): void {
    this.stats.errors++;
    const msg = e instanceof InternvlaError ? e.message : `internal error: ${(e as Error)?.stack ?? String(e)}`;
    this.log(`${peer}: ${msg.split("\n")[0]}`);
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.explained = true;
    ws.send(`internvla serve: ${msg}`);
    ws.close(ERROR_CLOSE_CODE, ERROR_CLOSE_REASON);
  }

  /** One connection: strictly request/response; a frame arriving while busy pauses reading (back-pressure). */
  private serve(ws: ExplainingWebSocket, peer: string): void {
    this.stats.connections++;
    this.stats.totalConnections++;
    const logError = (e: unknown): void => this.log(`${peer}: internal error: ${(e as Error)?.message ?? String(e)}`);
    let session: Policy | undefined;
    ws.on("error", (err) => this.log(`${peer}: ${err.message}`));
    ws.on("close", () => {
      this.stats.connections--;
      session?.reset().catch(logError);
    });
    try {
      session = this.provider.session();
      ws.send(encodeMsgpackNumpy({ ...(this.provider.metadata as WireMap), server: SERVER_NAME }));
    } catch (e) {
      this.fail(ws, peer, e);
      return;
    }
    const live = session;
    let busy = false;
    const queued: { data: RawData; isBinary: boolean }[] = [];
    let prevTotalMs: number | undefined;
    const handle = async (data: RawData, isBinary: boolean): Promise<void> => {
      busy = true;
      const t0 = performance.now();
      try {
        const reply = await this.respond(live, data, isBinary, prevTotalMs);
        await new Promise<void>((resolve, reject) => ws.send(reply, (err) => (err ? reject(err) : resolve())));
      } catch (e) {
        this.fail(ws, peer, e);
        return;
      }
      prevTotalMs = performance.now() - t0;
      busy = false;
      const next = queued.shift();
      if (next && ws.readyState === WebSocket.OPEN) {
        if (queued.length === 0) ws.resume();
        handle(next.data, next.isBinary).catch(logError);
      }
    };
    ws.on("message", (data, isBinary) => {
      // Frames already parsed when reading paused still arrive; a few are held, a flood is refused.
      if (!busy) handle(data, isBinary).catch(logError);
      else if (queued.length < MAX_QUEUED) {
        queued.push({ data, isBinary });
        ws.pause();
      } else this.fail(ws, peer, new ProtocolError(`more than ${MAX_QUEUED} requests in flight on one connection; wait for each reply`));
    });
  }

  private async respond(session: Policy, data: RawData, isBinary: boolean, prevTotalMs?: number): Promise<Uint8Array> {
    if (!isBinary) throw new ProtocolError("expected a binary msgpack frame, got a text frame");
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    const wire = decodeMsgpackNumpy(bytes, this.limits);
    const ctrl = controlOf(wire);
    if (ctrl !== undefined) return this.control(session, ctrl);
    const obs = parseObservation(wire, { format: this.opts.inputFormat ?? "auto", defaultPrompt: this.opts.defaultPrompt });
    await this.gate.acquire();
    const t0 = performance.now();
    let result;
    try {
      result = await session.infer(obs);
    } finally {
      this.gate.release();
    }
    this.stats.requests++;
    const serverTiming: Record<string, number> = { infer_ms: performance.now() - t0 };
    if (prevTotalMs !== undefined) serverTiming.prev_total_ms = prevTotalMs;
    return encodeMsgpackNumpy(resultToWire({ ...result, serverTiming }));
  }

  private async control(session: Policy, ctrl: string): Promise<Uint8Array> {
    if (ctrl === "reset" || ctrl === "episode_start") await session.reset();
    else if (ctrl !== "episode_end") {
      throw new ProtocolError(`__ctrl__: unknown command "${ctrl}"; expected reset, episode_start or episode_end`);
    }
    return encodeMsgpackNumpy({ __ack__: ctrl });
  }
}
