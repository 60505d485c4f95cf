// The model-backed policy: robot-unit observations -> model inputs (frame history, letterbox, normalise, pad),
// a sampled chunk -> robot-unit actions (unnormalise, add the state back on delta dims, cut, binarise grippers).
import { ConfigError, ShapeError } from "../tensor/errors.ts";
import { letterboxToChw } from "../data/image.ts";
import { type FeatureStats } from "../data/lerobot/stats.ts";
import { type Normalizer, fromDelta, makeNormalizer, normalize, padRows, toDelta, unnormalize, unpadRows } from "../data/transforms.ts";
import { type ActionMode, type NormMode } from "../data/types.ts";
import {
  type CameraImage, type Policy, type PolicyMetadata, type PolicyObservation, type PolicyProvider, type PolicyResult,
  actionChunk, greyImage,
} from "./policy.ts";
import { type RtcConfig, DEFAULT_RTC, validateRtcConfig } from "./rtc.ts";

/** Inputs of one sampling call, laid out as the model's batch of one. */
export interface ModelInputs {
  /** uint8 [V, 2, 3, S, S]: frames t-15 and t per camera slot, letterboxed; a missing camera is all 255. */
  readonly images: Uint8Array;
  readonly imageMask: Uint8Array; // [V]
  readonly state: Float32Array; // [maxStateDim], normalised and zero-padded
  readonly prompt: string;
}

/** RTC guidance in model space: the previous chunk's remaining actions, normalised (and delta), padded. */
export interface ModelRtc {
  readonly prev: Float32Array; // [prevCount, maxActionDim]
  readonly prevCount: number;
  readonly inferenceDelay: number;
  readonly config: RtcConfig;
}

/** What the policy needs from the network (src/model's sampleActions behind it). */
export interface ActionModel {
  readonly views: number;
  readonly imageSize: number;
  readonly chunk: number;
  readonly maxStateDim: number;
  readonly maxActionDim: number;
  /** A normalised chunk [chunk, maxActionDim]; `seed` fixes the flow noise; `rtc` guides the Euler steps. */
  sample(inputs: ModelInputs, seed: number, rtc?: ModelRtc): Promise<Float32Array>;
  dispose(): void;
}

/** How one robot maps onto the model (saved with the checkpoint by the trainer). */
export interface RobotSpec {
  readonly robotType: string;
  readonly stateDim: number;
  readonly actionDim: number;
  readonly actionMode: ActionMode;
  /** true = delta dim; false = absolute (grippers). */
  readonly deltaMask: readonly boolean[];
  readonly normMode: NormMode;
  /** Wire camera name per model slot (top/head, left or only wrist, right wrist); null = always missing. */
  readonly cameras: readonly (string | null)[];
  /** Actions returned per reply, the first of the chunk (RoboTwin: 30 of 50). */
  readonly inferHorizon: number;
  /** Threshold absolute (gripper) dims at 0.5, as the RoboTwin evaluation does. */
  readonly binarizeGrippers: boolean;
  /** The past frame is this many control steps before t (15). */
  readonly frameGap: number;
}

export interface ModelPolicyOptions {
  readonly seed?: number;
  readonly rtc?: RtcConfig;
}

/**
 * Letterboxed frames a session has seen, per camera, to find frame t - gap: the newest frame at or before it,
 * else the episode's first frame (LeRobot clamps windows at the start). Frames are copies at the model's size,
 * so the history never pins whole request buffers.
 */
function frameHistory(gap: number) {
  const frames = new Map<string, { step: number; plane: Uint8Array }[]>();
  return {
    past(cam: string, step: number): Uint8Array | undefined {
      const list = frames.get(cam) ?? [];
      let pick = list[0]?.plane;
      for (const f of list) if (f.step <= step - gap) pick = f.plane;
      return pick;
    },
    add(cam: string, step: number, plane: Uint8Array): void {
      const list = (frames.get(cam) ?? []).filter((f) => f.step < step);
      list.push({ step, plane: plane.slice() });
      // Later lookups ask for steps >= step + 1 - gap: nothing older than the newest frame at or before it is needed.
      let keep = 0;
      list.forEach((f, i) => {
        if (f.step <= step + 1 - gap) keep = i;
      });
      frames.set(cam, list.slice(keep));
    },
    clear: () => frames.clear(),
  };
}

