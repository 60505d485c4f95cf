// `internvla inspect`: what a dataset folder holds (version, robot, fps, features, episodes, tasks) and its problems.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DatasetWarning } from "../errors.ts";
import { LeRobotDataset } from "./dataset.ts";
import { cameraKeys, cameraSize, videoInfo } from "./meta.ts";
import { PARTIAL_MARKER, STAGING_DIR } from "./writer.ts";

export interface InspectReport {
  readonly root: string;
  readonly status: "complete" | "partial";
  readonly version?: string;
  readonly robotType?: string;
  readonly fps?: number;
  readonly episodes: number;
  readonly frames: number;
  readonly tasks: readonly string[];
  readonly features: readonly { name: string; dtype: string; shape: readonly number[] }[];
  readonly cameras: readonly { key: string; width: number; height: number; codec: string; available: boolean }[];
  readonly problems: readonly DatasetWarning[];
}

/** Describes a dataset; a partial one (LeRobotWriter never finalized) is described from its staging folder. */
export async function inspectDataset(root: string): Promise<InspectReport> {
  if (existsSync(join(root, PARTIAL_MARKER))) {
    const staged = existsSync(join(root, STAGING_DIR)) ? readdirSync(join(root, STAGING_DIR)).filter((n) => /^ep-\d{6}$/.test(n)).length : 0;
    return {
      root, status: "partial", episodes: staged, frames: 0, tasks: [], features: [], cameras: [],
      problems: [{ code: "partial", message: `${root}: partial dataset (${PARTIAL_MARKER}): ${staged} episode(s) staged; resume the writer and call finalize()` }],
    };
  }
  const ds = await LeRobotDataset.open(root);
  try {
    const sink: DatasetWarning[] = [];
    const cameras = cameraKeys(ds.info).map((key) => {
      const f = ds.info.features[key];
      const { width, height } = cameraSize(key, f, (w) => sink.push(w));
      const codec = f.dtype === "image" ? "image (parquet)" : String(videoInfo(f)["video.codec"] ?? "unknown");
      return { key, width, height, codec, available: ds.cameras.includes(key) };
    });
    const tasks = [...new Set(Array.from({ length: ds.numFrames }, (_, r) => ds.taskOf(r)))];
    return {
      root, status: "complete", version: ds.version, robotType: ds.robotType, fps: ds.fps,
      episodes: ds.episodes.length, frames: ds.numFrames, tasks,
      features: Object.entries(ds.info.features).map(([name, f]) => ({ name, dtype: f.dtype, shape: f.shape })),
      cameras, problems: ds.warnings,
    };
  } finally {
    await ds.close();
  }
}

/** The report as terminal text. */
export function formatInspect(r: InspectReport): string {
  const lines = [`${r.root}`];
  if (r.status === "partial") {
    lines.push(`  status    partial (${r.episodes} staged episodes)`);
  } else {
    lines.push(`  version   ${r.version}`, `  robot     ${r.robotType}`, `  fps       ${r.fps}`, `  episodes  ${r.episodes}`, `  frames    ${r.frames}`);
    lines.push(`  tasks     ${r.tasks.length}`, ...r.tasks.slice(0, 10).map((t) => `    - ${t}`));
    if (r.tasks.length > 10) lines.push(`    ... and ${r.tasks.length - 10} more`);
    lines.push("  features");
    const w = Math.max(...r.features.map((f) => f.name.length));
    for (const f of r.features) lines.push(`    ${f.name.padEnd(w)}  ${f.dtype.padEnd(8)} [${f.shape.join(", ")}]`);
    lines.push("  cameras");
    if (r.cameras.length === 0) lines.push("    (none)");
    for (const c of r.cameras) lines.push(`    ${c.key}  ${c.width}x${c.height} ${c.codec}${c.available ? "" : "  MISSING (masked)"}`);
  }
  lines.push(`  problems  ${r.problems.length === 0 ? "none" : r.problems.length}`);
  for (const p of r.problems) lines.push(`    [${p.code}] ${p.message}`);
  return lines.join("\n") + "\n";
}
