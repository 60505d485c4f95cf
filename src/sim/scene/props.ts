// Scene props as MJCF: table, free objects, bins, pads, the conveyor belt, a drawer cabinet and a handled box.
import { el, yawQuat, type Vec3, type XmlNode } from "../mjcf.ts";
import { type Rgb } from "./colours.ts";

// Collision classes (contype bits): static props 1, arm links 2, fingers 4, belt 8. Static props touch objects,
// links and fingers; free objects touch everything; the belt touches only objects and fingers, so the 6 m belt
// is never tested against the table or bins (broadphase skips pairs whose bits do not match). Visuals hit nothing.
export const SOLID = { contype: 1, conaffinity: 7 } as const;
export const OBJECT = { contype: 9, conaffinity: 15 } as const;
const BELT_CLASS = { contype: 8, conaffinity: 12 } as const;
export const VISUAL = { contype: 0, conaffinity: 0 } as const;
/** Belt and table top height conventions (metres, world frame): the table top is z = 0. */
export const TABLE_TOP = 0;

const rgba = (c: Rgb, a = 1): number[] => [c[0], c[1], c[2], a];

/** The table (top at z = 0) and the floor below it. */
export function table(colour: Rgb, floor: Rgb): XmlNode[] {
  return [
    el("geom", { name: "floor", type: "plane", size: [4, 4, 0.1], pos: [0, 0, -0.75], rgba: rgba(floor), ...VISUAL }),
    el("geom", { name: "table", type: "box", size: [0.55, 0.8, 0.02], pos: [0.27, 0, -0.02], rgba: rgba(colour), friction: [1, 0.005, 0.0001], ...SOLID }),
    el("geom", { name: "table_leg", type: "box", size: [0.5, 0.7, 0.36], pos: [0.27, 0, -0.4], rgba: rgba(colour.map((c) => c * 0.7) as unknown as Rgb), ...VISUAL }),
  ];
}

export type Shape = "box" | "cylinder" | "sphere";

/** A free object resting on a surface at height `z0`. `half` is [hx, hy, hz] (box) or [r, r, hz] (cylinder/sphere). */
export interface ObjectSpec {
  readonly name: string;
  readonly shape: Shape;
  readonly half: Vec3;
  readonly pos: Vec3;
  readonly yaw: number;
  readonly colour: Rgb;
  readonly mass: number;
  readonly friction: number;
}

/** A free body with one geom named `<name>_geom`. */
export function freeObject(o: ObjectSpec): XmlNode {
  const size = o.shape === "box" ? o.half : o.shape === "cylinder" ? [o.half[0], o.half[2]] : [o.half[0]];
  return el("body", { name: o.name, pos: o.pos, quat: yawQuat(o.yaw) }, [
    el("freejoint", { name: `${o.name}_joint` }),
    el("geom", {
      name: `${o.name}_geom`, type: o.shape, size, rgba: rgba(o.colour), mass: o.mass,
      friction: [o.friction, 0.005, 0.0001], condim: 4, solimp: [0.95, 0.99, 0.001], ...OBJECT,
    }),
  ]);
}

/** An open-top bin centred at `pos` (bottom on the table) with inner half extents and wall height. */
export function bin(name: string, pos: Vec3, inner: readonly [number, number], height: number, colour: Rgb): XmlNode {
  const t = 0.008;
  const [hx, hy] = inner;
  const wall = (suffix: string, p: Vec3, s: Vec3): XmlNode =>
    el("geom", { name: `${name}_${suffix}`, type: "box", size: s, pos: p, rgba: rgba(colour), ...SOLID });
  return el("body", { name, pos }, [
    wall("floor", [0, 0, t / 2], [hx + t, hy + t, t / 2]),
    wall("wall_xp", [hx + t / 2, 0, height / 2], [t / 2, hy + t, height / 2]),
    wall("wall_xn", [-hx - t / 2, 0, height / 2], [t / 2, hy + t, height / 2]),
    wall("wall_yp", [0, hy + t / 2, height / 2], [hx, t / 2, height / 2]),
    wall("wall_yn", [0, -hy - t / 2, height / 2], [hx, t / 2, height / 2]),
  ]);
}

