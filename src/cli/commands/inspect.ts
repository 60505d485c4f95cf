// `internvla inspect DIR`: version, robot, fps, features, episodes, frames, tasks and problems of a dataset.
import type { Command } from "../command.ts";
import { ConfigError } from "../../tensor/errors.ts";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "describe a LeRobot dataset (v2.0/v2.1/v3.0) and the problems found in it",
  usage: "internvla inspect DIR [--json]",
  description: `
Prints the dataset's version, robot type, fps, features (dtype and shape), cameras (size, codec, present or
missing), episodes, frames and tasks, then every problem found: totals in info.json that disagree with the
data, declared videos without files, wall-clock timestamps, codec mismatches, and so on. A partial dataset
(written by LeRobotWriter and never finalized) is reported as such.`,
  flags: [{ name: "json", type: "boolean", help: "print the report as JSON", default: false }],
  async run(args, io) {
    const [dir, ...rest] = args.positionals;
    if (!dir || rest.length > 0) throw new ConfigError("internvla inspect: expected exactly one dataset folder", "internvla inspect DIR");
    const { formatInspect, inspectDataset } = await import("../../data/lerobot/inspect.ts");
    const report = await inspectDataset(dir);
    io.out(args.flags.json ? JSON.stringify(report, null, 2) + "\n" : formatInspect(report));
    return 0;
  },
};
