// moving_pick (dynamic, the In-motion Ingredient Picking analogue): pick the named item off a belt whose speed and direction vary.
import { pickMoving, placeAt } from "../control/skills.ts";
import { type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { pickColours } from "../scene/colours.ts";
import { bin, freeObject, type ObjectSpec, type Shape } from "../scene/props.ts";
import { beltSchedule, beltSpots, catchState, conveyorProps, randomStop, toReady, waitUntil } from "./belt.ts";
import { defineTask, graspable, inBin, makeBlock, makeScene } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

const TRAY_INNER: readonly [number, number] = [0.07, 0.07];
const TRAY_HEIGHT = 0.04;
const TRAY_SPOTS: readonly Vec3[] = [[0.17, 0.3, 0], [0.17, -0.3, 0]];

/** Item kinds on the belt: a shape, its half extents and the noun used in instructions. */
const ITEMS: readonly { shape: Shape; half: Vec3; noun: string }[] = [
  { shape: "box", half: [0.022, 0.022, 0.022], noun: "cube" },
  { shape: "cylinder", half: [0.022, 0.022, 0.03], noun: "can" },
  { shape: "box", half: [0.034, 0.018, 0.018], noun: "brick" },
];

export const movingPick: TaskDef = defineTask({
  name: "moving_pick",
  kind: "dynamic",
  robots: ["arm5", "arm7"],
  description: "pick the named item (of 3) off a belt running either way at 0.03-0.10 m/s, which may stop and restart, into the tray",
}, (setup) => {
  const { level, split, rngs } = setup;
  const rand = level === "randomised";
  const direction = rngs.layout.chance(0.5) ? 1 : -1;
  const speed = rand ? rngs.layout.uniform(0.03, 0.1) : rngs.layout.uniform(0.04, 0.08);
  const stop = rand ? randomStop(rngs.layout, direction * speed, 0.6) : undefined;
  const colours = pickColours(rngs.language, split, 3);
  const kinds = rngs.layout.shuffle(ITEMS);
  const spots = beltSpots(direction, rngs.layout.uniform(0.22, 0.3), [rngs.layout.uniform(0.13, 0.2), rngs.layout.uniform(0.13, 0.2)]);
  const items: ObjectSpec[] = kinds.map((k, i) =>
    makeBlock(rngs, level, `item${i}`, colours[i], spots[i], { shape: k.shape, half: k.half, z0: spots[i][2] }),
  );
  const target = rngs.layout.int(0, 2);
  const trayPos = rngs.layout.pick(TRAY_SPOTS);
  const instruction = makeInstruction("moving_pick", rngs.language, split, { object: `${colours[target]} ${kinds[target].noun}`, tray: "tray" });
  const belt = conveyorProps(rngs, level);
  const shade = level === "randomised" ? rngs.look.uniform(0.7, 0.95) : 0.88;
  const scene = makeScene(setup, items.map((p) => p.name), {
    bodies: [...belt.bodies, bin("tray", trayPos, TRAY_INNER, TRAY_HEIGHT, [shade, shade, shade * 0.97]), ...items.map(freeObject)],
    actuators: belt.actuators,
  }, beltSchedule(direction * speed, stop));
  const fetch = (index: number) => function* (ctx: ExpertContext): Motion {
    const item = items[index];
    yield* toReady(ctx, 0, direction);
    if (!(yield* waitUntil(() => catchState(ctx.world, item.name, direction) !== "wait", 300))) return;
    if (catchState(ctx.world, item.name, direction) === "missed") return;
    yield* pickMoving(ctx, 0, graspable(item));
    yield* placeAt(ctx, 0, trayPos, TRAY_HEIGHT + item.half[2] + 0.03, { approach: 0 });
  };
  return {
    scene, instruction, maxSteps: 400,
    expert: fetch(target),
    mistake: fetch((target + 1) % 3),
    success: (world) =>
      inBin(world, items[target], trayPos, TRAY_INNER, TRAY_HEIGHT) &&
      items.every((it, i) => i === target || !inBin(world, it, trayPos, TRAY_INNER, TRAY_HEIGHT)),
  };
});
