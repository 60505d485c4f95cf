// Expert skills built from motion primitives: top-down grasps of still and moving objects, placing, retreating.
import { type Vec3 } from "../world.ts";
import { topDown, type Pose } from "./ik.ts";
import { gripTo, moveJoints, moveLine, moveTo, settle, track, wait, type ExpertContext, type Motion } from "./motion.ts";

/** What an expert needs to know about a graspable object. */
export interface Graspable {
  readonly name: string;
  /** Half height (m): the grasp centres the fingers on the object's middle. */
  readonly halfHeight: number;
  /** Rotational symmetry of the grasp about z (rad): π/2 square box, π bar, 0 round. */
  readonly symmetry: number;
  /** Fingers close across the body's x axis when 0; `π/2` to close across its y axis. */
  readonly graspYaw: number;
}

export const CLOSED = 0;
export const OPEN = 1;
const HOVER = 0.1;
const LIFT = 0.12;

/** Yaw of the finger direction (world) for a tool reaching out along azimuth `azimuth` from the base. */
function preferredYaw(azimuth: number): number {
  // Fingers across the reach direction keep the wrist camera behind the hand (see docs/simulator.md).
  return azimuth - Math.PI / 2;
}

/** The grasp yaw among the object's symmetric equivalents closest to the arm's preferred yaw. */
export function chooseGraspYaw(objectYaw: number, obj: Graspable, from: Vec3, at: Vec3): number {
  const pref = preferredYaw(Math.atan2(at[1] - from[1], at[0] - from[0]));
  if (obj.symmetry === 0) return pref;
  // A parallel gripper is symmetric under a half turn, so the period is at most π.
  const period = Math.min(obj.symmetry, Math.PI);
  const base = objectYaw + obj.graspYaw;
  const k = Math.round((pref - base) / period);
  return base + k * period;
}

/** Yaw of a body from its rotation matrix (rotation of its x axis about world z). */
export function yawOf(mat: ArrayLike<number>): number {
  return Math.atan2(mat[3], mat[0]);
}

export function poseAt(pos: Vec3, yaw: number): Pose {
  return { pos, rot: topDown(yaw) };
}

const above = (p: Vec3, dz: number): Vec3 => [p[0], p[1], p[2] + dz];

/**
 * Height offset of the tool centre above an object's centre for a grasp: the finger tips stop 2-14 mm above
 * the supporting surface whatever the object's height (short parcels would otherwise drag the fingers on it).
 */
export function graspOffset(halfHeight: number): number {
  return Math.min(Math.max(halfHeight, 0.018), 0.03) - halfHeight;
}

/** Where and how to grasp: the tool-centre point, the finger yaw and the opening on the way down. */
export interface GraspSpec {
  readonly at: Vec3;
  readonly yaw: number;
  /** Gripper opening (0-1) while approaching; less than 1 where a wide-open finger would hit something. */
  readonly open?: number;
}

/** Top-down grasp at a point: hover above it, descend in a straight line, close. */
export function* graspAt(ctx: ExpertContext, arm: number, g: GraspSpec): Motion {
  yield* gripTo(ctx, arm, g.open ?? OPEN, 0);
  yield* moveTo(ctx, arm, poseAt(above(g.at, HOVER), g.yaw));
  yield* moveLine(ctx, arm, poseAt(g.at, g.yaw), 0.3);
  yield* wait(2);
  yield* gripTo(ctx, arm, CLOSED, 6);
}

/** The grasp of a still object: centred (or at `offset` along its own axes), fingers across its narrow side. */
export function graspOf(ctx: ExpertContext, arm: number, obj: Graspable, offset: Vec3 = [0, 0, 0]): GraspSpec {
  const w = ctx.world;
  const p = w.bodyPos(obj.name);
  const m = w.bodyMat(obj.name);
  const at: Vec3 = [0, 1, 2].map((r) => p[r] + m[3 * r] * offset[0] + m[3 * r + 1] * offset[1] + m[3 * r + 2] * offset[2]) as unknown as Vec3;
  return { at: [at[0], at[1], at[2] + graspOffset(obj.halfHeight)], yaw: chooseGraspYaw(yawOf(m), obj, ctx.arm(arm).spec.base, at) };
}

/** Lifts arm i's tool straight up by `dz` from its commanded pose. */
export function* liftBy(ctx: ExpertContext, arm: number, dz = LIFT, speed = 0.35): Motion {
  const pose = ctx.commandedPose(arm);
  yield* moveLine(ctx, arm, { pos: above(pose.pos, dz), rot: pose.rot }, speed);
}

