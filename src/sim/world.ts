// The World: one compiled MuJoCo scene with a robot, stepped at the control rate, with state readout and cameras.
import { createHash, type Hash } from "node:crypto";
import { compileModel, nameId, SimError, type MjData, type MjModel, type Mujoco } from "./mujoco.ts";
import { Rasterizer, type Frame, type RenderExtras } from "./render/raster.ts";
import { type Rng } from "./rng.ts";
import { GRIPPER, type ArmSpec } from "./robots/index.ts";
import { PHYSICS, type Scene } from "./scene/build.ts";
import { BELT } from "./scene/props.ts";
import { type Vec3 } from "./mjcf.ts";

/** Model indices of one arm, looked up once. */
export interface ArmIndex {
  readonly spec: ArmSpec;
  readonly qpos: readonly number[];
  readonly dof: readonly number[];
  readonly actuators: readonly number[];
  readonly gripperQpos: number;
  /** The mirrored (right) finger, coupled to the left one by an equality. */
  readonly mirrorQpos: number;
  readonly gripperActuator: number;
  readonly tcpSite: number;
  readonly camera: number;
}

export type { Vec3 };

/**
 * A MuJoCo model + data for one scene (a resource: call delete()). Physics runs at 500 Hz; `step` applies one
 * action (absolute joint targets + gripper opening in [0, 1] per arm) and advances one control period.
 */
export class World {
  readonly mj: Mujoco;
  readonly scene: Scene;
  readonly model: MjModel;
  readonly data: MjData;
  readonly arms: readonly ArmIndex[];
  readonly substeps: number;
  readonly actionDim: number;
  #raster: Rasterizer | undefined;
  #hash: Hash = createHash("sha1");
  #steps = 0;
  readonly #belt: { qpos: number; actuator: number } | undefined;
  #deleted = false;

  constructor(mj: Mujoco, scene: Scene) {
    this.mj = mj;
    this.scene = scene;
    this.model = compileModel(mj, scene.xml);
    this.data = new mj.MjData(this.model);
    this.substeps = Math.round(1 / (PHYSICS.timestep * scene.controlHz));
    if (this.substeps < 1 || Math.abs(this.substeps * PHYSICS.timestep * scene.controlHz - 1) > 1e-9) {
      this.delete();
      throw new SimError(`World: control rate ${scene.controlHz} Hz must divide the 500 Hz physics rate`);
    }
    this.arms = scene.robot.arms.map((spec) => this.#indexArm(spec));
    this.actionDim = this.arms.reduce((n, a) => n + a.qpos.length + 1, 0);
    this.#belt = scene.belt
      ? { qpos: this.model.jnt_qposadr[nameId(mj, this.model, "joint", BELT.joint)], actuator: nameId(mj, this.model, "actuator", BELT.actuator) }
      : undefined;
    this.reset();
  }

  #indexArm(spec: ArmSpec): ArmIndex {
    const { mj, model } = this;
    const jointIds = spec.joints.map((j) => nameId(mj, model, "joint", j));
    return {
      spec,
      qpos: jointIds.map((j) => model.jnt_qposadr[j]),
      dof: jointIds.map((j) => model.jnt_dofadr[j]),
      actuators: spec.actuators.map((a) => nameId(mj, model, "actuator", a)),
      gripperQpos: model.jnt_qposadr[nameId(mj, model, "joint", spec.gripperJoint)],
      mirrorQpos: model.jnt_qposadr[nameId(mj, model, "joint", `${spec.prefix}finger_r`)],
      gripperActuator: nameId(mj, model, "actuator", spec.gripperActuator),
      tcpSite: nameId(mj, model, "site", spec.tcpSite),
      camera: nameId(mj, model, "camera", spec.camera),
    };
  }

  /** Puts every arm at its home pose with the gripper open and objects at their initial poses. */
  reset(): void {
    const { mj, model, data } = this;
    mj.mj_resetData(model, data);
    const qpos: Float64Array = data.qpos;
    const ctrl: Float64Array = data.ctrl;
    for (const arm of this.arms) {
      arm.qpos.forEach((adr, i) => (qpos[adr] = arm.spec.home[i]));
      arm.actuators.forEach((act, i) => (ctrl[act] = arm.spec.home[i]));
      qpos[arm.gripperQpos] = GRIPPER.stroke;
      ctrl[arm.gripperActuator] = GRIPPER.stroke;
    }
    for (const arm of this.arms) qpos[arm.mirrorQpos] = GRIPPER.stroke;
    mj.mj_forward(model, data);
    this.#hash = createHash("sha1");
    this.#steps = 0;
  }

  /** Simulated time in seconds. */
  get time(): number {
    return this.data.time;
  }

  /** Control steps taken since reset. */
  get steps(): number {
    return this.#steps;
  }

