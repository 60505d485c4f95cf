// handover (two-arm): the left arm picks a bar, hands it to the right arm in the air, the right arm puts it on the named pad.
import { graspAt, graspOf, liftBy, pickStatic, placeAt, poseAt, yawOf } from "../control/skills.ts";
import { moveTo, parallel, settle, gripTo, type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { freeObject, pad } from "../scene/props.ts";
import { defineTask, graspable, makeBlock, makeScene, restsOn } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

const PAD_HALF: readonly [number, number] = [0.06, 0.1];
/** Each hand holds the bar this far from its centre, on its own side. */
const GRIP_OFFSET = 0.035;
const LEFT = 0;
const RIGHT = 1;

export const handover: TaskDef = defineTask({
  name: "handover",
  kind: "two_arm",
  robots: ["dual_arm"],
  description: "the left arm picks a bar and hands it over in the air; the right arm places it on the named pad (right side)",
}, (setup) => {
  const { level, split, rngs } = setup;
  const r = rngs.layout;
  const [barColour, padColour, otherColour] = pickColours(rngs.language, split, 3);
  const bar = makeBlock(rngs, level, "bar", barColour, [r.uniform(0.26, 0.32), r.uniform(0.16, 0.22), 0], { half: [0.018, 0.07, 0.018] });
  const target = { pos: [r.uniform(0.26, 0.32), r.uniform(-0.24, -0.18), 0] as Vec3, colour: padColour };
  const other = { pos: [r.uniform(0.26, 0.32), r.uniform(0.02, 0.06), 0] as Vec3, colour: otherColour };
  const instruction = makeInstruction("handover", rngs.language, split, { object: `${barColour} bar`, zone: `${padColour} pad` });
  const scene = makeScene(setup, ["bar"], {
    bodies: [
      pad("pad_target", target.pos, PAD_HALF, colourRgb(target.colour, rngs.look, level)),
      pad("pad_other", other.pos, PAD_HALF, colourRgb(other.colour, rngs.look, level)),
      freeObject(bar),
    ],
  });
  const g = graspable(bar);
  const handoverAt: Vec3 = [0.3, 0, 0.17];
  function* passToRight(ctx: ExpertContext): Motion {
    yield* pickStatic(ctx, LEFT, g, [0, GRIP_OFFSET, 0]);
    const yaw = yawOf(ctx.commandedPose(LEFT).rot);
    yield* parallel(
      moveTo(ctx, LEFT, poseAt([handoverAt[0], handoverAt[1] + GRIP_OFFSET, handoverAt[2]], yaw)),
      moveTo(ctx, RIGHT, poseAt([handoverAt[0], handoverAt[1] - GRIP_OFFSET, handoverAt[2] + 0.1], yaw)),
    );
    yield* settle(ctx, LEFT, 0.005);
  }
  function* expert(ctx: ExpertContext): Motion {
    yield* passToRight(ctx);
    const grasp = graspOf(ctx, RIGHT, g, [0, -GRIP_OFFSET, 0]);
    yield* graspAt(ctx, RIGHT, { at: grasp.at, yaw: grasp.yaw });
    yield* gripTo(ctx, LEFT, 1, 5);
    yield* parallel(liftBy(ctx, LEFT, 0.08), liftBy(ctx, RIGHT, 0.03));
    const tcp = ctx.commandedPose(RIGHT).pos;
    const c = ctx.world.bodyPos("bar");
    const place: Vec3 = [target.pos[0] + tcp[0] - c[0], target.pos[1] + tcp[1] - c[1], 0];
    yield* placeAt(ctx, RIGHT, place, bar.half[2] + 0.012, { yaw: grasp.yaw });
  }
  function* mistake(ctx: ExpertContext): Motion {
    yield* passToRight(ctx);
    yield* gripTo(ctx, LEFT, 1, 5);
    yield* liftBy(ctx, LEFT, 0.08);
  }
  return {
    scene, instruction, maxSteps: 300,
    expert, mistake,
    success: (world) => restsOn(world, "bar", target.pos, PAD_HALF, bar.half[2]),
  };
});