/** A flat coloured target zone lying on the table (visual only). */
export function pad(name: string, pos: Vec3, half: readonly [number, number], colour: Rgb): XmlNode {
  return el("geom", { name, type: "box", size: [half[0], half[1], 0.0015], pos: [pos[0], pos[1], pos[2] + 0.0015], rgba: rgba(colour), ...VISUAL });
}

/** A conveyor along world y at x = `x`: a 6 m belt on a slide joint driven by a velocity servo. */
export interface ConveyorSpec {
  readonly x: number;
  readonly halfWidth: number;
  /** Height of the belt's top surface above the table. */
  readonly top: number;
  readonly belt: Rgb;
  readonly frame: Rgb;
}

/** Belt joint, actuator and the wrap length: the belt's qpos is kept in [-1, 1] by shifting it 2 m. */
export const BELT = { joint: "belt", actuator: "belt_motor", wrap: 2, stripePitch: 0.1 } as const;

/** Conveyor bodies (for <worldbody>) and its motor (for <actuator>). */
export function conveyor(c: ConveyorSpec): { bodies: XmlNode[]; actuators: XmlNode[] } {
  const th = 0.01;
  const stripes: XmlNode[] = [];
  // Stripes repeat every 0.1 m, which divides the 2 m wrap, so the belt looks continuous after a shift.
  for (let y = -1.7; y <= 1.7 + 1e-9; y += BELT.stripePitch) {
    stripes.push(el("geom", { type: "box", size: [c.halfWidth * 0.96, 0.012, 0.0006], pos: [0, y, th + 0.0006], rgba: rgba(c.belt.map((v) => v * 0.55) as unknown as Rgb), ...VISUAL }));
  }
  const frame = el("body", { name: "conveyor_frame", pos: [c.x, 0, 0] }, [
    el("geom", { type: "box", size: [c.halfWidth + 0.02, 0.75, (c.top - 0.025) / 2], pos: [0, 0, (c.top - 0.025) / 2], rgba: rgba(c.frame), ...VISUAL }),
    el("geom", { name: "rail_xp", type: "box", size: [0.008, 0.75, 0.012], pos: [c.halfWidth + 0.012, 0, c.top + 0.004], rgba: rgba(c.frame), ...SOLID }),
    el("geom", { name: "rail_xn", type: "box", size: [0.008, 0.75, 0.012], pos: [-c.halfWidth - 0.012, 0, c.top + 0.004], rgba: rgba(c.frame), ...SOLID }),
  ]);
  const belt = el("body", { name: "belt_body", pos: [c.x, 0, c.top - th] }, [
    el("joint", { name: BELT.joint, type: "slide", axis: [0, 1, 0], damping: 0 }),
    el("geom", { name: "belt_geom", type: "box", size: [c.halfWidth, 3, th], rgba: rgba(c.belt), mass: 5, friction: [1.2, 0.005, 0.0001], ...BELT_CLASS }),
    ...stripes,
  ]);
  return { bodies: [frame, belt], actuators: [el("velocity", { name: BELT.actuator, joint: BELT.joint, kv: 400, ctrlrange: [-1, 1], forcerange: [-400, 400] })] };
}

/** A cabinet whose drawer slides towards -x (the robot); the handle is a bar along y near the drawer's top. */
export interface DrawerSpec {
  readonly pos: Vec3;
  readonly halfWidth: number;
  readonly height: number;
  readonly body: Rgb;
  readonly front: Rgb;
  readonly handle: Rgb;
}

export const DRAWER = { joint: "drawer_slide", handle: "drawer_handle", depth: 0.1, travel: 0.2, standoff: 0.05 } as const;

