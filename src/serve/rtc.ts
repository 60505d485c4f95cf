// Real-time chunking (RTC): guided inpainting of the frozen prefix during flow sampling, over any velocity v(x_t, t).
//
// Time convention (pi0 / InternVLA-A1): x_t = t * noise + (1 - t) * actions, t = 1 is noise, v = noise - actions,
// Euler from t = 1 with dt = -1/steps. The clean estimate is a_hat = x_t - t * v(x_t, t). Guidance follows
// Black et al., "Real-Time Execution of Action Chunking Flow Policies" (Kinetix code) in this convention:
//   v_guided = v - w(t) * J^T [W * (Y - a_hat)],   J = d a_hat / d x_t (full vector-Jacobian product, jax-js vjp)
// with Y the previous chunk's actions (zero-padded), W the prefix weights, and the clipped guidance weight
//   w = min(c * (t^2 + (1-t)^2) / t^2, beta),  c = t / (1 - t)   (tau = 1 - t in the paper's notation).
// LeRobot's RTCProcessor (policies/rtc/modeling_rtc.py) computes the same, except that its current version
// evaluates v outside the autograd graph, so its J is the identity; ours differentiates through v as the paper does.
import { type Tensor, fromF32, vjp } from "../tensor/index.ts";
import { ConfigError, ShapeError } from "../tensor/errors.ts";

/** How much each step of the previous chunk is trusted (LeRobot RTCAttentionSchedule). */
export type PrefixSchedule = "zeros" | "ones" | "linear" | "exp";

export interface RtcConfig {
  /** Steps of the previous chunk that guide the new one (LeRobot execution_horizon, default 10). */
  readonly executionHorizon: number;
  /** Upper bound on the guidance weight (LeRobot max_guidance_weight, 10 for 10 flow steps). */
  readonly maxGuidanceWeight: number;
  readonly schedule: PrefixSchedule;
}

export const DEFAULT_RTC: RtcConfig = { executionHorizon: 10, maxGuidanceWeight: 10, schedule: "linear" };

/** A velocity field of the flow: x_t [..., H, A] (consumed) and the time t -> v [..., H, A]. */
export type VelocityFn = (xT: Tensor, t: number) => Tensor;

/** What the sampler is guided towards: previous actions Y [..., H, A] and weights W [H, 1] (borrowed). */
export interface Guide {
  readonly target: Tensor;
  readonly weights: Tensor;
  readonly maxGuidanceWeight: number;
}

export function validateRtcConfig(cfg: RtcConfig): void {
  if (!(Number.isInteger(cfg.executionHorizon) && cfg.executionHorizon >= 1)) {
    throw new ConfigError(`rtc.executionHorizon must be an integer >= 1, got ${cfg.executionHorizon}`);
  }
  if (!(cfg.maxGuidanceWeight >= 0 && Number.isFinite(cfg.maxGuidanceWeight))) {
    throw new ConfigError(`rtc.maxGuidanceWeight must be finite and >= 0, got ${cfg.maxGuidanceWeight}`);
  }
  if (!["zeros", "ones", "linear", "exp"].includes(cfg.schedule)) {
    throw new ConfigError(`rtc.schedule must be zeros, ones, linear or exp, got "${cfg.schedule}"`);
  }
}

/**
 * Prefix weights over a chunk of `total` steps: 1 for the first `start` (= inference delay, actions that run
 * before the new chunk arrives), then a ramp down to 0 at `end` (= execution horizon), 0 after
 * (the Kinetix / LeRobot get_prefix_weights rules; `start` is clipped to `end`).
 */
export function prefixWeights(start: number, end: number, total: number, schedule: PrefixSchedule): Float32Array {
  const s = Math.min(start, end);
  const e = Math.min(end, total);
  const w = new Float32Array(total);
  for (let i = 0; i < total; i++) {
    if (schedule === "zeros") w[i] = i < s ? 1 : 0;
    else if (schedule === "ones") w[i] = i < end ? 1 : 0;
    else if (i < s) w[i] = 1;
    else if (i < e) {
      // linspace(1, 0, n + 2)[1:-1] over the n = e - s ramp steps
      const lin = (e - i) / (e - s + 1);
      w[i] = schedule === "linear" ? lin : (lin * Math.expm1(lin)) / (Math.E - 1);
    }
  }
  return w;
}

