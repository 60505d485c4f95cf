// Builds one serial arm with a parallel gripper and a wrist camera as MJCF, from a compact chain description.
import { el, type Vec3, type XmlNode } from "../mjcf.ts";

/** Joint axis in the link frame: yaw/roll about local z, pitch about local y. */
export type JointKind = "yaw" | "pitch" | "roll";

/** One link: where its body sits in the parent, the joint it turns about, and its capsule. */
export interface LinkSpec {
  readonly offset: Vec3;
  readonly kind: JointKind;
  readonly range: readonly [number, number];
  /** Position-servo stiffness (N m / rad); damping follows from dampratio 1. */
  readonly kp: number;
  /** Capsule from the body origin to this point (local frame), and its radius. */
  readonly capsuleTo: Vec3;
  readonly radius: number;
}

/** An arm: a base cylinder, a chain of links, then a hand at `handOffset` in the last link. */
export interface ChainSpec {
  readonly baseRadius: number;
  readonly baseHeight: number;
  readonly links: readonly LinkSpec[];
  readonly handOffset: Vec3;
}

/** Colours of the robot, chosen by the scene's randomisation level. */
export interface RobotStyle {
  readonly link: readonly [number, number, number];
  readonly joint: readonly [number, number, number];
  readonly finger: readonly [number, number, number];
}

/** Names of everything one arm puts into the model (prefix + fixed suffixes). */
export interface ArmNames {
  readonly prefix: string;
  readonly joints: readonly string[];
  readonly actuators: readonly string[];
  readonly gripperJoint: string;
  readonly gripperActuator: string;
  readonly tcpSite: string;
  readonly camera: string;
  readonly handBody: string;
}

/** Gripper geometry shared by every embodiment (metres). */
export const GRIPPER = {
  /** Opening of one finger at "fully open" (slide joint range), so the full gap is twice this. */
  stroke: 0.04,
  palmHalf: [0.052, 0.018, 0.012] as Vec3,
  fingerHalf: [0.006, 0.014, 0.026] as Vec3,
  /** Distance from the hand origin to the tool centre point (between the finger pads). */
  tcpDepth: 0.024 + 0.036,
  forceLimit: 12,
} as const;

const AXIS: Record<JointKind, Vec3> = { yaw: [0, 0, 1], pitch: [0, 1, 0], roll: [0, 0, 1] };
const rgba = (c: readonly number[], a = 1): number[] => [c[0], c[1], c[2], a];
// Collision classes (see docs/simulator.md): arm links 2, fingers 4, both only hit geoms whose conaffinity has them.
const LINK_COLLISION = { contype: 2, conaffinity: 0 };
const FINGER_COLLISION = { contype: 4, conaffinity: 0 };

/** The names an arm with `prefix` defines, and its wrist camera name `camera`. */
export function armNames(prefix: string, jointCount: number, camera: string): ArmNames {
  return {
    prefix,
    joints: Array.from({ length: jointCount }, (_, i) => `${prefix}joint${i + 1}`),
    actuators: Array.from({ length: jointCount }, (_, i) => `${prefix}act${i + 1}`),
    gripperJoint: `${prefix}finger_l`,
    gripperActuator: `${prefix}gripper`,
    tcpSite: `${prefix}tcp`,
    camera,
    handBody: `${prefix}hand`,
  };
}

function fingerBody(names: ArmNames, side: "l" | "r", style: RobotStyle): XmlNode {
  const sign = side === "l" ? 1 : -1;
  const [fx, fy, fz] = GRIPPER.fingerHalf;
  const z0 = GRIPPER.palmHalf[2] * 2;
  return el("body", { name: `${names.prefix}finger_${side}_body`, pos: [0, 0, z0] }, [
    el("joint", { name: `${names.prefix}finger_${side}`, type: "slide", axis: [sign, 0, 0], range: [0, GRIPPER.stroke], armature: 0.005, damping: 2 }),
    el("geom", {
      name: `${names.prefix}finger_${side}_geom`, type: "box", size: [fx, fy, fz], pos: [sign * fx, 0, fz],
      rgba: rgba(style.finger), friction: [1.5, 0.02, 0.002], condim: 4, mass: 0.03,
      solref: [0.01, 1], solimp: [0.95, 0.99, 0.001], ...FINGER_COLLISION,
    }),
  ]);
}