/** Top-down grasp of a still object: hover, descend, close, lift. */
export function* pickStatic(ctx: ExpertContext, arm: number, obj: Graspable, offset?: Vec3): Motion {
  yield* graspAt(ctx, arm, graspOf(ctx, arm, obj, offset));
  yield* liftBy(ctx, arm);
}

export interface PlaceOptions {
  /** Vertical approach before release (m); 0 ends the transfer at the release height (bins: drop from above the rim). */
  readonly approach?: number;
  readonly yaw?: number;
}

/** Carries the held object above `target` (joint space), lowers it to `releaseHeight` above it, opens, retreats. */
export function* placeAt(ctx: ExpertContext, arm: number, target: Vec3, releaseHeight: number, opts: PlaceOptions = {}): Motion {
  const approach = opts.approach ?? 0.08;
  const y = opts.yaw ?? chooseGraspYaw(0, { name: "", halfHeight: 0, symmetry: 0, graspYaw: 0 }, ctx.arm(arm).spec.base, target);
  // Over a bin (no approach) the transfer ends at the release height; over a surface it ends `approach` above it.
  const carryZ = approach > 0 ? Math.max(ctx.commandedPose(arm).pos[2], target[2] + releaseHeight + approach) : target[2] + releaseHeight;
  yield* moveTo(ctx, arm, poseAt([target[0], target[1], carryZ], y));
  if (approach > 0) yield* moveLine(ctx, arm, poseAt(above(target, releaseHeight), y), 0.3);
  yield* settle(ctx, arm);
  yield* gripTo(ctx, arm, OPEN, 5);
  if (approach > 0) yield* moveLine(ctx, arm, poseAt(above(target, releaseHeight + approach), y), 0.35);
}

/** Returns arm i to its home pose. */
export function* goHome(ctx: ExpertContext, arm: number): Motion {
  yield* moveJoints(ctx, arm, ctx.arm(arm).spec.home);
}

/** Control steps of an interception from its start to closed fingers: reach (at least), descend, close. */
export const INTERCEPT = { reach: 14, descend: 10, close: 6 } as const;

/**
 * Grasps an object riding on the belt: move above its predicted position at arrival time (the reach time
 * follows the joint distance), descend while tracking it (position + velocity lead), wait until the fingers
 * are centred on it, close while tracking, and lift.
 */
export function* pickMoving(ctx: ExpertContext, arm: number, obj: Graspable): Motion {
  const w = ctx.world;
  const dt = 1 / w.scene.controlHz;
  const { descend, close } = INTERCEPT;
  const lead = 0.06; // s: servo lag of the position actuators while tracking
  const predict = (t: number): Vec3 => {
    const p = w.bodyPos(obj.name);
    const v = w.bodyVel(obj.name);
    return [p[0] + v[0] * t, p[1] + v[1] * t, p[2]];
  };
  const dz = graspOffset(obj.halfHeight);
  const yaw = chooseGraspYaw(yawOf(w.bodyMat(obj.name)), obj, ctx.arm(arm).spec.base, predict((INTERCEPT.reach + descend) * dt));
  // Two passes: the reach time depends on the target, the target on the reach time.
  let reach: number = INTERCEPT.reach;
  let q = ctx.q(arm);
  for (let pass = 0; pass < 2; pass++) {
    q = ctx.solveFar(arm, poseAt(above(predict(reach * dt), HOVER + dz), yaw)).q;
    const largest = Math.max(...Array.from(q, (v, k) => Math.abs(v - ctx.q(arm)[k])));
    reach = Math.max(INTERCEPT.reach, Math.ceil(largest / (1.8 * dt)));
  }
  yield* gripTo(ctx, arm, OPEN, 0);
  yield* moveJoints(ctx, arm, q, { steps: reach });
  yield* track(ctx, arm, descend, (k) => poseAt(above(predict(lead), dz + HOVER * (1 - (k + 1) / descend)), yaw));
  // Servo lag after a fast reach: keep tracking (up to 8 steps) until the tool is within 6 mm of the object.
  for (let k = 0; k < 8 && offset(w.sitePos(ctx.arm(arm).tcpSite), predict(0)) > 0.006; k++) {
    yield* track(ctx, arm, 1, () => poseAt(above(predict(lead), dz), yaw));
  }
  ctx.setGrip(arm, CLOSED);
  yield* track(ctx, arm, close, () => poseAt(above(predict(lead), dz), yaw));
  // Lift straight up from the closing pose (the object now moves with the hand, so it no longer predicts anything).
  yield* liftBy(ctx, arm, LIFT, 0.4);
}

function offset(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}
