// Per-dataset configuration resolved against an open dataset: state/action keys, camera slots, delta mask.
import { ConfigError } from "../tensor/errors.ts";
import type { LeRobotDataset } from "./lerobot/dataset.ts";
import { FEATURE_MAPPING, deltaMaskFor } from "./transforms.ts";

/** How one dataset feeds the policy; every field is optional and has a documented default. */
export interface SourceConfig {
  readonly root: string;
  /** A short name for reports (default: the folder name). */
  readonly name?: string;
  /** Overrides info.json's robot_type (it keys the normalisation stats and the delta mask). */
  readonly robotType?: string;
  /**
   * Features concatenated into the state (default: FEATURE_MAPPING for the robot, else ["observation.state"]).
   * A selector may take a dim range, "observation.state[0:13]", or a GR00T modality part, "state.left_arm".
   */
  readonly stateKeys?: readonly string[];
  /** Features concatenated into the action (default: FEATURE_MAPPING for the robot, else ["action"]); selectors as above. */
  readonly actionKeys?: readonly string[];
  /** Camera feature per slot [top/head, left or only wrist, right wrist]; null leaves a slot empty. */
  readonly cameras?: readonly (string | null)[];
  /** true = delta dim (default: MASK_MAPPING, else "gripper" dims absolute). */
  readonly deltaMask?: readonly boolean[];
}

/** A source with every default applied and checked against the dataset. */
export interface ResolvedSource {
  readonly name: string;
  readonly robotType: string;
  readonly state: readonly FeatureSlice[];
  readonly action: readonly FeatureSlice[];
  readonly stateDim: number;
  readonly actionDim: number;
  /** Camera key per slot, or null. */
  readonly cameras: readonly (string | null)[];
  readonly deltaMask: readonly boolean[];
}

