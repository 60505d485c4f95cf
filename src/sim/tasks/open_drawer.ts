// open_drawer (two-arm robot): the arm on the cabinet's side grasps the handle and pulls the named drawer open.
import { chooseGraspYaw, graspAt, liftBy, poseAt } from "../control/skills.ts";
import { gripTo, moveLine, type ExpertContext, type Motion } from "../control/motion.ts";
import { type Vec3 } from "../mjcf.ts";
import { colourRgb, pickColours } from "../scene/colours.ts";
import { drawer, DRAWER } from "../scene/props.ts";
import { defineTask, makeScene } from "./common.ts";
import { makeInstruction } from "./instructions.ts";
import { type TaskDef } from "./types.ts";

/** The drawer counts as open beyond 10 cm of its 20 cm travel. */
export const OPEN_DISTANCE = 0.1;
const HANDLE = { symmetry: Math.PI, graspYaw: 0, name: "", halfHeight: 0 };

export const openDrawer: TaskDef = defineTask({
  name: "open_drawer",
  kind: "two_arm",
  robots: ["dual_arm"],
  description: "a cabinet on one side: the nearer arm grasps the drawer handle and pulls the drawer at least 10 cm open",
}, (setup) => {
  const { level, split, rngs } = setup;
  const r = rngs.layout;
  const [colour] = pickColours(rngs.language, split, 1);
  const side = r.chance(0.5) ? 1 : -1;
  const front: Vec3 = [r.uniform(0.34, 0.38), side * r.uniform(0.1, 0.18), 0];
  const body = level === "randomised" ? r.uniform(0.45, 0.8) : 0.7;
  const instruction = makeInstruction("open_drawer", rngs.language, split, { drawer: `${colour} drawer` });
  const scene = makeScene(setup, [], {
    bodies: drawer({ pos: front, halfWidth: 0.08, height: 0.1, body: [body, body, body * 0.95], front: colourRgb(colour, rngs.look, level), handle: [0.15, 0.15, 0.16] }),
  });
  const arm = side > 0 ? 0 : 1;
  const pull = (distance: number) => function* (ctx: ExpertContext): Motion {
    const at = ctx.world.geomPos(DRAWER.handle);
    const yaw = chooseGraspYaw(0, HANDLE, ctx.arm(arm).spec.base, at);
    yield* graspAt(ctx, arm, { at, yaw, open: 0.55 });
    yield* moveLine(ctx, arm, poseAt([at[0] - distance, at[1], at[2]], yaw), 0.15);
    yield* gripTo(ctx, arm, 0.55, 5);
    yield* liftBy(ctx, arm, 0.08);
  };
  return {
    scene, instruction, maxSteps: 200,
    expert: pull(0.14),
    mistake: pull(0.04),
    success: (world) => world.jointPos(DRAWER.joint) >= OPEN_DISTANCE,
  };
});