function handBody(names: ArmNames, spec: ChainSpec, style: RobotStyle): XmlNode {
  const [px, py, pz] = GRIPPER.palmHalf;
  return el("body", { name: names.handBody, pos: spec.handOffset, gravcomp: 1 }, [
    el("geom", { type: "cylinder", size: [0.028, 0.008], pos: [0, 0, -0.008], rgba: rgba(style.joint), mass: 0.05, ...LINK_COLLISION }),
    el("geom", { type: "box", size: [px, py, pz], pos: [0, 0, pz], rgba: rgba(style.link), mass: 0.15, ...LINK_COLLISION }),
    el("site", { name: names.tcpSite, pos: [0, 0, GRIPPER.tcpDepth], size: [0.005], rgba: [1, 0, 0, 0], group: 4 }),
    // Looks along the fingers (+z of the hand) from the back of the palm, tilted towards the finger gap.
    el("camera", { name: names.camera, pos: [0, 0.065, -0.01], xyaxes: [1, 0, 0, 0, -0.94, -0.34], fovy: 75 }),
    el("geom", { type: "box", size: [0.015, 0.012, 0.008], pos: [0, 0.062, -0.02], rgba: rgba(style.joint), mass: 0.02, ...LINK_COLLISION }),
    fingerBody(names, "l", style),
    fingerBody(names, "r", style),
  ]);
}

function linkBody(names: ArmNames, spec: ChainSpec, style: RobotStyle, i: number): XmlNode {
  const link = spec.links[i];
  const inner = i + 1 < spec.links.length ? linkBody(names, spec, style, i + 1) : handBody(names, spec, style);
  return el("body", { name: `${names.prefix}link${i + 1}`, pos: link.offset, gravcomp: 1 }, [
    el("joint", { name: names.joints[i], type: "hinge", axis: AXIS[link.kind], range: link.range, armature: 0.02, damping: 0.5 }),
    el("geom", { type: "sphere", size: [link.radius * 1.15], rgba: rgba(style.joint), mass: 0.1, ...LINK_COLLISION }),
    Math.hypot(...link.capsuleTo) > 0
      ? el("geom", { type: "capsule", fromto: [0, 0, 0, ...link.capsuleTo], size: [link.radius], rgba: rgba(style.link), mass: 0.3, ...LINK_COLLISION })
      : null,
    inner,
  ]);
}

/** The arm's body tree rooted at `base` (world position) turned by `yaw` about z. */
export function armBody(names: ArmNames, spec: ChainSpec, style: RobotStyle, base: Vec3, yaw: number): XmlNode {
  return el("body", { name: `${names.prefix}base`, pos: base, euler: [0, 0, yaw] }, [
    el("geom", {
      type: "cylinder", size: [spec.baseRadius, spec.baseHeight / 2], pos: [0, 0, spec.baseHeight / 2],
      rgba: rgba(style.joint), ...LINK_COLLISION,
    }),
    linkBody(names, spec, style, 0),
  ]);
}

/** Position servos for the joints and the gripper, in action order. */
export function armActuators(names: ArmNames, spec: ChainSpec): XmlNode[] {
  const joints = spec.links.map((link, i) =>
    el("position", { name: names.actuators[i], joint: names.joints[i], kp: link.kp, dampratio: 1, ctrlrange: link.range, forcerange: [-80, 80] }),
  );
  const grip = el("position", {
    name: names.gripperActuator, joint: names.gripperJoint, kp: 600, dampratio: 1,
    ctrlrange: [0, GRIPPER.stroke], forcerange: [-GRIPPER.forceLimit, GRIPPER.forceLimit],
  });
  return [...joints, grip];
}

/** The right finger mirrors the left one (a joint equality), so one actuator drives the gripper. */
export function armEquality(names: ArmNames): XmlNode {
  return el("joint", { joint1: `${names.prefix}finger_r`, joint2: names.gripperJoint, polycoef: [0, 1, 0, 0, 0], solref: [0.005, 1] });
}
