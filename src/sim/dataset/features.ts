// The LeRobot feature layout of simulator datasets: state, action and one video feature per camera.
import { type WriterSpec } from "../../data/lerobot/writer.ts";
import { type RobotSpec } from "../robots/index.ts";

/** Dataset key of a camera's video feature. */
export function imageKey(camera: string): string {
  return `observation.images.${camera}`;
}

/** The writer spec for a robot: float32 state and action with names (grippers contain "gripper"), RGB videos. */
export function writerSpec(
  robot: RobotSpec, opts: { fps: number; width: number; height: number; cameras: readonly string[]; codec?: "av1" | "h264" },
): WriterSpec {
  const dim = robot.stateNames.length;
  const names = [...robot.stateNames];
  return {
    fps: opts.fps,
    robotType: robot.name,
    videoCodec: opts.codec ?? "av1",
    features: {
      "observation.state": { dtype: "float32", shape: [dim], names },
      action: { dtype: "float32", shape: [dim], names },
      ...Object.fromEntries(opts.cameras.map((c) => [imageKey(c), { dtype: "video" as const, shape: [opts.height, opts.width, 3], names: ["height", "width", "channels"] }])),
    },
  };
}
