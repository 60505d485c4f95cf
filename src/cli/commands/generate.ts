// `internvla generate`: scripted simulator episodes written as a LeRobot v3.0 dataset, in worker threads.
import type { Command } from "../command.ts";
import { interruptSignal } from "../interrupt.ts";
import { progressBar } from "../progress.ts";
import { ConfigError } from "../../tensor/errors.ts";

const LEVELS = ["clean", "randomised"];
const SPLITS = ["train", "heldout"];

function oneOf(value: string, allowed: readonly string[], flag: string): string {
  if (!allowed.includes(value)) throw new ConfigError(`internvla generate: --${flag} must be one of ${allowed.join(", ")}; got "${value}"`);
  return value;
}

export const generateCommand: Command = {
  name: "generate",
  summary: "generate a LeRobot v3.0 dataset of scripted episodes in the built-in simulator",
  usage: "internvla generate --task TASK --robot ROBOT --episodes N --out DIR [options]",
  description: `
Runs the task's scripted expert in MuJoCo (one simulator per worker thread), keeps only successful episodes
(candidate j uses scene seed --seed + j, so the dataset does not depend on the number of workers) and writes
them with LeRobotWriter: observation.state and action (float32, joint positions/targets + gripper per arm),
one video per camera (observation.images.top, .wrist or .left_wrist/.right_wrist) at 20 fps.
Tasks: pick_cube, pick_place, stack, sort_by_colour (static), conveyor_sort, moving_pick (dynamic) on arm5 or arm7;
handover, lift_box, place_two, open_drawer (two-arm) on dual_arm. See docs/simulator.md.
Ctrl-C stops after the episode being written: DIR stays a partial dataset (meta/PARTIAL) and
--resume completes it with the same settings.`,
  flags: [
    { name: "task", type: "string", help: "task name", required: true },
    { name: "robot", type: "string", help: "robot_type: arm5, arm7 or dual_arm (default: the task's first)" },
    { name: "episodes", type: "number", help: "successful episodes to keep", required: true },
    { name: "out", type: "string", help: "output folder (absent or empty, or a partial dataset with --resume)", required: true, placeholder: "DIR" },
    { name: "level", type: "string", help: "domain randomisation: clean or randomised", default: "clean" },
    { name: "split", type: "string", help: "instruction paraphrases and colours: train or heldout", default: "train" },
    { name: "seed", type: "number", help: "scene seed of the first candidate episode", default: 0 },
    { name: "size", type: "number", help: "image side in pixels (even, 64-224)", default: 128 },
    { name: "cameras", type: "list", help: "cameras to record (default: all of the robot's)", placeholder: "A,B" },
    { name: "workers", type: "number", help: "worker threads (default: one per core)" },
    { name: "codec", type: "string", help: "video codec: av1 or h264", default: "av1" },
    { name: "resume", type: "boolean", help: "complete a partial dataset in --out" },
    { name: "preview", type: "number", help: "also write GIFs of the first N episodes to DIR-preview/", default: 0 },
  ],
  async run(args, io) {
    const f = args.flags;
    const { generateDataset } = await import("../../sim/dataset/generate.ts");
    const interrupt = interruptSignal(io, "finishing the episode being written");
    const total = Number(f.episodes);
    const bar = progressBar(io, "generate", total, "ep");
    try {
      const summary = await generateDataset({
        out: String(f.out), task: String(f.task), robot: f.robot as never, episodes: total,
        level: oneOf(String(f.level), LEVELS, "level") as never, split: oneOf(String(f.split), SPLITS, "split") as never,
        seed: Number(f.seed), imageSize: Number(f.size), cameras: f.cameras as string[] | undefined,
        workers: f.workers === undefined ? undefined : Number(f.workers), codec: oneOf(String(f.codec), ["av1", "h264"], "codec") as never,
        resume: Boolean(f.resume), preview: Number(f.preview), signal: interrupt.signal,
        onProgress: (p) => bar.update(p.written, `tried ${p.attempts}, failed ${p.failures}`),
      });
      const rate = `expert success ${(summary.expertSuccessRate * 100).toFixed(1)}% (${summary.written}/${summary.attempts})`;
      if (summary.interrupted) {
        io.err("\n");
        io.out(`interrupted: ${summary.dir} is a partial dataset with ${summary.written}/${summary.target} episodes; rerun with --resume to complete it\n`);
        return 1;
      }
      bar.finish(rate);
      io.out(`wrote ${summary.written} episodes to ${summary.dir} (LeRobot v3.0); ${rate}\n`);
      return 0;
    } finally {
      interrupt.release();
    }
  },
};
