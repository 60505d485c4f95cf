// pick_place (static): move the colour-named cube onto the colour-named pad among distractors.
import { placeAt, pickStatic } from "../control/skills.ts";
import { type Motion, type ExpertContext } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { freeObject, pad } from "../scene/props.ts";
import { defineTask, graspable, makeBlock, makeScene, restsOn, sampleSpots } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

const PAD_HALF: readonly [number, number] = [0.05, 0.05];
export const SINGLE_ARM_REGION = { x: [0.24, 0.42], y: [-0.24, 0.24] } as const;

export const pickPlace: TaskDef = defineTask({
  name: "pick_place",
  kind: "static",
  robots: ["arm5", "arm7"],
  description: "pick the named cube (one of 2-3) and place it on the named pad (one of 2)",
}, (setup) => {
  const { level, split, rngs } = setup;
  const nCubes = level === "randomised" ? rngs.layout.int(2, 3) : 2;
  const colours = pickColours(rngs.language, split, nCubes + 2);
  const padSpots = sampleSpots(rngs.layout, 2, SINGLE_ARM_REGION, 0.16);
  const cubeSpots = sampleSpots(rngs.layout, nCubes, SINGLE_ARM_REGION, 0.1, padSpots);
  const cubes = cubeSpots.map((p, i) => makeBlock(rngs, level, `cube${i}`, colours[i], p));
  const pads = padSpots.map((p, i) => ({ name: `pad${i}`, pos: p, colour: colours[nCubes + i] }));
  const target = cubes[0];
  const zone = pads[0];
  const instruction = makeInstruction("pick_place", rngs.language, split, {
    object: `${colours[0]} cube`, zone: `${zone.colour} pad`,
  });
  const scene = makeScene(setup, cubes.map((c) => c.name), {
    bodies: [...pads.map((p) => pad(p.name, p.pos, PAD_HALF, colourRgb(p.colour, rngs.look, level))), ...cubes.map(freeObject)],
  });
  const carry = (to: Vec3) => function* (ctx: ExpertContext): Motion {
    yield* pickStatic(ctx, 0, graspable(target));
    yield* placeAt(ctx, 0, to, target.half[2] + 0.012);
  };
  return {
    scene, instruction, maxSteps: 200,
    expert: carry(zone.pos),
    mistake: carry(pads[1].pos),
    success: (world) => restsOn(world, target.name, zone.pos, PAD_HALF, target.half[2]),
  };
});
