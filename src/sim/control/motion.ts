// Motion primitives for scripted experts: generators that update the command and yield once per control step.
import { type ArmIndex, type World } from "../world.ts";
import { Ik, type Pose } from "./ik.ts";

/** A motion: each `yield` is one control step with the context's current command; R is its result. */
export type Motion<R = void> = Generator<void, R, void>;

/** The expert's command (absolute joint targets + gripper in [0, 1] per arm) and its IK (a resource: delete()). */
export class ExpertContext {
  readonly world: World;
  readonly ik: Ik;
  /** The full action vector sent at every step, in the robot's action order. */
  readonly command: Float64Array;
  readonly #offsets: number[];

  constructor(world: World) {
    this.world = world;
    this.ik = new Ik(world);
    this.command = new Float64Array(world.actionDim);
    this.#offsets = [];
    let k = 0;
    for (const arm of world.arms) {
      this.#offsets.push(k);
      this.command.set(arm.spec.home, k);
      this.command[k + arm.qpos.length] = 1;
      k += arm.qpos.length + 1;
    }
  }

  arm(i: number): ArmIndex {
    return this.world.arms[i];
  }

  /** The commanded joint targets of arm i (a live view into `command`). */
  q(i: number): Float64Array {
    const o = this.#offsets[i];
    return this.command.subarray(o, o + this.world.arms[i].qpos.length);
  }

  grip(i: number): number {
    return this.command[this.#offsets[i] + this.world.arms[i].qpos.length];
  }

  setGrip(i: number, value: number): void {
    this.command[this.#offsets[i] + this.world.arms[i].qpos.length] = value;
  }

  /** Tool pose of arm i at its commanded joints. */
  commandedPose(i: number): Pose {
    return this.ik.fk(this.arm(i), this.q(i));
  }

  /** Joint targets reaching `pose` from the current command (small moves); residual errors are returned. */
  solve(i: number, pose: Pose): { q: Float64Array; posErr: number } {
    const r = this.ik.solve(this.arm(i), pose, this.q(i));
    return { q: r.q, posErr: r.posErr };
  }

  /**
   * Joint targets for a large move: IK seeded from the home posture turned towards the target, so transfers
   * always land on the same (elbow-up) branch instead of drifting into flipped postures; the current command
   * is the fallback seed.
   */
  solveFar(i: number, pose: Pose): { q: Float64Array; posErr: number } {
    const arm = this.arm(i);
    const seed = Float64Array.from(arm.spec.home);
    seed[0] += Math.atan2(pose.pos[1] - arm.spec.base[1], pose.pos[0] - arm.spec.base[0]);
    const canonical = this.ik.solve(arm, pose, seed, 100);
    if (canonical.posErr < 2e-3 && canonical.rotErr < 2e-2) return { q: canonical.q, posErr: canonical.posErr };
    const near = this.solve(i, pose);
    return near.posErr < canonical.posErr ? near : { q: canonical.q, posErr: canonical.posErr };
  }

  delete(): void {
    this.ik.delete();
  }
}

/** Minimum-jerk progress s(t) for t in [0, 1]. */
export function minJerk(t: number): number {
  return t * t * t * (10 - 15 * t + 6 * t * t);
}

export interface JointMoveOptions {
  /** Mean joint speed of the largest move, rad/s. */
  readonly speed?: number;
  readonly minSteps?: number;
  /** A fixed duration in steps (overrides speed). */
  readonly steps?: number;
}

/** Moves arm i's joint targets to `goal` along a minimum-jerk profile. */
export function* moveJoints(ctx: ExpertContext, i: number, goal: ArrayLike<number>, opts: JointMoveOptions = {}): Motion {
  const q = ctx.q(i);
  const start = Float64Array.from(q);
  const dt = 1 / ctx.world.scene.controlHz;
  const largest = Math.max(...Array.from(start, (s, k) => Math.abs(goal[k] - s)));
  const n = opts.steps ?? Math.max(opts.minSteps ?? 4, Math.ceil(largest / ((opts.speed ?? 1.6) * dt)));
  for (let s = 1; s <= n; s++) {
    const a = minJerk(s / n);
    for (let k = 0; k < q.length; k++) q[k] = start[k] + a * (goal[k] - start[k]);
    yield;
  }
}

/** Moves arm i to `pose` in joint space (for transfers: no Cartesian path through singularities). */
export function* moveTo(ctx: ExpertContext, i: number, pose: Pose, opts: JointMoveOptions = {}): Motion {
  yield* moveJoints(ctx, i, ctx.solveFar(i, pose).q, opts);
}

/** Moves arm i's tool along a straight line to `pose` at `speed` m/s (for approaches and lifts). */
export function* moveLine(ctx: ExpertContext, i: number, pose: Pose, speed = 0.25, minSteps = 3): Motion {
  const start = ctx.commandedPose(i).pos;
  const dist = Math.hypot(pose.pos[0] - start[0], pose.pos[1] - start[1], pose.pos[2] - start[2]);
  const n = Math.max(minSteps, Math.ceil((dist * 1.5) / (speed / ctx.world.scene.controlHz)));
  for (let s = 1; s <= n; s++) {
    const a = minJerk(s / n);
    const p: [number, number, number] = [0, 1, 2].map((k) => start[k] + a * (pose.pos[k] - start[k])) as [number, number, number];
    ctx.q(i).set(ctx.solve(i, { pos: p, rot: pose.rot }).q);
    yield;
  }
}

/** Sets arm i's gripper target and waits `steps` control steps. */
export function* gripTo(ctx: ExpertContext, i: number, value: number, steps = 6): Motion {
  ctx.setGrip(i, value);
  for (let s = 0; s < steps; s++) yield;
}

/** Holds the current command for `steps` control steps. */
export function* wait(steps: number): Motion {
  for (let s = 0; s < steps; s++) yield;
}

/** Holds the command until arm i's tool is within `tol` metres of its commanded pose (servo lag), at most `limit` steps. */
export function* settle(ctx: ExpertContext, i: number, tol = 0.01, limit = 20): Motion {
  const target = ctx.commandedPose(i).pos;
  for (let k = 0; k < limit; k++) {
    const p = ctx.world.sitePos(ctx.arm(i).tcpSite);
    if (Math.hypot(p[0] - target[0], p[1] - target[1], p[2] - target[2]) < tol) return;
    yield;
  }
}

/** Follows a moving target: at step k the tool goes to poseAt(k) (IK from the previous command). */
export function* track(ctx: ExpertContext, i: number, steps: number, poseAt: (k: number) => Pose): Motion {
  for (let k = 0; k < steps; k++) {
    ctx.q(i).set(ctx.solve(i, poseAt(k)).q);
    yield;
  }
}

/** Runs motions side by side (one per arm), one step each per control step, until all have finished. */
export function* parallel(...motions: Motion[]): Motion {
  let active = motions;
  while (active.length > 0) {
    active = active.filter((m) => !m.next().done);
    if (active.length > 0) yield;
  }
}

/** Runs motions one after another (for composing per-arm scripts that then run in `parallel`). */
export function* sequence(...motions: Motion[]): Motion {
  for (const m of motions) yield* m;
}
