// State/action transforms: delta actions with per-robot masks, mean/std and quantile normalisation, padding.
import { ConfigError } from "../tensor/errors.ts";
import type { FeatureStats } from "./lerobot/stats.ts";
import type { NormMode } from "./types.ts";

/** openpi's make_bool_mask: 6 -> six true, -1 -> one false. */
export function makeBoolMask(...dims: number[]): boolean[] {
  return dims.flatMap((d) => new Array<boolean>(Math.abs(d)).fill(d > 0));
}

/** The official MASK_MAPPING (InternVLA-A1 transforms/constants.py): true = delta, false = absolute (grippers). */
export const MASK_MAPPING: Readonly<Record<string, readonly boolean[]>> = {
  piper: makeBoolMask(6, -1, 6, -1),
  arx_lift2: makeBoolMask(6, -1, 6, -1),
  split_aloha: makeBoolMask(6, -1, 6, -1),
  a2d: makeBoolMask(14, -2),
  genie1: makeBoolMask(14, -2),
  franka: makeBoolMask(7, -1),
  frankarobotiq: makeBoolMask(7, -1),
  aloha: makeBoolMask(6, -1, 6, -1),
  panda: makeBoolMask(7),
};

/** Left arm, left gripper, right arm, right gripper (ARX Lift-2 and Piper share it). */
const ARM_GRIPPER_PAIRS = {
  state: ["states.left_joint.position", "states.left_gripper.position", "states.right_joint.position", "states.right_gripper.position"],
  action: ["actions.left_joint.position", "actions.left_gripper.position", "actions.right_joint.position", "actions.right_gripper.position"],
} as const;

/** The official FEATURE_MAPPING: which features are concatenated into state and action, per robot. */
export const FEATURE_MAPPING: Readonly<Record<string, { readonly state: readonly string[]; readonly action: readonly string[] }>> = {
  a2d: { state: ["observation.states.joint.position", "observation.states.effector.position"], action: ["actions.joint.position", "actions.effector.position"] },
  genie1: {
    state: ["states.left_joint.position", "states.right_joint.position", "states.left_gripper.position", "states.right_gripper.position"],
    action: ["actions.left_joint.position", "actions.right_joint.position", "actions.left_gripper.position", "actions.right_gripper.position"],
  },
  arx_lift2: ARM_GRIPPER_PAIRS,
  piper: ARM_GRIPPER_PAIRS,
  r1lite: {
    state: ["observation.state.left_arm", "observation.state.right_arm", "observation.state.left_gripper", "observation.state.right_gripper"],
    action: ["action.left_arm", "action.right_arm", "action.left_gripper", "action.right_gripper"],
  },
  franka: { state: ["states.joint.position", "states.gripper.position"], action: ["actions.joint.position", "actions.gripper.position"] },
};

/**
 * The delta mask of a robot: the official mapping when the robot is listed, else the rule for other robots:
 * dims whose name contains "gripper" stay absolute, the rest are delta (no names: all delta).
 */
export function deltaMaskFor(robotType: string, actionNames: readonly (string | null)[], actionDim: number): boolean[] {
  const official = MASK_MAPPING[robotType];
  if (official) return [...official];
  return Array.from({ length: actionDim }, (_, j) => !(actionNames[j] ?? "").toLowerCase().includes("gripper"));
}

/**
 * Delta actions (openpi DeltaActions): a[k, j] -= state[j] on the first mask.length dims where mask[j] is
 * true; other dims are untouched. `actions` is [chunk * dim], returns a new array.
 */
export function toDelta(actions: Float32Array, dim: number, state: ArrayLike<number>, mask: readonly boolean[]): Float32Array {
  checkMask(mask, dim, state.length);
  const out = Float32Array.from(actions);
  for (let k = 0; k < actions.length / dim; k++) for (let j = 0; j < mask.length; j++) if (mask[j]) out[k * dim + j] -= state[j];
  return out;
}

