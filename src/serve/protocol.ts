// openpi wire dicts <-> PolicyObservation / PolicyResult: per-robot input formats, validation with clear errors.
import {
  type NdArray, type WireMap, type WireValue, ProtocolError, isNdArray, ndarray, toFloat32Array,
} from "./msgpack-numpy.ts";
import { type CameraImage, type PolicyObservation, type PolicyResult, type RtcRequest, actionChunk } from "./policy.ts";

/**
 * Observation key layouts the server understands (docs/serving.md lists them):
 * - internvla: `images/<cam>`, `state`, `prompt`, optional `past_images/<cam>`, `step`, `rtc/*`;
 *   openpi ALOHA camera names (cam_high, cam_left_wrist, cam_right_wrist) are accepted as aliases.
 * - libero: `observation/image`, `observation/wrist_image`, `observation/state`, `prompt` (openpi LIBERO example).
 * - droid: `observation/exterior_image_1_left`, `observation/wrist_image_left`, `observation/joint_position`
 *   + `observation/gripper_position` (concatenated), `prompt`.
 * - lerobot: `observation.images.<cam>`, `observation.state`, `task`.
 */
/** Added to the metadata frame by our server; clients use it to know `__ctrl__` messages are understood. */
export const SERVER_NAME = "internvla";

export type InputFormat = "internvla" | "libero" | "droid" | "lerobot";
export const INPUT_FORMATS: readonly InputFormat[] = ["internvla", "libero", "droid", "lerobot"];

interface FormatSpec {
  /** Fixed wire key -> camera name. */
  readonly cameras: Readonly<Record<string, string>>;
  /** Wire key prefix whose suffix is the camera name. */
  readonly cameraPrefix?: string;
  readonly pastPrefix?: string;
  /** Keys concatenated into the state vector, in order. */
  readonly state: readonly string[];
  readonly prompt: string;
}

const SPECS: Readonly<Record<InputFormat, FormatSpec>> = {
  internvla: { cameras: {}, cameraPrefix: "images/", pastPrefix: "past_images/", state: ["state"], prompt: "prompt" },
  libero: {
    cameras: { "observation/image": "top", "observation/wrist_image": "wrist" },
    state: ["observation/state"],
    prompt: "prompt",
  },
  droid: {
    cameras: { "observation/exterior_image_1_left": "top", "observation/wrist_image_left": "wrist" },
    state: ["observation/joint_position", "observation/gripper_position"],
    prompt: "prompt",
  },
  lerobot: { cameras: {}, cameraPrefix: "observation.images.", state: ["observation.state"], prompt: "task" },
};

/** openpi ALOHA camera names -> ours. */
const CAMERA_ALIASES: Readonly<Record<string, string>> = {
  cam_high: "top",
  cam_left_wrist: "left_wrist",
  cam_right_wrist: "right_wrist",
};

const MAX_SIDE = 4096;
const MAX_PROMPT = 4096;

export interface ParseOptions {
  readonly format: InputFormat | "auto";
  /** Used when the observation carries no prompt; without it a missing prompt is an error. */
  readonly defaultPrompt?: string;
}

/** Flattens nested maps (not arrays) into "a/b" keys, as openpi's transforms address them. */
export function flattenWire(map: WireMap, prefix = "", out = new Map<string, WireValue>()): Map<string, WireValue> {
  for (const [k, v] of Object.entries(map)) {
    const key = prefix + k;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) && !isNdArray(v)) {
      flattenWire(v as WireMap, `${key}/`, out);
    } else out.set(key, v);
  }
  return out;
}

/** Picks the input format from the keys present; throws with every format's keys when none fits. */
export function detectFormat(keys: Iterable<string>): InputFormat {
  const ks = [...keys];
  if (ks.includes("observation/image")) return "libero";
  if (ks.includes("observation/exterior_image_1_left")) return "droid";
  if (ks.some((k) => k.startsWith("observation.images.") || k === "observation.state")) return "lerobot";
  if (ks.some((k) => k.startsWith("images/")) || ks.includes("state")) return "internvla";
  throw new ProtocolError(
    `observation: cannot tell the input format from its keys [${ks.slice(0, 20).join(", ")}]; expected one of: ` +
      INPUT_FORMATS.map((f) => `${f} (${describeFormat(f)})`).join("; "),
  );
}

export function describeFormat(f: InputFormat): string {
  const s = SPECS[f];
  const cams = [...Object.keys(s.cameras), ...(s.cameraPrefix ? [`${s.cameraPrefix}<cam>`] : [])];
  return [...cams, ...s.state, s.prompt].join(", ");
}

