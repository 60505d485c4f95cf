// `internvla stats DIR...`: normalisation statistics (absolute or delta actions, per robot_type) and a compatibility report.
import type { Command, CliIO } from "../command.ts";
import type { ParsedArgs } from "../args.ts";
import { progressBar } from "../progress.ts";
import { ConfigError } from "../../tensor/errors.ts";

async function compare(files: readonly string[], io: CliIO): Promise<number> {
  if (files.length !== 2) throw new ConfigError(`internvla stats --compare: expected two stats files A,B; got ${files.length}`);
  const { readJson } = await import("../../data/fs.ts");
  const { statsFromJson } = await import("../../data/lerobot/stats-json.ts");
  const { compareStats, formatCompat } = await import("../../data/stats-compat.ts");
  const [a, b] = files.map((f) => statsFromJson(readJson(f), f));
  const findings = compareStats(a, b);
  io.out(`A = ${files[0]}\nB = ${files[1]}\n${formatCompat(findings)}`);
  return findings.some((f) => f.severity === "error") ? 1 : 0;
}

async function compute(args: ParsedArgs, io: CliIO): Promise<number> {
  const f = args.flags;
  const dirs = args.positionals;
  if (dirs.length === 0) throw new ConfigError("internvla stats: expected at least one dataset folder", "internvla stats DIR [DIR...]");
  const mode = f["action-mode"] as string;
  if (mode !== "abs" && mode !== "delta") throw new ConfigError(`internvla stats: --action-mode must be abs or delta; got "${mode}"`);
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { LeRobotDataset } = await import("../../data/lerobot/dataset.ts");
  const { resolveSource } = await import("../../data/source.ts");
  const { StatsAccumulator } = await import("../../data/stats-compute.ts");
  const { statsToJson } = await import("../../data/lerobot/stats-json.ts");
  const { writeJsonAtomic } = await import("../../data/fs.ts");
  const { writeNormStatsFile } = await import("../../data/norm-stats.ts");
  const { checkSpread, formatCompat } = await import("../../data/stats-compat.ts");
  const byRobot = new Map<string, InstanceType<typeof StatsAccumulator>>();
  const cameras = new Set<string>();
  for (const dir of dirs) {
    const ds = await LeRobotDataset.open(dir, { warn: (w) => io.err(`warning: ${w.message}\n`) });
    try {
      const src = resolveSource({ root: dir, stateKeys: f["state-keys"] as string[] | undefined, actionKeys: f["action-keys"] as string[] | undefined }, ds, 3);
      const acc = byRobot.get(src.robotType) ?? new StatsAccumulator({ actionMode: mode, chunk: f.chunk as number, images: f.images as boolean });
      byRobot.set(src.robotType, acc);
      ds.cameras.forEach((c) => cameras.add(c));
      const bar = progressBar(io, `stats ${src.name}`, ds.episodes.length, "ep");
      await acc.add(ds, { state: src.state, action: src.action, deltaMask: src.deltaMask }, (done) => bar.update(done));
      bar.finish();
    } finally {
      await ds.close();
    }
  }
  const results = new Map([...byRobot].map(([robot, acc]) => [robot, acc.result()]));
  let out = f.out as string | undefined;
  if (dirs.length === 1 && results.size === 1) {
    out ??= join(dirs[0], "meta", mode === "abs" ? "stats.json" : `stats_delta_chunk${f.chunk}.json`);
    if (existsSync(out) && !f.force) throw new ConfigError(`internvla stats: ${out} exists`, "pass --force to overwrite it or --out FILE to write elsewhere");
    writeJsonAtomic(out, statsToJson([...results.values()][0], cameras));
  } else {
    if (!out) throw new ConfigError("internvla stats: several datasets need --out FILE (stats keyed by robot_type)");
    if (existsSync(out) && !f.force) throw new ConfigError(`internvla stats: ${out} exists`, "pass --force to overwrite it");
    writeNormStatsFile(out, Object.fromEntries(results));
  }
  for (const [robot, acc] of byRobot) {
    io.out(`${robot}: ${acc.frames} frames, ${mode} actions${mode === "delta" ? ` over chunks of ${f.chunk} (${acc.skippedEpisodes} shorter episodes skipped)` : ""}\n`);
    const self = checkSpread(results.get(robot)!, undefined, robot);
    if (self.length > 0) io.out(formatCompat(self));
  }
  io.out(`wrote ${out}\n`);
  return 0;
}

export const statsCommand: Command = {
  name: "stats",
  summary: "compute normalisation stats (abs or delta actions, per robot_type) or compare two stats files",
  usage: "internvla stats DIR [DIR...] [--action-mode abs|delta] [--out FILE]   |   internvla stats --compare A.json,B.json",
  description: `
Computes per-feature min, max, mean, std, count and quantiles q01/q10/q50/q90/q99 (5000-bin histograms, as
LeRobot) over every frame, with actions absolute or delta (a[t+k] - state[t] on the masked dims over every full
chunk, as the official compute_norm_stats; shorter episodes are skipped). Images get per-channel stats on
sampled frames ([3,1,1], LeRobot's layout). One dataset writes a LeRobot stats.json (default
DIR/meta/stats.json, or stats_delta_chunkN.json for delta); several datasets need --out and are grouped by
robot_type. Dims with a tiny spread are reported. --compare A,B reports missing features, dimension
mismatches, tiny std or quantile ranges, and where B's data would normalise far outside A's stats.`,
  flags: [
    { name: "action-mode", type: "string", help: "abs or delta actions", default: "abs", placeholder: "MODE" },
    { name: "chunk", type: "number", help: "delta: action chunk length", default: 50 },
    { name: "images", type: "boolean", help: "also compute image stats (decodes sampled frames)", default: true },
    { name: "state-keys", type: "list", help: "features (or selectors like observation.state[0:14]) forming the state", placeholder: "K1,K2" },
    { name: "action-keys", type: "list", help: "features (or selectors) forming the action", placeholder: "K1,K2" },
    { name: "out", type: "string", help: "output file", placeholder: "FILE" },
    { name: "force", type: "boolean", help: "overwrite an existing output file", default: false },
    { name: "compare", type: "list", help: "compare two stats files instead of computing", placeholder: "A.json,B.json" },
  ],
  async run(args, io) {
    const files = args.flags.compare as string[] | undefined;
    return files ? compare(files, io) : compute(args, io);
  },
};
