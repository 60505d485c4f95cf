// Shared task pieces: scene assembly, object sampling with size/mass/friction randomisation, placement checks.
import { type XmlNode, type Vec3 } from "../mjcf.ts";
import { makeRng, type Rng } from "../rng.ts";
import { getRobot, type RobotType } from "../robots/index.ts";
import { PHYSICS, sceneXml, topCamera, type BeltSchedule, type Scene } from "../scene/build.ts";
import { colourRgb, sceneStyle, type Level, type Split } from "../scene/colours.ts";
import { type ObjectSpec, type Shape } from "../scene/props.ts";
import { ConfigError } from "../../tensor/errors.ts";
import { type Graspable } from "../control/skills.ts";
import { type World } from "../world.ts";
import { type TaskDef, type TaskInstance, type TaskOptions } from "./types.ts";

/** Streams of one episode: layout, looks and language never share draws, so changing one keeps the others. */
export interface EpisodeRngs {
  readonly layout: Rng;
  readonly look: Rng;
  readonly language: Rng;
}

export function episodeRngs(task: string, seed: number): EpisodeRngs {
  return { layout: makeRng(seed, `${task}/layout`), look: makeRng(seed, `${task}/look`), language: makeRng(seed, `${task}/language`) };
}

/** The robot for a task (default: its first), refusing robots the task does not support. */
export function resolveRobot(def: Pick<TaskDef, "name" | "robots">, opts: TaskOptions | undefined): RobotType {
  const robot = opts?.robot ?? def.robots[0];
  if (!def.robots.includes(robot)) {
    throw new ConfigError(`task ${def.name}: robot "${robot}" is not supported; expected one of ${def.robots.join(", ")}`);
  }
  return robot;
}

/** Everything a task's scene builder receives: the episode's seed, level, split, robot and random streams. */
export interface TaskSetup {
  readonly seed: number;
  readonly level: Level;
  readonly split: Split;
  readonly robot: RobotType;
  readonly rngs: EpisodeRngs;
  readonly controlHz: number;
}

/** What a task's builder returns; defineTask adds the episode's identity. */
export type TaskBody = Omit<TaskInstance, "task" | "seed" | "level" | "split">;

/** A registry entry from the task's metadata and a builder of one episode. */
export function defineTask(meta: Omit<TaskDef, "generate">, build: (setup: TaskSetup) => TaskBody): TaskDef {
  return {
    ...meta,
    generate(seed: number, level: Level, opts?: TaskOptions): TaskInstance {
      const split = opts?.split ?? "train";
      const setup: TaskSetup = {
        seed, level, split, robot: resolveRobot(meta, opts), rngs: episodeRngs(meta.name, seed), controlHz: opts?.controlHz ?? PHYSICS.controlHz,
      };
      return { task: meta.name, seed, level, split, ...build(setup) };
    },
  };
}

/** Builds the Scene record: style and camera from the look stream, then the MJCF. */
export function makeScene(setup: TaskSetup, objects: readonly string[], props: { bodies: XmlNode[]; actuators?: XmlNode[] }, belt?: BeltSchedule): Scene {
  const robot = getRobot(setup.robot);
  const style = sceneStyle(setup.rngs.look, setup.level);
  const camera = topCamera(setup.rngs.look, setup.level);
  return { xml: sceneXml(robot, style, camera, props), robot, style, objects, belt, controlHz: setup.controlHz };
}

/** An axis-aligned region of the table, x and y ranges in metres. */
export interface Region {
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
}

/** `n` positions in `region` at least `minDist` apart and from every point in `avoid` (rejection sampling). */
export function sampleSpots(rng: Rng, n: number, region: Region, minDist: number, avoid: readonly Vec3[] = []): Vec3[] {
  const out: Vec3[] = [];
  for (let attempt = 0; out.length < n; attempt++) {
    if (attempt > 2000) throw new RangeError(`sampleSpots: cannot fit ${n} spots ${minDist} m apart in the region`);
    const p: Vec3 = [rng.uniform(region.x[0], region.x[1]), rng.uniform(region.y[0], region.y[1]), 0];
    if ([...out, ...avoid].every((q) => Math.hypot(p[0] - q[0], p[1] - q[1]) >= minDist)) out.push(p);
  }
  return out;
}

/** A graspable block with the level's size, mass and friction randomisation. */
export function makeBlock(
  rngs: EpisodeRngs, level: Level, name: string, colour: string, at: Vec3, opts: { shape?: Shape; half?: Vec3; z0?: number; yaw?: number } = {},
): ObjectSpec {
  const r = rngs.layout;
  const rand = level === "randomised";
  const base = opts.half ?? [0.022, 0.022, 0.022];
  const s = rand ? r.uniform(0.85, 1.15) : 1;
  const half: Vec3 = [base[0] * s, base[1] * s, base[2] * (rand ? r.uniform(0.85, 1.15) : 1)];
  return {
    name, shape: opts.shape ?? "box", half,
    pos: [at[0], at[1], (opts.z0 ?? 0) + half[2] + 0.0005],
    yaw: opts.yaw ?? r.uniform(-0.6, 0.6),
    colour: colourRgb(colour, rngs.look, level),
    mass: rand ? r.uniform(0.03, 0.12) : 0.06,
    friction: rand ? r.uniform(0.7, 1.2) : 1.0,
  };
}

/** The expert's view of an object spec. */
export function graspable(o: ObjectSpec): Graspable {
  const round = o.shape !== "box";
  const square = Math.abs(o.half[0] - o.half[1]) < 1e-3;
  return {
    name: o.name, halfHeight: o.half[2],
    symmetry: round ? 0 : square ? Math.PI / 2 : Math.PI,
    // Close across the narrower horizontal side of a box.
    graspYaw: !round && o.half[1] < o.half[0] - 1e-3 ? Math.PI / 2 : 0,
  };
}

/** True when the object's centre is over an open bin's floor (inner half extents) and its bottom is below the rim. */
export function inBin(world: World, o: ObjectSpec, centre: Vec3, inner: readonly [number, number], height: number): boolean {
  const p = world.bodyPos(o.name);
  return Math.abs(p[0] - centre[0]) < inner[0] && Math.abs(p[1] - centre[1]) < inner[1] && p[2] - o.half[2] < centre[2] + height;
}

/** True when the object rests on a flat zone: centre over it and resting at table height, not moving. */
export function restsOn(world: World, object: string, centre: Vec3, half: readonly [number, number], objectHalfHeight: number): boolean {
  const p = world.bodyPos(object);
  const v = world.bodyVel(object);
  return (
    Math.abs(p[0] - centre[0]) < half[0] + 0.005 && Math.abs(p[1] - centre[1]) < half[1] + 0.005 &&
    Math.abs(p[2] - (centre[2] + objectHalfHeight)) < 0.012 && Math.hypot(...v) < 0.05
  );
}

/** Colour slot text for an object spec name, e.g. "red cube". */
export function describe(colour: string, noun: string): string {
  return `${colour} ${noun}`;
}

export type { Split };
