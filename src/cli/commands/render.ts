// `internvla render`: run one scripted episode and write what the cameras saw (GIF, PNG stills), or list tasks and robots.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.ts";
import { ConfigError } from "../../tensor/errors.ts";

export const renderCommand: Command = {
  name: "render",
  summary: "render one simulator episode to a GIF (and PNG stills) to look at what the cameras saw",
  usage: "internvla render --task TASK [--robot ROBOT] [--seed S] --out FILE.gif [options]   |   internvla render --list",
  description: `
Runs the task's scripted expert (or --policy mistake / idle) for scene seed --seed and writes an animated GIF
with every camera side by side (the same frames generate would write for that seed). --stills DIR also
writes a PNG every --every steps; --depth adds a depth and a segmentation view of the top camera to each still.
--list prints the tasks and robots.`,
  flags: [
    { name: "list", type: "boolean", help: "list tasks and robots, then exit" },
    { name: "task", type: "string", help: "task name" },
    { name: "robot", type: "string", help: "robot_type (default: the task's first)" },
    { name: "seed", type: "number", help: "scene seed", default: 0 },
    { name: "level", type: "string", help: "clean or randomised", default: "clean" },
    { name: "split", type: "string", help: "train or heldout", default: "train" },
    { name: "size", type: "number", help: "image side in pixels (even, 64-224)", default: 128 },
    { name: "policy", type: "string", help: "expert, mistake or idle", default: "expert" },
    { name: "out", type: "string", help: "GIF file to write", placeholder: "FILE.gif" },
    { name: "stills", type: "string", help: "folder for PNG stills", placeholder: "DIR" },
    { name: "every", type: "number", help: "steps between stills", default: 20 },
    { name: "depth", type: "boolean", help: "add depth and segmentation of the top camera to the stills" },
  ],
  async run(args, io) {
    const f = args.flags;
    const sim = await import("../../sim/index.ts");
    if (f.list) {
      for (const t of sim.TASKS) io.out(`${t.name.padEnd(16)}${t.kind.padEnd(9)}robots ${t.robots.join(", ").padEnd(14)} ${t.description}\n`);
      for (const r of sim.ROBOT_TYPES) io.out(`robot ${r.padEnd(10)}${sim.getRobot(r).description}\n`);
      return 0;
    }
    if (!f.task || (!f.out && !f.stills)) throw new ConfigError("internvla render: --task and --out (or --stills) are required", "see internvla render --help");
    const policy = String(f.policy);
    if (!["expert", "mistake", "idle"].includes(policy)) throw new ConfigError(`internvla render: --policy must be expert, mistake or idle; got "${policy}"`);
    const size = Number(f.size);
    const result = await sim.renderEpisode({
      task: String(f.task), robot: f.robot as never, seed: Number(f.seed), level: String(f.level) as never, split: String(f.split) as never,
      imageSize: size, policy: policy as never, every: f.stills ? Number(f.every) : 0, debugViews: Boolean(f.depth),
    });
    if (f.out) writeFileSync(String(f.out), result.gif);
    if (f.stills) {
      mkdirSync(String(f.stills), { recursive: true });
      for (const s of result.stills) writeFileSync(join(String(f.stills), `step_${String(s.step).padStart(4, "0")}.png`), s.png);
    }
    io.out(`${f.task} seed ${f.seed}: "${result.instruction}"; ${result.steps} steps; success ${result.success}\n`);
    return 0;
  },
};
