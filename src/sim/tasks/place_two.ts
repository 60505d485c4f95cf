// place_two (two-arm): each arm picks the block on its side and both put them on the named pad at the same time.
import { pickStatic, placeAt } from "../control/skills.ts";
import { parallel, sequence, type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { freeObject, pad } from "../scene/props.ts";
import { defineTask, graspable, makeBlock, makeScene, restsOn, sampleSpots } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

const PAD_HALF: readonly [number, number] = [0.06, 0.1];

export const placeTwo: TaskDef = defineTask({
  name: "place_two",
  kind: "two_arm",
  robots: ["dual_arm"],
  description: "two blocks, one on each side: each arm picks its block and both place them on the named pad between them",
}, (setup) => {
  const { level, split, rngs } = setup;
  const r = rngs.layout;
  const [colA, colB, padColour, otherPad] = pickColours(rngs.language, split, 4);
  const target = { pos: [r.uniform(0.28, 0.32), r.uniform(-0.02, 0.02), 0] as Vec3 };
  const decoy: Vec3 = [r.uniform(0.14, 0.17), r.uniform(-0.03, 0.03), 0];
  const [left] = sampleSpots(r, 1, { x: [0.2, 0.34], y: [0.16, 0.3] }, 0);
  const [right] = sampleSpots(r, 1, { x: [0.2, 0.34], y: [-0.3, -0.16] }, 0);
  const a = makeBlock(rngs, level, "block_a", colA, left);
  const b = makeBlock(rngs, level, "block_b", colB, right);
  const instruction = makeInstruction("place_two", rngs.language, split, { a: `${colA} block`, b: `${colB} block`, zone: `${padColour} pad` });
  const scene = makeScene(setup, ["block_a", "block_b"], {
    bodies: [
      pad("pad_target", target.pos, PAD_HALF, colourRgb(padColour, rngs.look, level)),
      pad("pad_other", decoy, [0.04, 0.06], colourRgb(otherPad, rngs.look, level)),
      freeObject(a),
      freeObject(b),
    ],
  });
  const slot = (dy: number): Vec3 => [target.pos[0], target.pos[1] + dy, 0];
  const leftJob = (ctx: ExpertContext): Motion => sequence(pickStatic(ctx, 0, graspable(a)), placeAt(ctx, 0, slot(0.045), a.half[2] + 0.012));
  const rightJob = (ctx: ExpertContext): Motion => sequence(pickStatic(ctx, 1, graspable(b)), placeAt(ctx, 1, slot(-0.045), b.half[2] + 0.012));
  return {
    scene, instruction, maxSteps: 200,
    expert: (ctx) => parallel(leftJob(ctx), rightJob(ctx)),
    mistake: (ctx) => leftJob(ctx),
    success: (world) => restsOn(world, a.name, target.pos, PAD_HALF, a.half[2]) && restsOn(world, b.name, target.pos, PAD_HALF, b.half[2]),
  };
});
