// stack (static): put the colour-named block on top of another colour-named block, among a distractor.
import { placeAt, pickStatic } from "../control/skills.ts";
import { type ExpertContext, type Motion } from "../control/motion.ts";
import { pickColours } from "../scene/colours.ts";
import { freeObject, type ObjectSpec } from "../scene/props.ts";
import { type World } from "../world.ts";
import { defineTask, graspable, makeBlock, makeScene, sampleSpots } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { SINGLE_ARM_REGION } from "./pick_place.ts";
import { type TaskDef } from "./types.ts";

/** True when `top` rests centred on `bottom` and `bottom` stands on the table. */
export function stacked(world: World, top: ObjectSpec, bottom: ObjectSpec): boolean {
  const a = world.bodyPos(top.name);
  const b = world.bodyPos(bottom.name);
  const centred = Math.hypot(a[0] - b[0], a[1] - b[1]) < 0.8 * Math.min(bottom.half[0], bottom.half[1]);
  const onTop = Math.abs(a[2] - b[2] - (top.half[2] + bottom.half[2])) < 0.01;
  const bottomDown = Math.abs(b[2] - bottom.half[2]) < 0.01;
  const still = Math.hypot(...world.bodyVel(top.name)) < 0.05;
  return centred && onTop && bottomDown && still;
}

export const stack: TaskDef = defineTask({
  name: "stack",
  kind: "static",
  robots: ["arm5", "arm7"],
  description: "stack the named block on another named block (3 blocks on the table)",
}, (setup) => {
  const { level, split, rngs } = setup;
  const colours = pickColours(rngs.language, split, 3);
  const spots = sampleSpots(rngs.layout, 3, SINGLE_ARM_REGION, 0.11);
  const blocks = spots.map((p, i) => makeBlock(rngs, level, `block${i}`, colours[i], p));
  const [top, bottom, other] = blocks;
  const instruction = makeInstruction("stack", rngs.language, split, { top: `${colours[0]} block`, bottom: `${colours[1]} block` });
  const scene = makeScene(setup, blocks.map((b) => b.name), { bodies: blocks.map(freeObject) });
  const put = (upper: ObjectSpec, lower: ObjectSpec) => function* (ctx: ExpertContext): Motion {
    yield* pickStatic(ctx, 0, graspable(upper));
    const b = ctx.world.bodyPos(lower.name);
    yield* placeAt(ctx, 0, [b[0], b[1], b[2] + lower.half[2]], upper.half[2] + 0.01);
  };
  return {
    scene, instruction, maxSteps: 200,
    expert: put(top, bottom),
    mistake: put(top, other),
    success: (world) => stacked(world, top, bottom),
  };
});
