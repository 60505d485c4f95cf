// ActionChunkBroker: one action per control step from chunked policies; sync (openpi) or async with merging (LeRobot).
import { ConfigError } from "../tensor/errors.ts";
import { type Policy, type PolicyObservation, type PolicyResult, actionAt } from "./policy.ts";

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

export interface ActionChunkBroker {
  /** The action for the current control step (robot units, a copy); queries the policy when needed. */
  next(obs: PolicyObservation): Promise<Float32Array>;
  /** Drops queued actions, waits for a request in flight, resets the step counter and the policy. */
  reset(): Promise<void>;
  readonly stats: BrokerStats;
  /** The control step the next call to `next` serves. */
  readonly step: number;
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

/** Wraps a chunked policy so the robot loop asks for one action per control step. */
export function actionChunkBroker(policy: Policy, opts: BrokerOptions = {}): ActionChunkBroker {
  validate(opts);
  const clock = opts.clock ?? (() => performance.now());
  const mode = opts.mode ?? "sync";
  const oldWeight = opts.oldWeight ?? 0.3;
  const stats: BrokerStats = { requests: 0, stalls: 0, mergedSteps: 0, staleSteps: 0, latenciesMs: [] };
  let step = 0;
  let queue: Float32Array[] = []; // queue[k] is the action for step + k
  let chunkLength = 0;
  let pending: Pending | undefined;
  let stepDelays: number[] = [];

  const inferenceDelay = (): number => {
    const period = opts.controlPeriodMs;
    const worst = period
      ? Math.ceil(Math.max(0, ...stats.latenciesMs) / period)
      : Math.max(0, ...stepDelays);
    return Math.min(worst, queue.length);
  };

  const request = (obs: PolicyObservation): void => {
    const sent: PolicyObservation = { ...obs, step, ...(opts.rtc && queue.length > 0 ? { rtc: rtcRequest() } : {}) };
    const p: Pending = {
      sentStep: step,
      sentAt: clock(),
      promise: policy.infer(sent).then(
        (r) => {
          p.result = r;
          stats.latenciesMs = [...stats.latenciesMs, clock() - p.sentAt].slice(-LATENCY_WINDOW);
        },
        (e) => {
          p.error = e;
        },
      ),
    };
    stats.requests++;
    pending = p;
  };

  const rtcRequest = () => {
    const dim = queue[0].length;
    const prev = new Float32Array(queue.length * dim);
    queue.forEach((a, k) => prev.set(a, k * dim));
    return { prevActions: prev, prevCount: queue.length, inferenceDelay: inferenceDelay() };
  };

  const merge = (p: Pending): void => {
    pending = undefined;
    if (p.error !== undefined) throw p.error;
    const chunk = p.result!.actions;
    const used = Math.min(chunk.horizon, opts.replanSteps ?? chunk.horizon);
    chunkLength = used;
    stepDelays = [...stepDelays, step - p.sentStep].slice(-LATENCY_WINDOW);
    for (let i = 0; i < used; i++) {
      const k = p.sentStep + i - step;
      const fresh = actionAt(chunk, i);
      if (k < 0) stats.staleSteps++;
      else if (k < queue.length) {
        stats.mergedSteps++;
        const old = queue[k];
        queue[k] = opts.merge === "latest_only" ? fresh.slice() : old.map((o, j) => oldWeight * o + (1 - oldWeight) * fresh[j]);
      } else queue.push(fresh.slice());
    }
  };

  const wantsRequest = (): boolean => {
    if (pending) return false;
    if (queue.length === 0) return true;
    return mode === "async" && queue.length <= (opts.threshold ?? 0.5) * chunkLength;
  };

  return {
    stats,
    get step() {
      return step;
    },
    async next(obs: PolicyObservation): Promise<Float32Array> {
      if (pending && (pending.result || pending.error !== undefined)) merge(pending);
      if (wantsRequest()) request(obs);
      while (queue.length === 0) {
        if (!pending) request(obs);
        stats.stalls++;
        const p = pending!;
        await p.promise;
        merge(p);
      }
      const action = queue.shift()!;
      step++;
      return action;
    },
    async reset(): Promise<void> {
      if (pending) await pending.promise;
      pending = undefined;
      queue = [];
      stepDelays = [];
      step = 0;
      await policy.reset();
    },
  };
}