function typeName(v: WireValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "nil";
  if (isNdArray(v)) return `array ${v.dtype} [${v.shape.join(", ")}]`;
  if (v instanceof Uint8Array) return `${v.length} raw bytes`;
  return Array.isArray(v) ? `a list of ${v.length}` : typeof v;
}

/** A uint8 image [H, W, 3] (or channel-first [3, H, W], transposed here). */
export function parseImage(v: WireValue | undefined, key: string): CameraImage {
  if (!isNdArray(v)) throw new ProtocolError(`${key}: expected a uint8 image array [H, W, 3], got ${typeName(v)}`);
  if (v.dtype !== "uint8") {
    throw new ProtocolError(`${key}: expected dtype uint8 (|u1), got ${v.dtype}`, "convert with openpi_client.image_tools.convert_to_uint8");
  }
  const s = v.shape;
  const hwc = s.length === 3 && s[2] === 3;
  const chw = s.length === 3 && s[0] === 3 && !hwc;
  if (!hwc && !chw) throw new ProtocolError(`${key}: expected shape [H, W, 3] or [3, H, W], got [${s.join(", ")}]`);
  const [h, w] = hwc ? [s[0], s[1]] : [s[1], s[2]];
  if (h < 1 || w < 1 || h > MAX_SIDE || w > MAX_SIDE) {
    throw new ProtocolError(`${key}: image sides must be 1..${MAX_SIDE} pixels, got ${h}x${w}`);
  }
  const src = v.data as Uint8Array;
  if (hwc) return { data: src, height: h, width: w };
  const out = new Uint8Array(h * w * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[i * 3 + c] = src[c * h * w + i];
  return { data: out, height: h, width: w };
}

/** A finite numeric vector: a 1-D array (any numeric dtype) or a list of numbers. */
export function parseVector(v: WireValue | undefined, key: string): Float32Array {
  let out: Float32Array;
  if (isNdArray(v)) {
    if (v.shape.length !== 1) throw new ProtocolError(`${key}: expected a 1-D array, got shape [${v.shape.join(", ")}]`);
    if (v.dtype === "bool") throw new ProtocolError(`${key}: expected a numeric dtype, got bool`);
    out = toFloat32Array(v);
  } else if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
    out = Float32Array.from(v as number[]);
  } else {
    throw new ProtocolError(`${key}: expected a 1-D numeric array, got ${typeName(v)}`);
  }
  assertFinite(out, key);
  return out;
}

function assertFinite(x: Float32Array, key: string): void {
  const bad = x.findIndex((e) => !Number.isFinite(e));
  if (bad >= 0) throw new ProtocolError(`${key}: element ${bad} is ${x[bad]}; expected finite values (NaN/Inf rejected)`);
}

function parseCameras(flat: Map<string, WireValue>, spec: FormatSpec, prefix: string | undefined): Record<string, CameraImage> {
  const out: Record<string, CameraImage> = {};
  for (const [key, v] of flat) {
    const name = spec.cameras[key] ?? (prefix && key.startsWith(prefix) ? key.slice(prefix.length) : undefined);
    if (name !== undefined && name.length > 0) out[CAMERA_ALIASES[name] ?? name] = parseImage(v, key);
  }
  return out;
}

function parseRtc(flat: Map<string, WireValue>): RtcRequest | undefined {
  const prev = flat.get("rtc/prev_actions");
  if (prev === undefined) return undefined;
  if (!isNdArray(prev) || prev.shape.length !== 2 || prev.dtype === "bool") {
    throw new ProtocolError(`rtc/prev_actions: expected a numeric array [n, action_dim], got ${typeName(prev)}`);
  }
  const prevActions = toFloat32Array(prev);
  assertFinite(prevActions, "rtc/prev_actions");
  const d = flat.get("rtc/inference_delay") ?? 0;
  if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > prev.shape[0]) {
    throw new ProtocolError(`rtc/inference_delay: expected an integer in [0, ${prev.shape[0]}], got ${JSON.stringify(d)}`);
  }
  return { prevActions, prevCount: prev.shape[0], inferenceDelay: d };
}