/** The inverse of toDelta (openpi AbsoluteActions). */
export function fromDelta(actions: Float32Array, dim: number, state: ArrayLike<number>, mask: readonly boolean[]): Float32Array {
  checkMask(mask, dim, state.length);
  const out = Float32Array.from(actions);
  for (let k = 0; k < actions.length / dim; k++) for (let j = 0; j < mask.length; j++) if (mask[j]) out[k * dim + j] += state[j];
  return out;
}

function checkMask(mask: readonly boolean[], actionDim: number, stateDim: number): void {
  if (mask.length > actionDim) throw new ConfigError(`delta actions: mask has ${mask.length} dims; the action has ${actionDim}`);
  const last = mask.lastIndexOf(true);
  if (last >= stateDim) throw new ConfigError(`delta actions: mask marks dim ${last} as delta; the state has only ${stateDim} dims`, "delta dims must exist in the state vector");
}

/** Per-dim normalisation constants resolved from stats for a mode. */
export interface Normalizer {
  readonly mode: NormMode;
  /** x' = (x - shift) / scale (quantile: then 2x' - 1). */
  readonly shift: Float64Array;
  readonly scale: Float64Array;
}

/**
 * Builds a normaliser: mean_std uses (x - mean) / (std + 1e-6) as the official code; quantile maps
 * [q01, q99] to [-1, 1] as openpi, (x - q01) / (q99 - q01 + 1e-6) * 2 - 1.
 */
export function makeNormalizer(stats: FeatureStats, mode: NormMode, dim: number, where: string): Normalizer {
  if (mode === "none") return { mode, shift: new Float64Array(dim), scale: new Float64Array(dim).fill(1) };
  if (stats.mean.length !== dim) {
    throw new ConfigError(`${where}: stats have ${stats.mean.length} dims; the data has ${dim}`, "recompute the stats (internvla stats) for this dataset and action mode");
  }
  if (mode === "mean_std") return { mode, shift: Float64Array.from(stats.mean), scale: Float64Array.from(stats.std, (s) => s + 1e-6) };
  const q01 = stats.quantiles?.q01;
  const q99 = stats.quantiles?.q99;
  if (!q01 || !q99) throw new ConfigError(`${where}: quantile normalisation needs q01 and q99 in the stats; they are missing`, "recompute the stats with internvla stats");
  return { mode, shift: Float64Array.from(q01), scale: Float64Array.from(q99, (v, j) => v - q01[j] + 1e-6) };
}

/** Normalises rows of `dim` values in place (x is [rows * dim]). */
export function normalize(x: Float32Array, n: Normalizer): Float32Array {
  const d = n.shift.length;
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    const z = (x[i] - n.shift[j]) / n.scale[j];
    x[i] = n.mode === "quantile" ? z * 2 - 1 : z;
  }
  return x;
}

/** The exact inverse of normalize, in place. */
export function unnormalize(x: Float32Array, n: Normalizer): Float32Array {
  const d = n.shift.length;
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    const z = n.mode === "quantile" ? (x[i] + 1) / 2 : x[i];
    x[i] = z * n.scale[j] + n.shift[j];
  }
  return x;
}

/** Zero-pads rows of `dim` values to `maxDim` (x is [rows * dim], returns [rows * maxDim]). */
export function padRows(x: Float32Array, dim: number, maxDim: number, where: string): Float32Array {
  if (dim > maxDim) throw new ConfigError(`${where}: ${dim} dims exceed the model's maximum ${maxDim}`, "raise max_state_dim / max_action_dim or select fewer features");
  const rows = x.length / dim;
  const out = new Float32Array(rows * maxDim);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * dim, (r + 1) * dim), r * maxDim);
  return out;
}

/** Drops the padding again: [rows * maxDim] -> [rows * dim]. */
export function unpadRows(x: Float32Array, dim: number, maxDim: number): Float32Array {
  const rows = x.length / maxDim;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * maxDim, r * maxDim + dim), r * dim);
  return out;
}
