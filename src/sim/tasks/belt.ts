// Shared pieces of the conveyor tasks: belt layout, speed schedules with stops, waiting for parcels, ready pose.
import { INTERCEPT, poseAt } from "../control/skills.ts";
import { moveTo, type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { type Rng } from "../rng.ts";
import { type BeltSchedule } from "../scene/build.ts";
import { type Level } from "../scene/colours.ts";
import { type World } from "../world.ts";
import { conveyor, type ConveyorSpec } from "../scene/props.ts";
import { type EpisodeRngs } from "./common.ts";

/** The belt runs along y in front of the robot; objects are reachable for |y| < REACH_Y. */
export const BELT_X = 0.4;
export const BELT_TOP = 0.05;
export const REACH_Y = 0.24;

/** Conveyor geometry and colours for the level. */
export function conveyorSpec(rngs: EpisodeRngs, level: Level): ConveyorSpec {
  const g = level === "randomised" ? rngs.look.uniform(0.12, 0.35) : 0.22;
  return { x: BELT_X, halfWidth: 0.07, top: BELT_TOP, belt: [g, g, g * 1.05], frame: [0.5, 0.5, 0.55] };
}

export function conveyorProps(rngs: EpisodeRngs, level: Level): ReturnType<typeof conveyor> {
  return conveyor(conveyorSpec(rngs, level));
}

/** A belt that runs at `speed` (signed, m/s), optionally stopping during [stopAt, stopAt + stopFor) and restarting at `after`. */
export function beltSchedule(speed: number, stop?: { at: number; duration: number; after: number }): BeltSchedule {
  if (!stop) return () => speed;
  return (t) => (t < stop.at ? speed : t < stop.at + stop.duration ? 0 : stop.after);
}

/** A random stop-and-restart for the randomised level (probability `p`), else none. */
export function randomStop(rng: Rng, speed: number, p: number): { at: number; duration: number; after: number } | undefined {
  if (!rng.chance(p)) return undefined;
  return { at: rng.uniform(1.0, 4.0), duration: rng.uniform(0.4, 1.2), after: speed * rng.uniform(0.7, 1.3) };
}

/** Spots along the belt centre line starting upstream of the reach window, spaced by `gaps`. */
export function beltSpots(direction: number, first: number, gaps: readonly number[]): Vec3[] {
  const ys = [first];
  for (const g of gaps) ys.push(ys[ys.length - 1] + g);
  // Upstream is the side the belt comes from: +y when it runs towards -y.
  return ys.map((y) => [BELT_X, -direction * y, BELT_TOP]);
}

/** Holds the command until `ready()` is true (checked every step) or `limit` steps pass; returns whether it became ready. */
export function* waitUntil(ready: () => boolean, limit: number): Motion<boolean> {
  for (let k = 0; k < limit; k++) {
    if (ready()) return true;
    yield;
  }
  return ready();
}

/** A waiting pose above the belt on the upstream side, so interceptions start close. */
export function* toReady(ctx: ExpertContext, arm: number, direction: number): Motion {
  const at: Vec3 = [BELT_X - 0.04, -direction * 0.08, BELT_TOP + 0.14];
  yield* moveTo(ctx, arm, poseAt(at, -Math.PI / 2), { speed: 2 });
}

export type CatchState = "wait" | "go" | "missed";

/**
 * Whether to start intercepting an object now: its position along the belt when the fingers would close
 * (after INTERCEPT steps) should be near the arm (downstream coordinate >= -0.06) and still within reach.
 */
export function catchState(world: World, name: string, direction: number): CatchState {
  const dt = 1 / world.scene.controlHz;
  const lead = (INTERCEPT.reach + INTERCEPT.descend + INTERCEPT.close) * dt;
  const y = world.bodyPos(name)[1] + world.bodyVel(name)[1] * lead;
  const downstream = direction * y;
  if (Math.abs(y) > REACH_Y) return downstream > 0 ? "missed" : "wait";
  return downstream >= -0.06 ? "go" : "wait";
}
