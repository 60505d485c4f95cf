// pick_place (static): move the colour-named cube onto the colour-named pad among distractors; pick_cube: the same with one cube and one pad.
import { placeAt, pickStatic } from "../control/skills.ts";
import { type Motion, type ExpertContext } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { type Level, colourRgb, pickColours } from "../scene/colours.ts";
import { type Rng } from "../rng.ts";
import { freeObject, pad } from "../scene/props.ts";
import { type Region, defineTask, graspable, makeBlock, makeScene, restsOn, sampleSpots } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

const PAD_HALF: readonly [number, number] = [0.05, 0.05];
export const SINGLE_ARM_REGION = { x: [0.24, 0.42], y: [-0.24, 0.24] } as const;

interface CubeOnPadVariant {
  readonly name: string;
  readonly description: string;
  /** Cubes on the table (the first is the target). */
  readonly cubes: (level: Level, layout: Rng) => number;
  /** Pads on the table (the first is the goal). */
  readonly pads: number;
  /** Cube yaw on the table (default: uniform in +-0.6 rad). */
  readonly cubeYaw?: number;
  /** Where pads and cubes are sampled. */
  readonly regions: (layout: Rng) => { readonly pads: Region; readonly cubes: Region };
}

/** pick_cube: the cube in a 10 x 14 cm patch in front of the arm, the pad beside it on a random side. */
function besideRegions(layout: Rng): { pads: Region; cubes: Region } {
  const side = layout.chance(0.5) ? 1 : -1;
  const y: [number, number] = side > 0 ? [0.15, 0.21] : [-0.21, -0.15];
  return { pads: { x: [0.28, 0.36], y }, cubes: { x: [0.27, 0.37], y: [-0.07, 0.07] } };
}

/** A spot a pad's width (plus 1 cm) from pad centre `at`, towards the middle of the table: off the pad. */
function besidePad(at: Vec3): Vec3 {
  return [at[0], at[1] + (at[1] > 0 ? -1 : 1) * (2 * PAD_HALF[1] + 0.01), at[2]];
}

/**
 * A cube-on-pad task: the expert picks cube 0 and places it on pad 0. The scripted mistake places it on the
 * other pad, or, with a single pad, a pad's width beside it.
 */
function cubeOnPad(v: CubeOnPadVariant): TaskDef {
  return defineTask({ name: v.name, kind: "static", robots: ["arm5", "arm7"], description: v.description }, (setup) => {
    const { level, split, rngs } = setup;
    const nCubes = v.cubes(level, rngs.layout);
    const colours = pickColours(rngs.language, split, nCubes + v.pads);
    const regions = v.regions(rngs.layout);
    const padSpots = sampleSpots(rngs.layout, v.pads, regions.pads, 0.16);
    const cubeSpots = sampleSpots(rngs.layout, nCubes, regions.cubes, 0.1, padSpots);
    const cubes = cubeSpots.map((p, i) => makeBlock(rngs, level, `cube${i}`, colours[i], p, { yaw: v.cubeYaw }));
    const pads = padSpots.map((p, i) => ({ name: `pad${i}`, pos: p, colour: colours[nCubes + i] }));
    const target = cubes[0];
    const zone = pads[0];
    const instruction = makeInstruction(v.name, rngs.language, split, {
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
      mistake: carry(pads[1]?.pos ?? besidePad(zone.pos)),
      success: (world) => restsOn(world, target.name, zone.pos, PAD_HALF, target.half[2]),
    };
  });
}

export const pickPlace: TaskDef = cubeOnPad({
  name: "pick_place",
  description: "pick the named cube (one of 2-3) and place it on the named pad (one of 2)",
  cubes: (level, layout) => (level === "randomised" ? layout.int(2, 3) : 2),
  pads: 2,
  regions: () => ({ pads: SINGLE_ARM_REGION, cubes: SINGLE_ARM_REGION }),
});

export const pickCube: TaskDef = cubeOnPad({
  name: "pick_cube",
  description: "pick the only cube (square to the table edge, in a 10 x 14 cm patch in front of the arm) and place it on the pad beside it",
  cubes: () => 1,
  pads: 1,
  cubeYaw: 0,
  regions: besideRegions,
});