  /** Applies one action and advances 1 / controlHz seconds (25 physics steps at 20 Hz). */
  step(action: ArrayLike<number>): void {
    if (action.length !== this.actionDim) {
      throw new SimError(`World.step: action has ${action.length} values; expected ${this.actionDim} (${this.scene.robot.stateNames.join(", ")})`);
    }
    const { mj, model, data } = this;
    const ctrl: Float64Array = data.ctrl;
    const range: Float64Array = model.actuator_ctrlrange;
    let k = 0;
    for (const arm of this.arms) {
      for (const act of arm.actuators) ctrl[act] = clamp(action[k++], range[2 * act], range[2 * act + 1]);
      ctrl[arm.gripperActuator] = clamp(action[k++], 0, 1) * GRIPPER.stroke;
    }
    for (let s = 0; s < this.substeps; s++) {
      if (this.#belt && this.scene.belt) {
        ctrl[this.#belt.actuator] = this.scene.belt(data.time);
      }
      mj.mj_step(model, data);
      if (this.#belt) this.#wrapBelt();
    }
    this.#steps++;
    const qpos: Float64Array = data.qpos;
    this.#hash.update(new Uint8Array(qpos.buffer, qpos.byteOffset, qpos.byteLength));
  }

  // The belt is 6 m long; shifting it by 2 m keeps it in view and looks identical (stripes repeat every 0.1 m).
  #wrapBelt(): void {
    const qpos: Float64Array = this.data.qpos;
    const adr = this.#belt!.qpos;
    if (qpos[adr] > BELT.wrap / 2) qpos[adr] -= BELT.wrap;
    else if (qpos[adr] < -BELT.wrap / 2) qpos[adr] += BELT.wrap;
  }

  /** Robot state: per arm, joint positions then gripper opening in [0, 1] (float32, stateNames order). */
  state(): Float32Array {
    const qpos: Float64Array = this.data.qpos;
    const out = new Float32Array(this.actionDim);
    let k = 0;
    for (const arm of this.arms) {
      for (const adr of arm.qpos) out[k++] = qpos[adr];
      out[k++] = qpos[arm.gripperQpos] / GRIPPER.stroke;
    }
    return out;
  }

  /** SHA-1 over qpos after every control step since reset: equal hashes mean bit-identical trajectories. */
  trajectoryHash(): string {
    return this.#hash.copy().digest("hex");
  }

  /** World position of a body's frame. */
  bodyPos(name: string): Vec3 {
    const id = nameId(this.mj, this.model, "body", name);
    const x: Float64Array = this.data.xpos;
    return [x[3 * id], x[3 * id + 1], x[3 * id + 2]];
  }

  /** Body rotation matrix (row-major 3x3, columns = body axes in world). */
  bodyMat(name: string): Float64Array {
    const id = nameId(this.mj, this.model, "body", name);
    return Float64Array.from((this.data.xmat as Float64Array).subarray(9 * id, 9 * id + 9));
  }

  /** World position of a geom's centre. */
  geomPos(name: string): Vec3 {
    const id = nameId(this.mj, this.model, "geom", name);
    const x: Float64Array = this.data.geom_xpos;
    return [x[3 * id], x[3 * id + 1], x[3 * id + 2]];
  }

  /** Linear velocity of a free body (from its free joint). */
  bodyVel(name: string): Vec3 {
    const j = nameId(this.mj, this.model, "joint", `${name}_joint`);
    const adr: number = this.model.jnt_dofadr[j];
    const v: Float64Array = this.data.qvel;
    return [v[adr], v[adr + 1], v[adr + 2]];
  }

  /** Position of a hinge or slide joint. */
  jointPos(name: string): number {
    const j = nameId(this.mj, this.model, "joint", name);
    return (this.data.qpos as Float64Array)[this.model.jnt_qposadr[j]];
  }

  /** World position of a site. */
  sitePos(site: number): Vec3 {
    const x: Float64Array = this.data.site_xpos;
    return [x[3 * site], x[3 * site + 1], x[3 * site + 2]];
  }

  /** Current belt speed command (m/s), 0 without a belt. */
  beltSpeed(): number {
    return this.scene.belt ? this.scene.belt(this.data.time) : 0;
  }

  /** Renders a named camera. `noise` adds the scene's pixel noise from that stream (randomised level). */
  render(camera: string, width: number, height: number, opts: RenderExtras & { noise?: Rng } = {}): Frame {
    this.#raster ??= new Rasterizer(this.model, this.scene.style);
    const frame = this.#raster.render(this.model, this.data, nameId(this.mj, this.model, "camera", camera), width, height, opts);
    const noise = opts.noise;
    if (noise && this.scene.style.pixelNoise > 0) addPixelNoise(frame.rgb, this.scene.style.pixelNoise, noise);
    return frame;
  }

  /** Frees the MuJoCo model and data (idempotent). */
  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    this.data?.delete();
    this.model?.delete();
  }
}

/** Adds zero-mean noise (standard deviation `sigma` in 0-255 units, sum of two uniforms) to every channel. */
export function addPixelNoise(rgb: Uint8Array, sigma: number, rng: Rng): void {
  // The sum of two uniforms on [-a, a] has standard deviation a * sqrt(2/3).
  const a = sigma / Math.sqrt(2 / 3);
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i] + a * (rng.next() + rng.next() - 1) * 2;
    rgb[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
