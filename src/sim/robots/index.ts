// The embodiments (robot_type names, kinematic chains, home poses, state/action layout) and their registry.
import { ConfigError } from "../../tensor/errors.ts";
import { type Vec3, type XmlNode } from "../mjcf.ts";
import { armActuators, armBody, armEquality, armNames, type ArmNames, type ChainSpec, type LinkSpec, type RobotStyle } from "./chain.ts";

export { GRIPPER, type RobotStyle } from "./chain.ts";

/** robot_type names, used for dataset metadata, normalisation statistics and delta-action masks. */
export const ROBOT_TYPES = ["arm5", "arm7", "dual_arm"] as const;
export type RobotType = (typeof ROBOT_TYPES)[number];

/** One arm of a robot as placed in the world. */
export interface ArmSpec extends ArmNames {
  readonly home: readonly number[];
  readonly ranges: readonly (readonly [number, number])[];
  readonly base: Vec3;
  readonly side: "single" | "left" | "right";
}

/** An embodiment: its arms, cameras and the names of the state/action dimensions. */
export interface RobotSpec {
  readonly name: RobotType;
  readonly description: string;
  readonly arms: readonly ArmSpec[];
  /** Camera names in dataset order (image0 = top, then wrist views). */
  readonly cameras: readonly string[];
  /** Per dimension: joint positions then gripper opening per arm; action has the same layout. */
  readonly stateNames: readonly string[];
  /** MJCF pieces: bodies for <worldbody>, servos for <actuator>, couplings for <equality>. */
  build(style: RobotStyle): { bodies: XmlNode[]; actuators: XmlNode[]; equality: XmlNode[] };
}

const PI = Math.PI;
const link = (offset: Vec3, kind: LinkSpec["kind"], range: [number, number], kp: number, length: number, radius: number): LinkSpec => ({
  offset, kind, range, kp, capsuleTo: [0, 0, length], radius,
});

// A 5-DoF arm (yaw, 3 pitches, wrist roll), the SO-100 family's layout.
const ARM5: ChainSpec = {
  baseRadius: 0.055, baseHeight: 0.06, handOffset: [0, 0, 0.02],
  links: [
    link([0, 0, 0.06], "yaw", [-2.8, 2.8], 300, 0.05, 0.04),
    link([0, 0, 0.07], "pitch", [-2.0, 2.0], 400, 0.24, 0.03),
    link([0, 0, 0.24], "pitch", [-2.7, 2.7], 300, 0.22, 0.025),
    link([0, 0, 0.22], "pitch", [-2.7, 2.7], 120, 0.04, 0.022),
    link([0, 0, 0.04], "roll", [-3.1, 3.1], 40, 0.0, 0.02),
  ],
};

// A 7-DoF arm (yaw, pitch, roll, pitch, roll, pitch, roll), the Franka/xArm7 layout.
const ARM7: ChainSpec = {
  baseRadius: 0.06, baseHeight: 0.08, handOffset: [0, 0, 0.04],
  links: [
    link([0, 0, 0.08], "yaw", [-2.8, 2.8], 300, 0.06, 0.045),
    link([0, 0, 0.07], "pitch", [-1.9, 1.9], 500, 0.14, 0.035),
    link([0, 0, 0.14], "roll", [-2.8, 2.8], 150, 0.14, 0.032),
    link([0, 0, 0.14], "pitch", [-2.8, 2.8], 350, 0.13, 0.03),
    link([0, 0, 0.13], "roll", [-2.8, 2.8], 100, 0.12, 0.027),
    link([0, 0, 0.12], "pitch", [-2.7, 2.7], 120, 0.04, 0.024),
    link([0, 0, 0.04], "roll", [-3.1, 3.1], 40, 0.0, 0.022),
  ],
};

// A 6-DoF arm (yaw, pitch, pitch, roll, pitch, roll), the ALOHA/Piper layout, used twice by dual_arm.
const ARM6: ChainSpec = {
  baseRadius: 0.05, baseHeight: 0.06, handOffset: [0, 0, 0.05],
  links: [
    link([0, 0, 0.06], "yaw", [-2.8, 2.8], 300, 0.05, 0.04),
    link([0, 0, 0.06], "pitch", [-2.0, 2.0], 400, 0.24, 0.03),
    link([0, 0, 0.24], "pitch", [-2.7, 2.7], 300, 0.11, 0.026),
    link([0, 0, 0.11], "roll", [-2.8, 2.8], 80, 0.11, 0.024),
    link([0, 0, 0.11], "pitch", [-2.7, 2.7], 120, 0.03, 0.022),
    link([0, 0, 0.03], "roll", [-3.1, 3.1], 40, 0.0, 0.02),
  ],
};

function placeArm(chain: ChainSpec, prefix: string, camera: string, base: Vec3, home: number[], side: ArmSpec["side"]): ArmSpec {
  return { ...armNames(prefix, chain.links.length, camera), home, ranges: chain.links.map((l) => l.range), base, side };
}

function makeRobot(name: RobotType, description: string, chain: ChainSpec, arms: ArmSpec[]): RobotSpec {
  const stateNames = arms.flatMap((a) => [...a.joints, `${a.prefix}gripper`]);
  return {
    name, description, arms, stateNames,
    cameras: ["top", ...arms.map((a) => a.camera)],
    build: (style) => ({
      bodies: arms.map((a) => armBody(a, chain, style, a.base, 0)),
      actuators: arms.flatMap((a) => armActuators(a, chain)),
      equality: arms.map((a) => armEquality(a)),
    }),
  };
}

const ROBOTS: Record<RobotType, RobotSpec> = {
  arm5: makeRobot("arm5", "5-DoF arm (yaw, 3 pitch, roll) with a parallel gripper; state 6 = 5 joints + gripper", ARM5, [
    placeArm(ARM5, "", "wrist", [0, 0, 0], [0, 0.19, 1.59, 1.36, -PI / 2], "single"),
  ]),
  arm7: makeRobot("arm7", "7-DoF arm (yaw, pitch, roll, pitch, roll, pitch, roll) with a parallel gripper; state 8", ARM7, [
    placeArm(ARM7, "", "wrist", [0, 0, 0], [0, 0.1, 0, 1.84, 0, 1.21, -PI / 2], "single"),
  ]),
  dual_arm: makeRobot("dual_arm", "two 6-DoF arms 0.52 m apart, each with a parallel gripper; state 14 = 2 x (6 joints + gripper)", ARM6, [
    placeArm(ARM6, "left_", "left_wrist", [0, 0.26, 0], [0, 0.17, 1.476, 0, 1.496, -PI / 2], "left"),
    placeArm(ARM6, "right_", "right_wrist", [0, -0.26, 0], [0, 0.17, 1.476, 0, 1.496, -PI / 2], "right"),
  ]),
};

/** The embodiment called `name`; unknown names fail with the list. */
export function getRobot(name: string): RobotSpec {
  if (!(ROBOT_TYPES as readonly string[]).includes(name)) {
    throw new ConfigError(`sim.getRobot: unknown robot "${name}"; expected one of ${ROBOT_TYPES.join(", ")}`);
  }
  return ROBOTS[name as RobotType];
}