/** Cabinet shell (static) and the drawer (slide joint) with its handle; `pos` is the centre of the cabinet front. */
export function drawer(d: DrawerSpec): XmlNode[] {
  const hw = d.halfWidth;
  const h = d.height;
  const t = 0.008;
  const shell = { ...SOLID, conaffinity: 6 };
  const cab = el("body", { name: "cabinet", pos: d.pos }, [
    el("geom", { type: "box", size: [DRAWER.depth, hw + t, t / 2], pos: [DRAWER.depth, 0, h + t / 2], rgba: rgba(d.body), ...shell }),
    el("geom", { type: "box", size: [DRAWER.depth, t / 2, h / 2], pos: [DRAWER.depth, hw + t / 2, h / 2], rgba: rgba(d.body), ...shell }),
    el("geom", { type: "box", size: [DRAWER.depth, t / 2, h / 2], pos: [DRAWER.depth, -hw - t / 2, h / 2], rgba: rgba(d.body), ...shell }),
    el("geom", { type: "box", size: [t / 2, hw + t, h / 2], pos: [2 * DRAWER.depth + t / 2, 0, h / 2], rgba: rgba(d.body), ...shell }),
  ]);
  const hz = h - 0.02;
  const part = { ...SOLID, conaffinity: 6 };
  const box = el("body", { name: "drawer", pos: d.pos }, [
    el("joint", { name: DRAWER.joint, type: "slide", axis: [-1, 0, 0], range: [0, DRAWER.travel], damping: 3, frictionloss: 0.5 }),
    el("geom", { name: "drawer_front", type: "box", size: [t / 2, hw - 0.004, h / 2 - 0.004], pos: [t / 2, 0, h / 2], rgba: rgba(d.front), mass: 0.2, ...part }),
    el("geom", { type: "box", size: [DRAWER.depth - t, hw - 0.01, t / 2], pos: [DRAWER.depth, 0, t], rgba: rgba(d.front), mass: 0.1, ...part }),
    ...[0.045, -0.045].map((y) =>
      el("geom", { type: "box", size: [DRAWER.standoff / 2, 0.005, 0.005], pos: [-DRAWER.standoff / 2, y, hz], rgba: rgba(d.handle), mass: 0.01, ...part }),
    ),
    el("geom", { name: DRAWER.handle, type: "box", size: [0.006, 0.055, 0.006], pos: [-DRAWER.standoff, 0, hz], rgba: rgba(d.handle), mass: 0.02, friction: [1.5, 0.01, 0.001], ...part }),
  ]);
  return [cab, box];
}

/** A box lying along y with a handle bar (along x) sticking out of each end, to be lifted with two hands. */
export function handledBox(name: string, pos: Vec3, yaw: number, half: Vec3, colour: Rgb, handleColour: Rgb, mass: number): XmlNode {
  const [hx, hy, hz] = half;
  const reach = 0.05;
  // Posts at both ends of the bar leave its middle free for the fingers.
  const post = (sign: number, x: number): XmlNode =>
    el("geom", { type: "box", size: [0.006, reach / 2, 0.006], pos: [x, sign * (hy + reach / 2), hz - 0.012], rgba: rgba(handleColour), mass: 0.01, ...OBJECT });
  const handle = (sign: number, suffix: string): XmlNode[] => [
    post(sign, 0.039),
    post(sign, -0.039),
    el("geom", { name: `${name}_handle_${suffix}`, type: "box", size: [0.045, 0.007, 0.007], pos: [0, sign * (hy + reach), hz - 0.012], rgba: rgba(handleColour), mass: 0.02, friction: [1.5, 0.01, 0.001], ...OBJECT }),
  ];
  return el("body", { name, pos, quat: yawQuat(yaw) }, [
    el("freejoint", { name: `${name}_joint` }),
    el("geom", { name: `${name}_geom`, type: "box", size: [hx, hy, hz], rgba: rgba(colour), mass, friction: [1, 0.005, 0.0001], ...OBJECT }),
    ...handle(1, "l"),
    ...handle(-1, "r"),
  ]);
}
