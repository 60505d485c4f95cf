// Named object colours (a training set and a held-out set) and the scene's visual style per randomisation level.
import { type Rng } from "../rng.ts";

export type Rgb = readonly [number, number, number];

/** Colours that appear in training data (names used in instructions). */
export const TRAIN_COLOURS: Readonly<Record<string, Rgb>> = {
  red: [0.85, 0.12, 0.1],
  green: [0.1, 0.7, 0.2],
  blue: [0.12, 0.3, 0.9],
  yellow: [0.95, 0.85, 0.1],
  orange: [1.0, 0.5, 0.05],
  purple: [0.55, 0.2, 0.75],
};

/** Colours kept out of training, for evaluating generalisation to unseen colour words and hues. */
export const HELDOUT_COLOURS: Readonly<Record<string, Rgb>> = {
  pink: [1.0, 0.45, 0.7],
  cyan: [0.1, 0.85, 0.9],
  brown: [0.5, 0.3, 0.12],
};

/** Which instruction paraphrases and colour names a scene draws from. */
export type Split = "train" | "heldout";

/** "clean": canonical colours, light and camera; "randomised": the RoboTwin 2.0-style jitter of everything. */
export type Level = "clean" | "randomised";
export const LEVELS: readonly Level[] = ["clean", "randomised"];

/** The colour table of a split. */
export function colourTable(split: Split): Readonly<Record<string, Rgb>> {
  return split === "train" ? TRAIN_COLOURS : HELDOUT_COLOURS;
}

/** `count` distinct colour names of the split; the held-out split adds training colours after its own. */
export function pickColours(rng: Rng, split: Split, count: number): string[] {
  const own = rng.shuffle(Object.keys(colourTable(split)));
  const extra = split === "heldout" ? rng.shuffle(Object.keys(TRAIN_COLOURS)) : [];
  const names = [...own, ...extra];
  if (count > names.length) throw new RangeError(`pickColours: ${count} colours requested, ${names.length} available`);
  return names.slice(0, count);
}

/** RGB of a named colour; on the randomised level its brightness and hue are jittered slightly. */
export function colourRgb(name: string, rng: Rng, level: Level): Rgb {
  const base = TRAIN_COLOURS[name] ?? HELDOUT_COLOURS[name];
  if (!base) throw new RangeError(`colourRgb: unknown colour "${name}"`);
  if (level === "clean") return base;
  const gain = rng.uniform(0.85, 1.1);
  return base.map((c) => clamp01(c * gain + rng.uniform(-0.04, 0.04))) as unknown as Rgb;
}

/** Colours and light of the whole scene (table, floor, robot, background, light direction). */
export interface SceneStyle {
  readonly table: Rgb;
  readonly floor: Rgb;
  readonly sky: Rgb;
  readonly robotLink: Rgb;
  readonly robotJoint: Rgb;
  readonly finger: Rgb;
  /** Direction towards the light (world frame, normalised). */
  readonly lightDir: readonly [number, number, number];
  readonly ambient: number;
  readonly diffuse: number;
  /** Standard deviation of per-pixel noise in 0-255 units (0 on the clean level). */
  readonly pixelNoise: number;
}

const CLEAN_STYLE: SceneStyle = {
  table: [0.62, 0.5, 0.38], floor: [0.35, 0.35, 0.37], sky: [0.8, 0.85, 0.9],
  robotLink: [0.88, 0.88, 0.9], robotJoint: [0.25, 0.25, 0.28], finger: [0.15, 0.15, 0.17],
  lightDir: normalize3([0.3, 0.2, 1.0]), ambient: 0.45, diffuse: 0.6, pixelNoise: 0,
};

/** The style for a level: fixed when clean, drawn from `rng` when randomised. */
export function sceneStyle(rng: Rng, level: Level): SceneStyle {
  if (level === "clean") return CLEAN_STYLE;
  const grey = (lo: number, hi: number): Rgb => {
    const v = rng.uniform(lo, hi);
    return [clamp01(v + rng.uniform(-0.06, 0.06)), clamp01(v + rng.uniform(-0.06, 0.06)), clamp01(v + rng.uniform(-0.06, 0.06))];
  };
  return {
    table: grey(0.35, 0.8), floor: grey(0.15, 0.5), sky: grey(0.55, 0.95),
    robotLink: grey(0.7, 0.95), robotJoint: grey(0.1, 0.35), finger: grey(0.08, 0.25),
    lightDir: normalize3([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), 1]),
    ambient: rng.uniform(0.3, 0.55), diffuse: rng.uniform(0.45, 0.75), pixelNoise: rng.uniform(2, 6),
  };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function normalize3(v: [number, number, number]): [number, number, number] {
  const n = Math.hypot(...v);
  return [v[0] / n, v[1] / n, v[2] / n];
}
