// conveyor_sort (dynamic, the Express Sorting analogue): parcels arrive on a moving belt; each goes to the bin its colour names.
import { pickMoving, placeAt } from "../control/skills.ts";
import { type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { bin, freeObject, type ObjectSpec } from "../scene/props.ts";
import { beltSchedule, beltSpots, catchState, conveyorProps, toReady, waitUntil } from "./belt.ts";
import { defineTask, graspable, inBin, makeBlock, makeScene } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { BIN_HEIGHT, BIN_INNER, binSlot } from "./sort_by_colour.ts";
import { type TaskDef } from "./types.ts";

const BIN_SPOTS: readonly Vec3[] = [[0.17, 0.3, 0], [0.17, -0.3, 0]];

export const conveyorSort: TaskDef = defineTask({
  name: "conveyor_sort",
  kind: "dynamic",
  robots: ["arm5", "arm7"],
  description: "2-3 parcels of two colours ride a belt (0.04-0.12 m/s, random spacing); sort each into the bin its colour names",
}, (setup) => {
  const { level, split, rngs } = setup;
  const rand = level === "randomised";
  const [colA, colB, binColA, binColB] = pickColours(rngs.language, split, 4);
  const speed = rand ? rngs.layout.uniform(0.04, 0.12) : rngs.layout.uniform(0.05, 0.08);
  const count = rand ? rngs.layout.int(2, 3) : 2;
  const kinds = [0, 1, ...Array.from({ length: count - 2 }, () => rngs.layout.int(0, 1))];
  const order = rngs.layout.shuffle(kinds);
  // Arrivals 3.5-5 s apart at the belt speed, so each pick-and-place cycle ends before the next parcel leaves reach.
  const gaps = order.slice(1).map(() => speed * rngs.layout.uniform(3.5, 5));
  const spots = beltSpots(-1, rngs.layout.uniform(0.26, 0.34), gaps);
  const parcels: ObjectSpec[] = order.map((kind, i) => {
    const half: Vec3 = [rngs.layout.uniform(0.018, 0.026), rngs.layout.uniform(0.018, 0.026), rngs.layout.uniform(0.015, 0.025)];
    return makeBlock(rngs, level, `parcel${i}`, kind === 0 ? colA : colB, spots[i], { half, z0: spots[i][2] });
  });
  const binPos = rngs.layout.shuffle(BIN_SPOTS);
  const bins = [{ name: "bin0", pos: binPos[0], colour: binColA }, { name: "bin1", pos: binPos[1], colour: binColB }];
  const instruction = makeInstruction("conveyor_sort", rngs.language, split, { a: colA, b: colB, binA: `${binColA} bin`, binB: `${binColB} bin` });
  const belt = conveyorProps(rngs, level);
  const scene = makeScene(setup, parcels.map((p) => p.name), {
    bodies: [...belt.bodies, ...bins.map((b) => bin(b.name, b.pos, BIN_INNER, BIN_HEIGHT, colourRgb(b.colour, rngs.look, level))), ...parcels.map(freeObject)],
    actuators: belt.actuators,
  }, beltSchedule(-speed));
  const binOf = (i: number, swap: boolean): Vec3 => bins[(order[i] === 0) !== swap ? 0 : 1].pos;
  const sort = (swap: boolean) => function* (ctx: ExpertContext): Motion {
    const dropped = [0, 0];
    yield* toReady(ctx, 0, -1);
    for (const [i, p] of parcels.entries()) {
      // A parcel that can no longer be caught ends the script: the episode fails and is not kept.
      if (!(yield* waitUntil(() => catchState(ctx.world, p.name, -1) !== "wait", 300))) return;
      if (catchState(ctx.world, p.name, -1) === "missed") return;
      yield* pickMoving(ctx, 0, graspable(p));
      const target = binOf(i, swap);
      const k = target === bins[0].pos ? dropped[0]++ : dropped[1]++;
      yield* placeAt(ctx, 0, binSlot(target, k), BIN_HEIGHT + p.half[2] + 0.03, { approach: 0 });
      if (i + 1 < parcels.length && catchState(ctx.world, parcels[i + 1].name, -1) === "wait") yield* toReady(ctx, 0, -1);
    }
  };
  return {
    scene, instruction, maxSteps: 150 + 130 * count,
    expert: sort(false),
    mistake: sort(true),
    success: (world) => parcels.every((p, i) => inBin(world, p, binOf(i, false), BIN_INNER, BIN_HEIGHT)),
  };
});
