// The Policy interface shared by the server, the client and the evaluator: robot-unit observations in, actions out.
import { ShapeError } from "../tensor/errors.ts";

/** One camera frame: uint8 RGB, row-major [height, width, 3]. */
export interface CameraImage {
  readonly data: Uint8Array; // [H, W, 3]
  readonly height: number;
  readonly width: number;
}

/**
 * Real-time chunking request (guided inpainting, see rtc.ts): the actions of the previous chunk that the robot
 * will still execute, in robot units, starting at this observation's step, and how many of them will already have
 * run by the time the new chunk arrives.
 */
export interface RtcRequest {
  readonly prevActions: Float32Array; // [n, actionDim]
  readonly prevCount: number; // n
  readonly inferenceDelay: number; // d <= n
}

/**
 * What a robot sees at one control step, in robot units. Camera names are the simulator's
 * (`top`, `wrist`, `left_wrist`, `right_wrist`); protocol.ts maps other robots' keys onto them.
 */
export interface PolicyObservation {
  /** Current frame per camera. */
  readonly images: Readonly<Record<string, CameraImage>>;
  /** Frame t-15 per camera, when the client keeps the history itself (otherwise the server keeps it). */
  readonly pastImages?: Readonly<Record<string, CameraImage>>;
  readonly state: Float32Array; // [stateDim]
  readonly prompt: string;
  /** Control step index within the episode (0 at reset); lets the server align history and replay. */
  readonly step?: number;
  readonly rtc?: RtcRequest;
}

/** A chunk of actions in robot units, row-major [horizon, dim]. */
export interface ActionChunk {
  readonly data: Float32Array; // [horizon, dim]
  readonly horizon: number;
  readonly dim: number;
}

export interface PolicyResult {
  readonly actions: ActionChunk;
  /** Milliseconds spent inside the policy, openpi's `policy_timing` (key `infer_ms`). */
  readonly policyTiming: Readonly<Record<string, number>>;
  /** Set by a server, openpi's `server_timing`: `infer_ms`, and `prev_total_ms` (the previous round trip). */
  readonly serverTiming?: Readonly<Record<string, number>>;
}

/** Sent to each client on connect (openpi's metadata frame); JSON-compatible values only. */
export type PolicyMetadata = Readonly<Record<string, unknown>>;

/** A policy as the robot loop and the evaluator see it; in-process and remote policies look the same. */
export interface Policy {
  readonly metadata: PolicyMetadata;
  infer(obs: PolicyObservation): Promise<PolicyResult>;
  /** Forgets per-episode state (frame history, replay cursor, action queue). */
  reset(): Promise<void>;
}

/**
 * What a server serves: shared weights, and one `session()` per client so that each connection has its own
 * per-episode state. `exampleObservation` is used to warm the policy up before the first client arrives.
 */
export interface PolicyProvider {
  readonly metadata: PolicyMetadata;
  session(): Policy;
  exampleObservation(): PolicyObservation;
  /** Requests the provider can run at once; the server queues the rest (default 1). */
  readonly concurrency?: number;
  dispose(): void;
}

/** Wraps raw bytes as a CameraImage, checking the size. */
export function cameraImage(data: Uint8Array, height: number, width: number, where = "cameraImage"): CameraImage {
  if (data.length !== height * width * 3) {
    throw new ShapeError(`${where}: expected ${height}x${width}x3 = ${height * width * 3} bytes, got ${data.length}`);
  }
  return { data, height, width };
}

/** A mid-grey frame, for warm-up and tests. */
export function greyImage(height: number, width: number): CameraImage {
  return { data: new Uint8Array(height * width * 3).fill(128), height, width };
}

/** Checks that a chunk's data length matches its shape. */
export function actionChunk(data: Float32Array, horizon: number, dim: number, where = "actionChunk"): ActionChunk {
  if (data.length !== horizon * dim) {
    throw new ShapeError(`${where}: expected [${horizon}, ${dim}] = ${horizon * dim} values, got ${data.length}`);
  }
  return { data, horizon, dim };
}

/** Row `i` of a chunk (a view, not a copy). */
export function actionAt(chunk: ActionChunk, i: number): Float32Array {
  return chunk.data.subarray(i * chunk.dim, (i + 1) * chunk.dim);
}
