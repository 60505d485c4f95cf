// The pi0 / LeRobot "cosine decay with warmup" learning-rate schedule, including its auto-rescaling for short runs.
import { ConfigError } from "../tensor/errors.ts";

/** LeRobot `CosineDecayWithWarmupSchedulerConfig` (the schedule Physical Intelligence used for pi0). */
export interface CosineDecayWithWarmupConfig {
  readonly numWarmupSteps: number;
  readonly numDecaySteps: number;
  readonly peakLr: number;
  readonly decayLr: number;
}

export function validateCosineDecayWithWarmup(cfg: CosineDecayWithWarmupConfig, numTrainingSteps: number): void {
  const rules: [string, number, boolean, string][] = [
    ["numWarmupSteps", cfg.numWarmupSteps, Number.isInteger(cfg.numWarmupSteps) && cfg.numWarmupSteps >= 0, "an integer >= 0"],
    ["numDecaySteps", cfg.numDecaySteps, Number.isInteger(cfg.numDecaySteps) && cfg.numDecaySteps > 0, "an integer > 0"],
    ["peakLr", cfg.peakLr, cfg.peakLr > 0 && Number.isFinite(cfg.peakLr), "> 0"],
    ["decayLr", cfg.decayLr, cfg.decayLr >= 0 && Number.isFinite(cfg.decayLr), ">= 0"],
    ["numTrainingSteps", numTrainingSteps, Number.isInteger(numTrainingSteps) && numTrainingSteps > 0, "an integer > 0"],
  ];
  for (const [field, value, ok, rule] of rules) {
    if (!ok) throw new ConfigError(`schedule: ${field} = ${value} must be ${rule}`);
  }
}

/**
 * The warmup and decay lengths actually used: when the run is shorter than numDecaySteps both are scaled by
 * numTrainingSteps / numDecaySteps (warmup truncated to an integer, decay = the run length), as LeRobot does.
 */
export function resolveCosineSchedule(
  cfg: CosineDecayWithWarmupConfig,
  numTrainingSteps: number,
): { warmupSteps: number; decaySteps: number } {
  validateCosineDecayWithWarmup(cfg, numTrainingSteps);
  if (numTrainingSteps >= cfg.numDecaySteps) return { warmupSteps: cfg.numWarmupSteps, decaySteps: cfg.numDecaySteps };
  const scale = numTrainingSteps / cfg.numDecaySteps;
  return { warmupSteps: Math.trunc(cfg.numWarmupSteps * scale), decaySteps: numTrainingSteps };
}

/**
 * lr(step) for step = number of optimizer updates already taken (torch LambdaLR: the first update uses step 0).
 * Warmup rises linearly from peak/(W+1) at step 0 towards peak at step W; from step W on, a cosine measured
 * from step 0 falls to decayLr at the decay length and stays there.
 */
export function cosineDecayWithWarmup(cfg: CosineDecayWithWarmupConfig, numTrainingSteps: number): (step: number) => number {
  const { warmupSteps, decaySteps } = resolveCosineSchedule(cfg, numTrainingSteps);
  const alpha = cfg.decayLr / cfg.peakLr;
  const factor = (step: number): number => {
    if (step < warmupSteps) {
      if (step <= 0) return 1 / (warmupSteps + 1);
      const frac = 1 - step / warmupSteps;
      return (1 / (warmupSteps + 1) - 1) * frac + 1;
    }
    const s = Math.min(step, decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * s) / decaySteps));
    return (1 - alpha) * cosine + alpha;
  };
  return (step) => cfg.peakLr * factor(step);
}
