// Assembles a full MJCF scene: physics options, table, robot, task props, the top camera; and the Scene record.
import { el, lookAtAxes, toXml, type Vec3, type XmlNode } from "../mjcf.ts";
import { type Rng } from "../rng.ts";
import { type RobotSpec } from "../robots/index.ts";
import { type Level, type SceneStyle } from "./colours.ts";
import { table } from "./props.ts";

/** Physics settings measured to give stable friction grasps (simulation.md section 1). */
export const PHYSICS = { timestep: 0.002, controlHz: 20 } as const;

/** Belt speed (m/s along +y, negative = towards -y) as a function of simulated time. */
export type BeltSchedule = (time: number) => number;

/** Everything a World needs to build and run one episode's scene. */
export interface Scene {
  readonly xml: string;
  readonly robot: RobotSpec;
  readonly style: SceneStyle;
  /** Names of free bodies the task manipulates (for state readout and hashing). */
  readonly objects: readonly string[];
  /** Present when the scene has a conveyor. */
  readonly belt?: BeltSchedule;
  /** Control rate (Hz); physics runs at 1 / PHYSICS.timestep. */
  readonly controlHz: number;
}

export interface TopCamera {
  readonly pos: Vec3;
  readonly target: Vec3;
  readonly fovy: number;
}

/** The scene camera ("top", image0 = head view): above and behind the robot; jittered on the randomised level. */
export function topCamera(rng: Rng, level: Level): TopCamera {
  const nominal: TopCamera = { pos: [0.02, 0, 0.92], target: [0.34, 0, 0], fovy: 40 };
  if (level === "clean") return nominal;
  const j = (v: number, d: number): number => v + rng.uniform(-d, d);
  return {
    pos: [j(nominal.pos[0], 0.04), j(nominal.pos[1], 0.04), j(nominal.pos[2], 0.04)],
    target: [j(nominal.target[0], 0.03), j(nominal.target[1], 0.03), nominal.target[2]],
    fovy: j(nominal.fovy, 4),
  };
}

/** The MJCF text of a scene from its parts. */
export function sceneXml(
  robot: RobotSpec, style: SceneStyle, camera: TopCamera, props: { bodies: XmlNode[]; actuators?: XmlNode[] },
): string {
  const parts = robot.build({ link: style.robotLink, joint: style.robotJoint, finger: style.finger });
  const root = el("mujoco", { model: `internvla_${robot.name}` }, [
    el("compiler", { angle: "radian", autolimits: "true" }),
    el("option", { timestep: PHYSICS.timestep, integrator: "implicitfast", cone: "elliptic", impratio: 10 }),
    el("worldbody", {}, [
      ...table(style.table, style.floor),
      el("camera", { name: "top", pos: camera.pos, xyaxes: lookAtAxes(camera.pos, camera.target), fovy: camera.fovy }),
      ...parts.bodies,
      ...props.bodies,
    ]),
    el("actuator", {}, [...parts.actuators, ...(props.actuators ?? [])]),
    el("equality", {}, parts.equality),
  ]);
  return toXml(root);
}
