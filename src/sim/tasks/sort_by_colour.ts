// sort_by_colour (static): put every block of the named colour into the named bin; other blocks stay out.
import { placeAt, pickStatic } from "../control/skills.ts";
import { type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { bin, freeObject } from "../scene/props.ts";
import { defineTask, graspable, inBin, makeBlock, makeScene, sampleSpots } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

export const BIN_INNER: readonly [number, number] = [0.065, 0.065];
export const BIN_HEIGHT = 0.05;
/** Bins sit to the robot's left and right, blocks in front. */
const BIN_SPOTS: readonly Vec3[] = [[0.2, 0.3, 0], [0.2, -0.3, 0]];
const BLOCK_REGION = { x: [0.26, 0.42], y: [-0.18, 0.18] } as const;

/** Where the k-th block dropped into a bin goes (spread so blocks do not land on each other). */
export function binSlot(centre: Vec3, k: number): Vec3 {
  const dx = [-0.025, 0.025, 0, 0][k % 4];
  const dy = [0.025, -0.025, 0, 0][k % 4];
  return [centre[0] + dx, centre[1] + dy, centre[2]];
}

export const sortByColour: TaskDef = defineTask({
  name: "sort_by_colour",
  kind: "static",
  robots: ["arm5", "arm7"],
  description: "put the 2 blocks of the named colour into the named bin (of 2); 1-2 other blocks stay",
}, (setup) => {
  const { level, split, rngs } = setup;
  const [want, other, binA, binB] = pickColours(rngs.language, split, 4);
  const nOther = level === "randomised" ? rngs.layout.int(1, 2) : 1;
  const spots = sampleSpots(rngs.layout, 2 + nOther, BLOCK_REGION, 0.09);
  const blocks = spots.map((p, i) => makeBlock(rngs, level, `block${i}`, i < 2 ? want : other, p));
  const bins = rngs.layout.shuffle(BIN_SPOTS).map((pos, i) => ({ name: `bin${i}`, pos, colour: i === 0 ? binA : binB }));
  const instruction = makeInstruction("sort_by_colour", rngs.language, split, { colour: want, bin: `${binA} bin` });
  const scene = makeScene(setup, blocks.map((b) => b.name), {
    bodies: [...bins.map((b) => bin(b.name, b.pos, BIN_INNER, BIN_HEIGHT, colourRgb(b.colour, rngs.look, level))), ...blocks.map(freeObject)],
  });
  const targets = blocks.slice(0, 2);
  const sortInto = (centre: Vec3) => function* (ctx: ExpertContext): Motion {
    for (const [k, b] of targets.entries()) {
      yield* pickStatic(ctx, 0, graspable(b));
      yield* placeAt(ctx, 0, binSlot(centre, k), BIN_HEIGHT + b.half[2] + 0.02);
    }
  };
  return {
    scene, instruction, maxSteps: 300,
    expert: sortInto(bins[0].pos),
    mistake: sortInto(bins[1].pos),
    success: (world) =>
      targets.every((b) => inBin(world, b, bins[0].pos, BIN_INNER, BIN_HEIGHT)) &&
      blocks.slice(2).every((b) => !inBin(world, b, bins[0].pos, BIN_INNER, BIN_HEIGHT)),
  };
});