/** Turns a decoded wire observation into a PolicyObservation, or throws a ProtocolError saying what is wrong. */
export function parseObservation(wire: WireValue, opts: ParseOptions): PolicyObservation {
  if (wire === null || typeof wire !== "object" || Array.isArray(wire) || isNdArray(wire) || wire instanceof Uint8Array) {
    throw new ProtocolError(`observation: expected a map of named inputs, got ${typeName(wire)}`);
  }
  const flat = flattenWire(wire as WireMap);
  const format = opts.format === "auto" ? detectFormat(flat.keys()) : opts.format;
  const spec = SPECS[format];
  const missing = spec.state.filter((k) => !flat.has(k));
  if (missing.length > 0) {
    throw new ProtocolError(
      `observation (${format}): missing ${missing.map((k) => `"${k}"`).join(", ")}; expected ${describeFormat(format)}; ` +
        `got keys [${[...flat.keys()].slice(0, 20).join(", ")}]`,
    );
  }
  const images = parseCameras(flat, spec, spec.cameraPrefix);
  if (Object.keys(images).length === 0) {
    throw new ProtocolError(`observation (${format}): no camera image; expected ${describeFormat(format)}`);
  }
  const parts = spec.state.map((k) => parseVector(flat.get(k), k));
  const state = parts.length === 1 ? parts[0] : Float32Array.from(parts.flatMap((p) => [...p]));
  const prompt = parsePrompt(flat.get(spec.prompt), spec.prompt, format, opts.defaultPrompt);
  const step = flat.get("step");
  if (step !== undefined && (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0)) {
    throw new ProtocolError(`step: expected a non-negative integer, got ${JSON.stringify(step)}`);
  }
  const past = spec.pastPrefix ? parseCameras(flat, { ...spec, cameras: {} }, spec.pastPrefix) : {};
  return {
    images,
    ...(Object.keys(past).length > 0 ? { pastImages: past } : {}),
    state,
    prompt,
    ...(step !== undefined ? { step } : {}),
    ...(flat.has("rtc/prev_actions") ? { rtc: parseRtc(flat) } : {}),
  };
}

function parsePrompt(v: WireValue | undefined, key: string, format: InputFormat, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string") throw new ProtocolError(`${key} (${format}): expected the instruction as a string, got ${typeName(v)}`);
  if (v.length > MAX_PROMPT) throw new ProtocolError(`${key}: prompt of ${v.length} characters exceeds ${MAX_PROMPT}`);
  return v;
}

const imageArray = (im: CameraImage): NdArray => ndarray(im.data, [im.height, im.width, 3]);

/** The internvla-format wire dict of an observation (what RemotePolicy sends). */
export function observationToWire(obs: PolicyObservation): WireMap {
  const images = Object.fromEntries(Object.entries(obs.images).map(([k, im]) => [k, imageArray(im)]));
  const out: Record<string, WireValue> = { images, state: ndarray(obs.state, [obs.state.length]), prompt: obs.prompt };
  if (obs.pastImages) out.past_images = Object.fromEntries(Object.entries(obs.pastImages).map(([k, im]) => [k, imageArray(im)]));
  if (obs.step !== undefined) out.step = obs.step;
  if (obs.rtc) {
    const dim = obs.rtc.prevCount > 0 ? obs.rtc.prevActions.length / obs.rtc.prevCount : 0;
    out.rtc = { prev_actions: ndarray(obs.rtc.prevActions, [obs.rtc.prevCount, dim]), inference_delay: obs.rtc.inferenceDelay };
  }
  return out;
}

/** The openpi reply: `actions` [horizon, dim] float32, `policy_timing`, `server_timing` (ms). */
export function resultToWire(r: PolicyResult): WireMap {
  const out: Record<string, WireValue> = {
    actions: ndarray(r.actions.data, [r.actions.horizon, r.actions.dim]),
    policy_timing: { ...r.policyTiming },
  };
  if (r.serverTiming) out.server_timing = { ...r.serverTiming };
  return out;
}

function parseTiming(v: WireValue | undefined): Record<string, number> {
  if (v === null || typeof v !== "object" || Array.isArray(v) || isNdArray(v) || v instanceof Uint8Array) return {};
  return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === "number")) as Record<string, number>;
}

/** Reads a server reply (ours or any openpi server's). */
export function wireToResult(wire: WireValue): PolicyResult {
  const m = (wire ?? {}) as WireMap;
  const a = typeof m === "object" ? m.actions : undefined;
  if (!isNdArray(a) || a.shape.length !== 2 || a.dtype === "bool") {
    throw new ProtocolError(`reply: expected "actions" as a numeric array [horizon, action_dim], got ${typeName(a)}`);
  }
  return {
    actions: actionChunk(toFloat32Array(a), a.shape[0], a.shape[1], "reply.actions"),
    policyTiming: parseTiming(m.policy_timing),
    serverTiming: parseTiming(m.server_timing),
  };
}

/** A control message (`{"__ctrl__": "reset"}`), or undefined for an observation. */
export function controlOf(wire: WireValue): string | undefined {
  if (wire === null || typeof wire !== "object" || Array.isArray(wire) || isNdArray(wire) || wire instanceof Uint8Array) return undefined;
  const c = (wire as WireMap).__ctrl__;
  if (c === undefined) return undefined;
  if (typeof c !== "string") throw new ProtocolError(`__ctrl__: expected a string command, got ${typeName(c)}`);
  return c;
}
