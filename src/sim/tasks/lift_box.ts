// lift_box (two-arm): both hands grasp the handles at the ends of a box and lift it level.
import { graspAt, liftBy, yawOf, chooseGraspYaw } from "../control/skills.ts";
import { parallel, settle, wait, type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { handledBox } from "../scene/props.ts";
import { type World } from "../world.ts";
import { defineTask, makeScene } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

const LIFT = 0.1;
const HANDLE = { symmetry: Math.PI, graspYaw: Math.PI / 2, name: "", halfHeight: 0 };

/** True when the box is held at least 6 cm up and tilted less than 15 degrees. */
export function boxLifted(world: World, name: string, restZ: number): boolean {
  const m = world.bodyMat(name);
  return world.bodyPos(name)[2] > restZ + 0.06 && m[8] > Math.cos((15 * Math.PI) / 180);
}

export const liftBox: TaskDef = defineTask({
  name: "lift_box",
  kind: "two_arm",
  robots: ["dual_arm"],
  description: "grasp the two handles of a box with both hands and lift it 10 cm, keeping it level",
}, (setup) => {
  const { level, split, rngs } = setup;
  const r = rngs.layout;
  const rand = level === "randomised";
  const [colour] = pickColours(rngs.language, split, 1);
  const half: Vec3 = [0.06, rand ? r.uniform(0.08, 0.1) : 0.09, rand ? r.uniform(0.035, 0.045) : 0.04];
  const pos: Vec3 = [r.uniform(0.27, 0.32), r.uniform(-0.03, 0.03), half[2] + 0.0005];
  const yaw = rand ? r.uniform(-0.15, 0.15) : r.uniform(-0.05, 0.05);
  const mass = rand ? r.uniform(0.2, 0.5) : 0.3;
  const instruction = makeInstruction("lift_box", rngs.language, split, { object: `${colour} box` });
  const scene = makeScene(setup, ["box"], {
    bodies: [handledBox("box", pos, yaw, half, colourRgb(colour, rngs.look, level), [0.2, 0.2, 0.22], mass)],
  });
  // The handle bars run along the box's x axis, so the fingers close across its y axis.
  const graspHandle = (ctx: ExpertContext, arm: number, side: "l" | "r"): Motion => {
    const at = ctx.world.geomPos(`box_handle_${side}`);
    const boxYaw = yawOf(ctx.world.bodyMat("box"));
    return graspAt(ctx, arm, { at, yaw: chooseGraspYaw(boxYaw, HANDLE, ctx.arm(arm).spec.base, at), open: 0.55 });
  };
  function* expert(ctx: ExpertContext): Motion {
    yield* parallel(graspHandle(ctx, 0, "l"), graspHandle(ctx, 1, "r"));
    yield* parallel(settle(ctx, 0, 0.004), settle(ctx, 1, 0.004));
    yield* parallel(liftBy(ctx, 0, LIFT, 0.15), liftBy(ctx, 1, LIFT, 0.15));
    yield* wait(10);
  }
  function* mistake(ctx: ExpertContext): Motion {
    yield* graspHandle(ctx, 0, "l");
    yield* liftBy(ctx, 0, LIFT, 0.15);
    yield* wait(10);
  }
  return {
    scene, instruction, maxSteps: 200,
    expert, mistake,
    success: (world) => boxLifted(world, "box", pos[2]),
  };
});
