// Temporal windows as LeRobot builds them: delta_timestamps -> frame offsets, clamped rows and `_is_pad` masks.
import { ConfigError } from "../tensor/errors.ts";

/** A window of rows around one frame, clamped to its episode. */
export interface Window {
  /** Row of each offset, clamped to [episode start, episode end - 1]. */
  readonly rows: Int32Array;
  /** 1 where the unclamped offset fell outside the episode (LeRobot's `<key>_is_pad`). */
  readonly isPad: Uint8Array;
}

/**
 * Converts `delta_timestamps` (seconds) to frame offsets. Each must be a multiple of 1/fps within
 * `toleranceS`, as LeRobot checks.
 */
export function deltaIndices(deltaTimestamps: readonly number[], fps: number, toleranceS: number, key: string): number[] {
  return deltaTimestamps.map((dt) => {
    const k = Math.round(dt * fps);
    if (Math.abs(k / fps - dt) > toleranceS) {
      throw new ConfigError(`delta_timestamps.${key}: ${dt} s is not a multiple of 1/fps = ${(1 / fps).toFixed(6)} s within tolerance ${toleranceS} s`, `use multiples of 1/${fps}`);
    }
    return k;
  });
}

/** The rows of `row + offset` for each offset within the episode [start, end), clamped, with pad flags. */
export function windowRows(start: number, end: number, row: number, offsets: readonly number[]): Window {
  const rows = new Int32Array(offsets.length);
  const isPad = new Uint8Array(offsets.length);
  offsets.forEach((d, i) => {
    const r = row + d;
    isPad[i] = r < start || r >= end ? 1 : 0;
    rows[i] = Math.max(start, Math.min(end - 1, r));
  });
  return { rows, isPad };
}

/** Offsets 0..n-1: the next `n` steps (the action chunk). */
export function chunkOffsets(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