/** The clipped guidance weight at flow time t (t = 1 noise): min(c * inv_r2, beta), with c = t / (1 - t). */
export function guidanceWeight(t: number, maxWeight: number): number {
  const tau = 1 - t;
  const c = tau === 0 ? maxWeight : (1 - tau) / tau;
  const invR2 = ((1 - tau) ** 2 + tau ** 2) / (1 - tau) ** 2;
  const w = c * invR2;
  return Number.isNaN(w) ? 0 : Math.min(w === Infinity ? maxWeight : w, maxWeight);
}

/** One guided velocity: v(x_t, t) corrected towards the previous chunk's prefix. Consumes xT; borrows the guide. */
export function guidedVelocity(v: VelocityFn, xT: Tensor, t: number, guide: Guide): Tensor {
  const [aHat, pullback, vT] = vjp(
    (x: Tensor): [Tensor, Tensor] => {
      const vt = v(x.ref, t);
      return [x.sub(vt.ref.mul(t)), vt];
    },
    [xT],
    { hasAux: true },
  );
  try {
    const err = guide.target.ref.sub(aHat).mul(guide.weights.ref); // [..., H, A]
    const [correction] = pullback(err);
    return vT.sub(correction.mul(guidanceWeight(t, guide.maxGuidanceWeight)));
  } finally {
    pullback.dispose();
  }
}

/** The times t_k (from 1 down) and the step dt < 0 of an Euler sampler; the model's is flow.ts `eulerSchedule`. */
export interface EulerSchedule {
  readonly times: readonly number[];
  readonly dt: number;
}

/**
 * Euler integration x <- x + dt * v(x, t_k) from x = noise (consumed) at t = 1 over the schedule, guided when
 * `guide` is given. Returns x_0 [..., H, A].
 */
export function eulerSample(v: VelocityFn, noise: Tensor, schedule: EulerSchedule, guide?: Guide): Tensor {
  let x = noise;
  for (const t of schedule.times) {
    const vel = guide ? guidedVelocity(v, x.ref, t, guide) : v(x.ref, t);
    x = x.add(vel.mul(schedule.dt));
  }
  return x;
}

/**
 * Builds the guide for a chunk of `horizon` x `actionDim` from the previous chunk's remaining actions
 * `prev` [prevCount, prevDim] (model space: normalised, delta where the model uses deltas). Y is zero-padded to
 * the chunk (LeRobot pads the same way); the execution horizon is capped at prevCount. Caller disposes both tensors.
 */
export function rtcGuide(
  prev: Float32Array, prevCount: number, horizon: number, actionDim: number, inferenceDelay: number, cfg: RtcConfig,
): Guide {
  validateRtcConfig(cfg);
  const prevDim = prevCount > 0 ? prev.length / prevCount : 0;
  if (!Number.isInteger(prevDim) || prevDim > actionDim || prevCount > horizon) {
    throw new ShapeError(
      `rtcGuide: previous actions [${prevCount}, ${prevDim}] must fit the chunk [${horizon}, ${actionDim}] (${prev.length} values given)`,
    );
  }
  const y = new Float32Array(horizon * actionDim);
  for (let i = 0; i < prevCount; i++) y.set(prev.subarray(i * prevDim, (i + 1) * prevDim), i * actionDim);
  const end = Math.min(cfg.executionHorizon, prevCount);
  const w = prefixWeights(inferenceDelay, end, horizon, cfg.schedule);
  return {
    target: fromF32(y, [horizon, actionDim]),
    weights: fromF32(w, [horizon, 1]),
    maxGuidanceWeight: cfg.maxGuidanceWeight,
  };
}

/** Frees a guide's tensors. */
export function disposeGuide(g: Guide): void {
  g.target.dispose();
  g.weights.dispose();
}
