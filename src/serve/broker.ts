// ActionChunkBroker: one action per control step from chunked policies; sync (openpi) or async with merging (LeRobot).
import { ConfigError, ShapeError } from "../tensor/errors.ts";
import { type Policy, type PolicyObservation, type PolicyResult, type RtcRequest, actionAt } from "./policy.ts";

/**
 * How an early chunk is merged with the actions still queued for the same steps (LeRobot async inference):
 * weighted_average = oldWeight * old + (1 - oldWeight) * new (LeRobot: 0.3 / 0.7); latest_only = new replaces old.
 */
export type MergeMode = "weighted_average" | "latest_only";

export interface BrokerOptions {
  /** sync: query when the queue is used up (openpi); async: query early, keep acting, merge overlaps (default sync). */
  readonly mode?: "sync" | "async";
  /** Actions used from each chunk before re-planning (openpi LIBERO replan_steps = 5). Default: the whole chunk. */
  readonly replanSteps?: number;
  /** async: request the next chunk once queued actions <= threshold * chunk length (LeRobot default 0.5). */
  readonly threshold?: number;
  readonly merge?: MergeMode;
  /** weighted_average: weight of the already queued action (default 0.3). */
  readonly oldWeight?: number;
  /** async: send the queued actions and the expected delay so the server guides the new chunk (rtc.ts). */
  readonly rtc?: boolean;
  /** Milliseconds clock; injectable so tests can use a fake one (default performance.now). */
  readonly clock?: () => number;
  /** Control period in ms (1000 / fps): turns measured latency into an inference delay in steps for RTC. */
  readonly controlPeriodMs?: number;
}

export interface BrokerStats {
  /** Chunks requested. */
  requests: number;
  /** Control steps that waited for a reply because the queue was empty. */
  stalls: number;
  /** Queued steps merged with a newer chunk. */
  mergedSteps: number;
  /** Actions of arriving chunks that were already in the past. */
  staleSteps: number;
  /** Round-trip times of the last requests, ms, by the broker's clock. */
  latenciesMs: number[];
}

interface Pending {
  readonly sentStep: number;
  readonly sentAt: number;
  readonly promise: Promise<void>;
  result?: PolicyResult;
  error?: unknown;
}

const LATENCY_WINDOW = 10;

function validate(o: BrokerOptions): void {
  if (o.replanSteps !== undefined && !(Number.isInteger(o.replanSteps) && o.replanSteps >= 1)) {
    throw new ConfigError(`broker: replanSteps must be an integer >= 1, got ${o.replanSteps}`);
  }
  if (o.threshold !== undefined && !(o.threshold >= 0 && o.threshold <= 1)) {
    throw new ConfigError(`broker: threshold must be in [0, 1], got ${o.threshold}`);
  }
  if (o.oldWeight !== undefined && !(o.oldWeight >= 0 && o.oldWeight <= 1)) {
    throw new ConfigError(`broker: oldWeight must be in [0, 1], got ${o.oldWeight}`);
  }
  if (o.rtc && o.mode !== "async") throw new ConfigError("broker: rtc needs mode async (it guides a chunk requested early)");
}

/**
 * Wraps a chunked policy so the robot loop asks for one action per control step. A resource bound to one
 * policy connection: it owns the action queue and the request in flight.
 */
export class ActionChunkBroker {
  readonly stats: BrokerStats = { requests: 0, stalls: 0, mergedSteps: 0, staleSteps: 0, latenciesMs: [] };
  private readonly clock: () => number;
  private stepNow = 0;
  private queue: Float32Array[] = []; // queue[k] is the action for step + k
  private chunkLength = 0;
  private pending: Pending | undefined;
  private stepDelays: number[] = [];

  constructor(private readonly policy: Policy, private readonly opts: BrokerOptions = {}) {
    validate(opts);
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** The control step the next call to `next` serves. */
  get step(): number {
    return this.stepNow;
  }

  /** The action for the current control step (robot units, a copy); queries the policy when needed. */
  async next(obs: PolicyObservation): Promise<Float32Array> {
    if (this.pending && (this.pending.result || this.pending.error !== undefined)) this.merge(this.pending);
    if (this.wantsRequest()) this.request(obs);
    while (this.queue.length === 0) {
      if (!this.pending) this.request(obs);
      this.stats.stalls++;
      const p = this.pending!;
      await p.promise;
      this.merge(p);
    }
    this.stepNow++;
    return this.queue.shift()!;
  }

  /** Drops queued actions, waits for a request in flight, resets the step counter and the policy. */
  async reset(): Promise<void> {
    if (this.pending) await this.pending.promise;
    this.pending = undefined;
    this.queue = [];
    this.stepDelays = [];
    this.stepNow = 0;
    await this.policy.reset();
  }

  private wantsRequest(): boolean {
    if (this.pending) return false;
    if (this.queue.length === 0) return true;
    return this.opts.mode === "async" && this.queue.length <= (this.opts.threshold ?? 0.5) * this.chunkLength;
  }

  /** Expected steps until a new chunk arrives: measured latency over the control period, else observed steps. */
  private inferenceDelay(): number {
    const period = this.opts.controlPeriodMs;
    const worst = period ? Math.ceil(Math.max(0, ...this.stats.latenciesMs) / period) : Math.max(0, ...this.stepDelays);
    return Math.min(worst, this.queue.length);
  }

  private request(obs: PolicyObservation): void {
    const rtc = this.opts.rtc && this.queue.length > 0 ? this.rtcRequest() : undefined;
    const p: Pending = {
      sentStep: this.stepNow,
      sentAt: this.clock(),
      promise: this.policy.infer({ ...obs, step: this.stepNow, ...(rtc ? { rtc } : {}) }).then(
        (r) => {
          p.result = r;
          this.stats.latenciesMs = [...this.stats.latenciesMs, this.clock() - p.sentAt].slice(-LATENCY_WINDOW);
        },
        (e: unknown) => {
          p.error = e;
        },
      ),
    };
    this.stats.requests++;
    this.pending = p;
  }

  private rtcRequest(): RtcRequest {
    const dim = this.queue[0].length;
    const prev = new Float32Array(this.queue.length * dim);
    this.queue.forEach((a, k) => prev.set(a, k * dim));
    return { prevActions: prev, prevCount: this.queue.length, inferenceDelay: this.inferenceDelay() };
  }

  /** Aligns chunk action i with step sentStep + i: past steps are dropped, queued steps merged, the rest appended. */
  private merge(p: Pending): void {
    this.pending = undefined;
    if (p.error !== undefined) throw p.error;
    const chunk = p.result!.actions;
    if (chunk.horizon < 1) throw new ShapeError("broker: the policy returned an empty action chunk");
    const used = Math.min(chunk.horizon, this.opts.replanSteps ?? chunk.horizon);
    const w = this.opts.oldWeight ?? 0.3;
    this.chunkLength = used;
    this.stepDelays = [...this.stepDelays, this.stepNow - p.sentStep].slice(-LATENCY_WINDOW);
    for (let i = 0; i < used; i++) {
      const k = p.sentStep + i - this.stepNow;
      const fresh = actionAt(chunk, i);
      if (k < 0) this.stats.staleSteps++;
      else if (k < this.queue.length) {
        this.stats.mergedSteps++;
        const old = this.queue[k];
        this.queue[k] = this.opts.merge === "latest_only" ? fresh.slice() : old.map((o, j) => w * o + (1 - w) * fresh[j]);
      } else this.queue.push(fresh.slice());
    }
  }
}