/** A contiguous range of one feature's dims; `selector` is how the config named it. */
export interface FeatureSlice {
  readonly selector: string;
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

/** GR00T's meta/modality.json parts ({state|action: {part: {start, end}}}), when the dataset has one. */
function modalityParts(ds: LeRobotDataset): Record<string, { start: number; end: number }> {
  const m = ds.modality;
  const out: Record<string, { start: number; end: number }> = {};
  for (const group of ["state", "action"] as const) {
    for (const [part, r] of Object.entries(m?.[group] ?? {})) out[`${group}.${part}`] = r;
  }
  return out;
}

/** Parses "key", "key[a:b]" or a modality part "state.left_arm" against the dataset's numeric features. */
export function parseSelector(sel: string, ds: LeRobotDataset, role: string): FeatureSlice {
  const parts = modalityParts(ds);
  const m = /^(.+)\[(\d+):(\d+)\]$/.exec(sel);
  const part = parts[sel];
  const key = part ? (sel.startsWith("state.") ? "observation.state" : "action") : m ? m[1] : sel;
  if (!ds.vectorKeys.includes(key)) {
    throw new ConfigError(`${ds.root}: ${role} feature "${key}" not found; numeric features are ${ds.vectorKeys.join(", ")}`, `set ${role}Keys for this dataset`);
  }
  const dim = ds.vector(key).dim;
  const [from, to] = part ? [part.start, part.end] : m ? [Number(m[2]), Number(m[3])] : [0, dim];
  if (!(from >= 0 && from < to && to <= dim)) throw new ConfigError(`${ds.root}: ${role} selector "${sel}" selects dims ${from}:${to}; "${key}" has ${dim}`);
  return { selector: sel, key, from, to };
}

/** The official IMAGE_MAPPING (camera key -> slot) for known robots. */
const IMAGE_MAPPING: Readonly<Record<string, readonly (string | null)[]>> = {
  aloha: ["observation.images.cam_high", "observation.images.cam_left_wrist", "observation.images.cam_right_wrist"],
  a2d: ["observation.images.head", "observation.images.hand_left", "observation.images.hand_right"],
  genie1: ["images.rgb.head", "images.rgb.hand_left", "images.rgb.hand_right"],
  arx_lift2: ["images.rgb.head", "images.rgb.hand_left", "images.rgb.hand_right"],
  piper: ["images.rgb.head", "images.rgb.hand_left", "images.rgb.hand_right"],
  franka: ["images.rgb.head", "images.rgb.hand", null],
  r1lite: ["observation.images.head_rgb", "observation.images.left_wrist_rgb", "observation.images.right_wrist_rgb"],
  panda: ["observation.images.image", "observation.images.image2", null],
};

/** Our defaults for other datasets: slot 0 top, slot 1 wrist or left wrist, slot 2 right wrist. */
const DEFAULT_SLOTS: readonly (readonly string[])[] = [
  ["observation.images.top", "observation.image"],
  ["observation.images.wrist", "observation.images.left_wrist"],
  ["observation.images.right_wrist"],
];

function defaultCameras(robotType: string, available: readonly string[], views: number): (string | null)[] {
  const official = IMAGE_MAPPING[robotType];
  const pick = official
    ? official.map((k) => (k && available.includes(k) ? k : null))
    : DEFAULT_SLOTS.map((keys) => keys.find((k) => available.includes(k)) ?? null);
  const slots = pick.slice(0, views);
  while (slots.length < views) slots.push(null);
  if (slots[0] === null) slots[0] = available.find((k) => !slots.includes(k)) ?? null;
  return slots;
}

/** Resolves a source's defaults against the opened dataset; errors name the dataset and the bad key. */
export function resolveSource(cfg: SourceConfig, ds: LeRobotDataset, views: number): ResolvedSource {
  const robotType = cfg.robotType ?? ds.robotType;
  const mapped = FEATURE_MAPPING[robotType];
  const stateKeys = cfg.stateKeys ?? mapped?.state ?? ["observation.state"];
  const actionKeys = cfg.actionKeys ?? mapped?.action ?? ["action"];
  const state = stateKeys.map((k) => parseSelector(k, ds, "state"));
  const action = actionKeys.map((k) => parseSelector(k, ds, "action"));
  const stateDim = state.reduce((n, f) => n + f.to - f.from, 0);
  const actionDim = action.reduce((n, f) => n + f.to - f.from, 0);
  const cameras = cfg.cameras ? [...cfg.cameras] : defaultCameras(robotType, ds.cameras, views);
  if (cameras.length > views) throw new ConfigError(`${ds.root}: ${cameras.length} camera slots given; the model has ${views}`);
  while (cameras.length < views) cameras.push(null);
  for (const c of cameras) {
    if (c !== null && !(c in ds.info.features)) {
      throw new ConfigError(`${ds.root}: camera "${c}" is not a feature; cameras are ${ds.cameras.join(", ") || "none"}`);
    }
  }
  const names = action.flatMap((f) => {
    const n = ds.info.features[f.key]?.names;
    return Array.isArray(n) ? (n as string[]).slice(f.from, f.to) : new Array<string | null>(f.to - f.from).fill(null);
  });
  const deltaMask = cfg.deltaMask ? [...cfg.deltaMask] : deltaMaskFor(robotType, names, actionDim);
  return { name: cfg.name ?? ds.root.split("/").filter(Boolean).pop() ?? ds.root, robotType, state, action, stateDim, actionDim, cameras, deltaMask };
}

/** Concatenates feature slices row by row: [rows * (sum of slice widths)]. */
export function concatFeatures(ds: LeRobotDataset, slices: readonly FeatureSlice[], rows: ArrayLike<number>): Float32Array {
  const vecs = slices.map((f) => ({ ...f, v: ds.vector(f.key) }));
  const dim = vecs.reduce((s, f) => s + f.to - f.from, 0);
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    let o = i * dim;
    for (const f of vecs) {
      const base = rows[i] * f.v.dim;
      out.set(f.v.data.subarray(base + f.from, base + f.to), o);
      o += f.to - f.from;
    }
  }
  return out;
}