function validateSpec(spec: RobotSpec, model: ActionModel): void {
  const where = `serving ${spec.robotType}`;
  if (spec.stateDim > model.maxStateDim || spec.actionDim > model.maxActionDim) {
    throw new ConfigError(`${where}: state ${spec.stateDim} / action ${spec.actionDim} dims exceed the model's ${model.maxStateDim} / ${model.maxActionDim}`);
  }
  if (spec.deltaMask.length > spec.actionDim) throw new ConfigError(`${where}: delta mask has ${spec.deltaMask.length} dims, the action ${spec.actionDim}`);
  if (spec.cameras.length !== model.views) throw new ConfigError(`${where}: ${spec.cameras.length} camera slots given, the model has ${model.views}`);
  if (spec.cameras[0] === null) throw new ConfigError(`${where}: camera slot 0 (top/head) must be set; the model needs image0`);
  if (!(spec.inferHorizon >= 1 && spec.inferHorizon <= model.chunk)) {
    throw new ConfigError(`${where}: infer horizon must be in 1..${model.chunk}, got ${spec.inferHorizon}`);
  }
}

/** Everything fixed per served robot: the model, its spec and the normalisers. */
interface Pipeline {
  readonly model: ActionModel;
  readonly spec: RobotSpec;
  readonly where: string;
  readonly stateNorm: Normalizer;
  readonly actionNorm: Normalizer;
  /** The delta mask, empty for absolute actions. */
  readonly mask: readonly boolean[];
}

/** Robot-unit actions [n, actionDim] -> model space [n, maxActionDim] (delta, normalised, padded). */
function toModelSpace(pl: Pipeline, actions: Float32Array, state: Float32Array): Float32Array {
  const { spec } = pl;
  return padRows(normalize(toDelta(actions, spec.actionDim, state, pl.mask), pl.actionNorm), spec.actionDim, pl.model.maxActionDim, pl.where);
}

/** A normalised chunk [chunk, maxActionDim] -> the first inferHorizon robot-unit actions [h, actionDim]. */
function fromModelSpace(pl: Pipeline, z: Float32Array, state: Float32Array): Float32Array {
  const { spec } = pl;
  const rows = fromDelta(unnormalize(unpadRows(z, spec.actionDim, pl.model.maxActionDim), pl.actionNorm), spec.actionDim, state, pl.mask);
  const out = rows.subarray(0, spec.inferHorizon * spec.actionDim);
  if (spec.binarizeGrippers) {
    for (let i = 0; i < out.length; i++) if (!spec.deltaMask[i % spec.actionDim]) out[i] = out[i] > 0.5 ? 1 : 0;
  }
  return out;
}

/** Camera slots, frames (t-15, t) letterboxed, masks, and the normalised padded state. Records frame t. */
function prepareInputs(pl: Pipeline, obs: PolicyObservation, step: number, history: ReturnType<typeof frameHistory>): ModelInputs {
  const { model, spec } = pl;
  const S = model.imageSize;
  const plane = 3 * S * S;
  const images = new Uint8Array(model.views * 2 * plane).fill(255);
  const imageMask = new Uint8Array(model.views);
  const letterbox = (im: CameraImage, offset: number): void => letterboxToChw({ rgb: im.data, width: im.width, height: im.height }, S, S, images, offset);
  spec.cameras.forEach((cam, v) => {
    const now = cam === null ? undefined : obs.images[cam];
    if (cam === null || now === undefined) return;
    const [pastAt, nowAt] = [v * 2 * plane, (v * 2 + 1) * plane];
    letterbox(now, nowAt);
    const clientPast = obs.pastImages?.[cam];
    if (clientPast) letterbox(clientPast, pastAt);
    else images.set(history.past(cam, step) ?? images.subarray(nowAt, nowAt + plane), pastAt);
    history.add(cam, step, images.subarray(nowAt, nowAt + plane));
    imageMask[v] = 1;
  });
  if (!imageMask[0]) {
    throw new ShapeError(`${pl.where}: camera "${spec.cameras[0]}" (slot 0, top/head) is missing; got cameras ${Object.keys(obs.images).join(", ")}`);
  }
  const state = padRows(normalize(Float32Array.from(obs.state), pl.stateNorm), spec.stateDim, model.maxStateDim, pl.where);
  return { images, imageMask, state, prompt: obs.prompt };
}

