// Flow matching (pi0 convention): time t = 1 is pure noise, x_t = t*noise + (1-t)*actions, target noise - actions.
//
// The paper writes the opposite sign; the official code (and so this port) uses the pi0 convention above, and
// integrates from t = 1 to 0 with Euler steps dt = -1/steps.
import { fromF32, np, random, splitKey, type Key, type Tensor } from "../tensor/index.ts";
import { ConfigError } from "../tensor/errors.ts";
import { type ModelConfig } from "./config.ts";

/** Splits a float64 constant into float32 high and low parts (hi + lo ~ value to ~2^-48 relative). */
function splitF32(value: number): [number, number] {
  const hi = Math.fround(value);
  return [hi, Math.fround(value - hi)];
}

/** Veltkamp split of a float32 constant into two halves of 12 significant bits (products of halves are exact). */
function veltkamp(value: number): [number, number] {
  const c = Math.fround(4097 * value);
  const hi = Math.fround(c - Math.fround(c - value));
  return [hi, Math.fround(value - hi)];
}

/**
 * create_sinusoidal_pos_embedding(time, dim, min_period, max_period): [sin(2 pi t / p_j), cos(2 pi t / p_j)],
 * p_j = min * (max/min)^(j/(dim/2-1)). The official code computes it in float64; the engine has no accurate
 * float64, and a plain float32 product t/p_j is off by up to ~1e-4 rad at p = 4e-3. So the number of periods
 * c = t * f_j (f_j = 1/p_j) is formed exactly in float32 arithmetic (Dekker two-product with f_j split into
 * float32 hi + lo), its integer part dropped, and only the fraction (|r| <= 1/2) goes through sin/cos.
 * time f32 [B] -> [B, dim]. Consumes `time`.
 */
export function timeEmbedding(time: Tensor, dim: number, minPeriod: number, maxPeriod: number): Tensor {
  const half = dim / 2;
  const fh = new Float32Array(half);
  const fl = new Float32Array(half);
  const fhHi = new Float32Array(half);
  const fhLo = new Float32Array(half);
  for (let j = 0; j < half; j++) {
    const fraction = half === 1 ? 0 : j / (half - 1);
    const period = minPeriod * (maxPeriod / minPeriod) ** fraction;
    [fh[j], fl[j]] = splitF32(1 / period);
    [fhHi[j], fhLo[j]] = veltkamp(fh[j]);
  }
  const [b] = time.shape;
  const row = (a: Float32Array) => fromF32(a, [1, half]);
  const t = time.reshape([b, 1]);
  const scaled = t.ref.mul(4097);
  const tHi = scaled.ref.sub(scaled.sub(t.ref)); // Veltkamp split of t
  const tLo = t.ref.sub(tHi.ref);
  const p = t.ref.mul(row(fh)); // [B, half]
  const err = tHi.ref.mul(row(fhHi)).sub(p.ref).add(tHi.mul(row(fhLo))).add(tLo.ref.mul(row(fhHi))).add(tLo.mul(row(fhLo)));
  const whole = np.round(p.ref);
  const frac = p.sub(whole).add(err.add(t.mul(row(fl)))); // c - round(c), |.| <= 1/2 + tiny
  const angle = frac.mul(2 * Math.PI);
  return np.concatenate([np.sin(angle.ref), np.cos(angle)], 1);
}

/** The noisy actions and the regression target: x_t = t*noise + (1-t)*actions, u = noise - actions. Consumes all. */
export function interpolate(actions: Tensor, noise: Tensor, time: Tensor): { xT: Tensor; target: Tensor } {
  const [b] = time.shape;
  const t = time.reshape([b, 1, 1]);
  const xT = t.ref.mul(noise.ref).add(t.neg().add(1).mul(actions.ref));
  return { xT, target: noise.sub(actions) };
}

/**
 * t ~ Beta(alpha, beta) * scale + offset (official: Beta(1.5, 1) * 0.999 + 0.001, skewed toward t = 1).
 * Beta(alpha, 1) is sampled exactly as U^(1/alpha); other betas are refused (the engine has no gamma sampler).
 * Consumes `key`.
 */
export function sampleTime(key: Key, batch: number, cfg: ModelConfig): Tensor /* f32 [B] */ {
  if (cfg.time_sampling_beta_beta !== 1) {
    key.dispose();
    throw new ConfigError(
      `sampleTime: time_sampling_beta_beta = ${cfg.time_sampling_beta_beta}; only Beta(alpha, 1) is supported (the official value is 1)`,
    );
  }
  const u = random.uniform(key, [batch]);
  return np.power(u, 1 / cfg.time_sampling_beta_alpha).mul(cfg.time_sampling_scale).add(cfg.time_sampling_offset);
}

/** Standard normal noise [B, chunk, max_action_dim] and a training time [B] from one key. Consumes `key`. */
export function sampleNoiseAndTime(key: Key, batch: number, cfg: ModelConfig): { noise: Tensor; time: Tensor } {
  const [kn, kt] = splitKey(key, 2);
  return { noise: random.normal(kn, [batch, cfg.chunk_size, cfg.max_action_dim]), time: sampleTime(kt, batch, cfg) };
}

/**
 * The Euler schedule of the official sampler, in float32 as torch runs it: t starts at 1, dt = -1/steps, and
 * the loop runs while t >= -dt/2 (so exactly `steps` steps). Returns the times t_k and dt (float32 values).
 */
export function eulerSchedule(steps: number): { times: number[]; dt: number } {
  const dt = Math.fround(-1 / steps);
  const times: number[] = [];
  for (let t = 1; t >= -dt / 2; t = Math.fround(t + dt)) times.push(t);
  return { times, dt };
}
