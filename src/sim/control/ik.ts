// Inverse kinematics by damped least squares on MuJoCo site Jacobians (mj_jacSite), on a scratch MjData.
import { type MjData } from "../mujoco.ts";
import { type ArmIndex, type Vec3, type World } from "../world.ts";

/** A tool pose: position and rotation (row-major 3x3; columns are the hand's x, y, z axes in world). */
export interface Pose {
  readonly pos: Vec3;
  readonly rot: readonly number[];
}

export interface IkResult {
  readonly q: Float64Array;
  /** Remaining position error (m) and orientation error (rad, small-angle). */
  readonly posErr: number;
  readonly rotErr: number;
}

/** Rotation of a top-down grasp: hand z points down, fingers open along (cos yaw, sin yaw, 0). */
export function topDown(yaw: number): number[] {
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  // Columns x = (c, s, 0), y = z × x = (s, -c, 0), z = (0, 0, -1).
  return [c, s, 0, s, -c, 0, 0, 0, -1];
}

const ROT_WEIGHT = 0.3; // metres of position error worth one radian of orientation error
const DAMPING = 0.02;
const REST_PULL = 0.05; // fraction of the way back to the home pose per iteration, within the null space

/** Solves IK for the arms of one World without touching its simulation state (a resource: call delete()). */
export class Ik {
  readonly #world: World;
  readonly #scratch: MjData;
  readonly #jacp: { GetView(): Float64Array; delete(): void };
  readonly #jacr: { GetView(): Float64Array; delete(): void };

  constructor(world: World) {
    this.#world = world;
    this.#scratch = new world.mj.MjData(world.model);
    this.#jacp = new world.mj.DoubleBuffer(3 * world.model.nv);
    this.#jacr = new world.mj.DoubleBuffer(3 * world.model.nv);
  }

  /** Forward kinematics of `arm` at joint vector q: the tcp pose. */
  fk(arm: ArmIndex, q: ArrayLike<number>): Pose {
    this.#setJoints(arm, q);
    return this.#tcp(arm);
  }

  /** Joint vector reaching `target` from `seed` (clamped to joint ranges); reports the residual error. */
  solve(arm: ArmIndex, target: Pose, seed: ArrayLike<number>, maxIter = 60): IkResult {
    const n = arm.qpos.length;
    const q = Float64Array.from(seed, (v, i) => clamp(v, arm.spec.ranges[i][0], arm.spec.ranges[i][1]));
    const { model } = this.#world;
    const nv: number = model.nv;
    const e = new Float64Array(6);
    const J = new Float64Array(6 * n);
    let posErr = Infinity;
    let rotErr = Infinity;
    for (let it = 0; it < maxIter; it++) {
      this.#setJoints(arm, q);
      const cur = this.#tcp(arm);
      for (let k = 0; k < 3; k++) e[k] = target.pos[k] - cur.pos[k];
      rotationError(cur.rot, target.rot, e);
      posErr = Math.hypot(e[0], e[1], e[2]);
      rotErr = Math.hypot(e[3], e[4], e[5]);
      if (posErr < 2e-4 && rotErr < 2e-3) break;
      this.#world.mj.mj_jacSite(model, this.#scratch, this.#jacp, this.#jacr, arm.tcpSite);
      const jp = this.#jacp.GetView();
      const jr = this.#jacr.GetView();
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < n; c++) {
          J[r * n + c] = jp[r * nv + arm.dof[c]];
          J[(r + 3) * n + c] = ROT_WEIGHT * jr[r * nv + arm.dof[c]];
        }
        e[r + 3] *= ROT_WEIGHT;
      }
      const dq = dampedStep(J, e, n, q, arm.spec.home);
      for (let i = 0; i < n; i++) q[i] = clamp(q[i] + dq[i], arm.spec.ranges[i][0], arm.spec.ranges[i][1]);
    }
    return { q, posErr, rotErr };
  }

  #setJoints(arm: ArmIndex, q: ArrayLike<number>): void {
    const { mj, model, data } = this.#world;
    const qpos: Float64Array = this.#scratch.qpos;
    qpos.set(data.qpos as Float64Array);
    for (let i = 0; i < arm.qpos.length; i++) qpos[arm.qpos[i]] = q[i];
    mj.mj_kinematics(model, this.#scratch);
    mj.mj_comPos(model, this.#scratch);
  }

  #tcp(arm: ArmIndex): Pose {
    const x: Float64Array = this.#scratch.site_xpos;
    const m: Float64Array = this.#scratch.site_xmat;
    const s = arm.tcpSite;
    return { pos: [x[3 * s], x[3 * s + 1], x[3 * s + 2]], rot: Array.from(m.subarray(9 * s, 9 * s + 9)) };
  }

  delete(): void {
    this.#jacp.delete();
    this.#jacr.delete();
    this.#scratch.delete();
  }
}

/** Small-angle orientation error taking rotation `cur` to `target`: 0.5 Σ_k cur_k × target_k (columns). */
function rotationError(cur: readonly number[], target: readonly number[], out: Float64Array): void {
  out[3] = out[4] = out[5] = 0;
  for (let k = 0; k < 3; k++) {
    const ax = cur[k], ay = cur[3 + k], az = cur[6 + k];
    const bx = target[k], by = target[3 + k], bz = target[6 + k];
    out[3] += 0.5 * (ay * bz - az * by);
    out[4] += 0.5 * (az * bx - ax * bz);
    out[5] += 0.5 * (ax * by - ay * bx);
  }
}

/**
 * dq = (JᵀJ + λ²I)⁻¹ Jᵀe, plus a pull towards `rest` projected onto the task null space (only a 7-DoF arm
 * has one); the step is limited to 0.3 rad per joint.
 */
function dampedStep(J: Float64Array, e: Float64Array, n: number, q: Float64Array, rest: readonly number[]): Float64Array {
  const JtJ = new Float64Array(n * n);
  const A = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < 6; r++) s += J[r * n + i] * J[r * n + j];
      JtJ[i * n + j] = s;
      A[i * n + j] = s + (i === j ? DAMPING * DAMPING : 0);
    }
    let s = 0;
    for (let r = 0; r < 6; r++) s += J[r * n + i] * e[r];
    b[i] = s;
  }
  const dq = solveSpd(A, b, n);
  // Null-space term: z - A⁻¹JᵀJ z with z the pull towards rest.
  const z = Float64Array.from(rest, (r, i) => REST_PULL * (r - q[i]));
  const JtJz = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) JtJz[i] += JtJ[i * n + j] * z[j];
  const proj = solveSpd(A, JtJz, n);
  for (let i = 0; i < n; i++) dq[i] += z[i] - proj[i];
  const big = Math.max(...dq.map(Math.abs));
  if (big > 0.3) for (let i = 0; i < n; i++) dq[i] *= 0.3 / big;
  return dq;
}

/** Solves A x = b for a symmetric positive definite n x n A (Cholesky). */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