function rtcInModelSpace(pl: Pipeline, obs: PolicyObservation, config: RtcConfig): ModelRtc {
  const r = obs.rtc!;
  const dim = pl.spec.actionDim;
  if (r.prevActions.length !== r.prevCount * dim) {
    throw new ShapeError(`${pl.where}: rtc previous actions must be [n, ${dim}], got ${r.prevActions.length} values for n = ${r.prevCount}`);
  }
  const count = Math.min(r.prevCount, pl.model.chunk);
  const prev = toModelSpace(pl, r.prevActions.slice(0, count * dim), obs.state);
  return { prev, prevCount: count, inferenceDelay: Math.min(r.inferenceDelay, count), config };
}

/** One client's session: its frame history and noise counter over the shared pipeline. */
function modelSession(pl: Pipeline, metadata: PolicyMetadata, opts: ModelPolicyOptions): Policy {
  const { spec } = pl;
  const history = frameHistory(spec.frameGap);
  let calls = 0;
  let lastStep = -spec.inferHorizon;
  return {
    metadata,
    async reset() {
      history.clear();
      calls = 0;
      lastStep = -spec.inferHorizon;
    },
    async infer(obs: PolicyObservation): Promise<PolicyResult> {
      const t0 = performance.now();
      if (obs.state.length !== spec.stateDim) {
        throw new ShapeError(`${pl.where}: state has ${obs.state.length} values; this robot's state has ${spec.stateDim}`);
      }
      // Without a step, assume the client executed the whole previous reply (openpi's ActionChunkBroker).
      const step = obs.step ?? lastStep + spec.inferHorizon;
      lastStep = step;
      const inputs = prepareInputs(pl, obs, step, history);
      const rtc = obs.rtc ? rtcInModelSpace(pl, obs, opts.rtc ?? DEFAULT_RTC) : undefined;
      const z = await pl.model.sample(inputs, ((opts.seed ?? 0) + 7919 * calls++) >>> 0, rtc);
      const actions = actionChunk(fromModelSpace(pl, z, obs.state), spec.inferHorizon, spec.actionDim, pl.where);
      return { actions, policyTiming: { infer_ms: performance.now() - t0 } };
    },
  };
}

/** Serves `model` for one robot: shared weights, per-session frame history and noise counter. */
export function modelPolicy(model: ActionModel, spec: RobotSpec, stats: { state: FeatureStats; action: FeatureStats }, opts: ModelPolicyOptions = {}): PolicyProvider {
  validateSpec(spec, model);
  if (opts.rtc) validateRtcConfig(opts.rtc);
  const where = `serving ${spec.robotType}`;
  const pl: Pipeline = {
    model,
    spec,
    where,
    stateNorm: makeNormalizer(stats.state, spec.normMode, spec.stateDim, `${where} state stats`),
    actionNorm: makeNormalizer(stats.action, spec.normMode, spec.actionDim, `${where} action stats`),
    mask: spec.actionMode === "delta" ? spec.deltaMask : [],
  };
  const S = model.imageSize;
  const metadata: PolicyMetadata = {
    policy: "internvla-a1",
    robot_type: spec.robotType,
    action_horizon: spec.inferHorizon,
    action_dim: spec.actionDim,
    state_dim: spec.stateDim,
    cameras: spec.cameras.filter((c) => c !== null),
    image_size: S,
    action_mode: spec.actionMode,
    rtc: opts.rtc ?? null,
  };
  return {
    metadata,
    session: () => modelSession(pl, metadata, opts),
    concurrency: 1,
    exampleObservation: () => ({
      images: Object.fromEntries(spec.cameras.filter((c): c is string => c !== null).map((c) => [c, greyImage(S, S)])),
      state: new Float32Array(spec.stateDim),
      prompt: "warm up",
    }),
    dispose: () => model.dispose(),
  };
}
