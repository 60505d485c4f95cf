// Training data: the --data argument (a dataset folder or a mixture file), per-robot norm stats, robot specs, task texts.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "../tensor/errors.ts";
import { DatasetError } from "../data/errors.ts";
import { LeRobotDataset } from "../data/lerobot/dataset.ts";
import { type StatsMap } from "../data/lerobot/stats-json.ts";
import { type NormStats, normStatsFrom } from "../data/norm-stats.ts";
import { type PipelineGroup } from "../data/pipeline.ts";
import { type SourceConfig, resolveSource } from "../data/source.ts";
import { StatsAccumulator } from "../data/stats-compute.ts";
import { type ActionMode, type NormMode } from "../data/types.ts";

export const MIXTURE_FORMAT = "internvla-mixture/1";

/** How to recreate a missing dataset with `internvla generate` (named in the error when it is absent). */
export interface GenerateHint {
  readonly task: string;
  readonly robot: string;
  readonly episodes: number;
  readonly level?: string;
  readonly seed?: number;
  readonly size?: number;
}

export interface MixtureSource extends SourceConfig {
  readonly generate?: GenerateHint;
}

/**
 * A mixture file (the data pyramid): groups drawn by weight, datasets within a group by frames^gamma. Roots are
 * relative to the file's folder. `format` and `description` are optional.
 */
export interface MixtureFile {
  readonly format?: typeof MIXTURE_FORMAT;
  readonly description?: string;
  readonly groups: readonly (Omit<PipelineGroup, "sources"> & { readonly sources: readonly MixtureSource[] })[];
}

function generateCommand(root: string, g: GenerateHint): string {
  const opt = (k: string, v: unknown) => (v === undefined ? "" : ` --${k} ${v}`);
  return `internvla generate --task ${g.task} --robot ${g.robot} --episodes ${g.episodes}${opt("level", g.level)}${opt("seed", g.seed)}${opt("size", g.size)} --out ${root}`;
}

/** Why `root` is not a usable dataset and the command that makes it (when known), or undefined when it is fine. */
function datasetProblem(root: string, hint?: GenerateHint): { problem: string; fix?: string } | undefined {
  const make = hint ? generateCommand(root, hint) : undefined;
  if (existsSync(join(root, "meta", "PARTIAL"))) return { problem: `${root} is a partial dataset (meta/PARTIAL)`, fix: make ? `${make} --resume` : undefined };
  if (!existsSync(join(root, "meta", "info.json"))) return { problem: `${root} is not a LeRobot dataset (no meta/info.json)`, fix: make };
  return undefined;
}

/** A mixture file's text as groups with absolute roots; every unusable dataset is reported at once. */
export function parseMixture(text: string, file: string): PipelineGroup[] {
  let raw: MixtureFile;
  try {
    raw = JSON.parse(text) as MixtureFile;
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (raw.format !== undefined && raw.format !== MIXTURE_FORMAT) throw new ConfigError(`${file}: format must be "${MIXTURE_FORMAT}", got ${JSON.stringify(raw.format)}`);
  if (!Array.isArray(raw.groups) || raw.groups.length === 0) throw new ConfigError(`${file}: "groups" must list at least one group of datasets`);
  const base = dirname(resolve(file));
  const problems: { problem: string; fix?: string }[] = [];
  const groups = raw.groups.map((g, gi) => {
    if (typeof g.name !== "string" || !(g.weight >= 0) || !Array.isArray(g.sources) || g.sources.length === 0) {
      throw new ConfigError(`${file}: groups[${gi}] needs a name, a weight >= 0 and a non-empty "sources" list`);
    }
    const sources = g.sources.map((s: MixtureSource, si: number) => {
      if (typeof s.root !== "string") throw new ConfigError(`${file}: groups[${gi}].sources[${si}] needs a "root" (a dataset folder)`);
      const root = isAbsolute(s.root) ? s.root : join(base, s.root);
      const p = datasetProblem(root, s.generate);
      if (p) problems.push(p);
      const { generate: _g, ...rest } = s;
      return { ...rest, root };
    });
    return { name: g.name, weight: g.weight, gamma: g.gamma, sources };
  });
  if (problems.length > 0) {
    const fixes = problems.filter((p) => p.fix).map((p) => `  ${p.fix}`);
    throw new DatasetError(
      `${file}: ${problems.length} dataset(s) missing or incomplete:\n${problems.map((p) => `  ${p.problem}`).join("\n")}`,
      fixes.length > 0 ? `make them with:\n${fixes.join("\n")}` : undefined,
    );
  }
  return groups;
}

/** `--data`: one dataset folder (a single group) or a mixture JSON file. */
export function readDataArgument(arg: string, where: string): PipelineGroup[] {
  if (!existsSync(arg)) throw new ConfigError(`${where}: --data ${arg} does not exist`, "pass a LeRobot dataset folder or a mixture file (configs/pretrain-mixture.json)");
  if (statSync(arg).isDirectory()) {
    const p = datasetProblem(arg);
    if (p) throw new DatasetError(`${where}: ${p.problem}`, "pass a LeRobot dataset folder (internvla generate writes one) or a mixture file");
    return [{ name: basename(resolve(arg)), weight: 1, sources: [{ root: resolve(arg) }] }];
  }
  return parseMixture(readFileSync(arg, "utf8"), arg);
}

/** How a robot maps onto the model, as the server and the evaluator read it (robot.json, src/serve/checkpoint.ts). */
export interface RobotJson {
  readonly robot_type: string;
  readonly state_dim: number;
  readonly action_dim: number;
  readonly action_mode: ActionMode;
  readonly norm_mode: NormMode;
  readonly delta_mask: readonly boolean[];
  /** Wire camera name per model slot (the dataset key without "observation.images."), null = none. */
  readonly cameras: readonly (string | null)[];
  /** Camera image side of the training data (the top camera's height). */
  readonly image_size: number;
  readonly frame_gap: number;
  /** Selectors of the features forming the state and action (how the stats were cut). */
  readonly state_keys: readonly string[];
  readonly action_keys: readonly string[];
}

/** What the trainer learns from the datasets before the first step. */
export interface DataSummary {
  /** Per robot_type, per feature selector: what the data pipeline normalises with. */
  readonly featureStats: Record<string, StatsMap>;
  /** Per robot_type: the concatenated state and action stats (the checkpoint's stats.json). */
  readonly normStats: Record<string, NormStats>;
  readonly robots: Record<string, RobotJson>;
  /** Every distinct task instruction (for the built-in vocabulary). */
  readonly tasks: readonly string[];
  /** Frames per robot_type over all datasets. */
  readonly robotFrames: Record<string, number>;
}

export interface SummaryOptions {
  readonly actionMode: ActionMode;
  readonly norm: NormMode;
  readonly chunk: number;
  readonly views: number;
  /** Past frame offset of the foresight input (15). */
  readonly frameGap: number;
  /** Precomputed per-feature stats (a resumed run reuses its own); computed from the data when absent. */
  readonly featureStats?: Record<string, StatsMap>;
  readonly onProgress?: (dataset: string, done: number, total: number) => void;
}

const wireName = (key: string | null) => (key === null ? null : key.replace(/^observation\.images\./, ""));

/**
 * Opens every dataset once: robot specs, task texts and (unless given) the official norm stats per robot_type
 * (delta actions over chunks, like `internvla stats --action-mode delta`), without images.
 */
export async function summariseData(groups: readonly PipelineGroup[], opts: SummaryOptions): Promise<DataSummary> {
  const acc = new Map<string, StatsAccumulator>();
  const robots: Record<string, RobotJson> = {};
  const slices = new Map<string, Parameters<typeof normStatsFrom>[1 | 2][]>();
  const tasks = new Set<string>();
  const robotFrames: Record<string, number> = {};
  for (const src of groups.flatMap((g) => g.sources)) {
    const ds = await LeRobotDataset.open(src.root);
    try {
      const r = resolveSource(src, ds, opts.views);
      const top = r.cameras.find((c) => c !== null);
      const spec: RobotJson = {
        robot_type: r.robotType, state_dim: r.stateDim, action_dim: r.actionDim, action_mode: opts.actionMode, norm_mode: opts.norm,
        delta_mask: r.deltaMask, cameras: r.cameras.map(wireName), image_size: top ? Number((ds.info.features[top].shape as number[])[0]) : 0,
        frame_gap: opts.frameGap, state_keys: r.state.map((f) => f.selector), action_keys: r.action.map((f) => f.selector),
      };
      const seen = robots[r.robotType];
      if (seen && JSON.stringify(seen) !== JSON.stringify(spec)) {
        throw new ConfigError(`${src.root}: robot_type "${r.robotType}" is laid out differently from another dataset of the same robot_type`, "set each source's robotType, stateKeys/actionKeys and cameras so one robot_type means one layout");
      }
      robots[r.robotType] = spec;
      slices.set(r.robotType, [r.state, r.action]);
      for (const ep of ds.episodes) tasks.add(ds.taskOf(ep.start));
      robotFrames[r.robotType] = (robotFrames[r.robotType] ?? 0) + ds.numFrames;
      if (!opts.featureStats && opts.norm !== "none") {
        const a = acc.get(r.robotType) ?? new StatsAccumulator({ actionMode: opts.actionMode, chunk: opts.chunk, images: false });
        acc.set(r.robotType, a);
        await a.add(ds, { state: r.state, action: r.action, deltaMask: r.deltaMask }, (d, t) => opts.onProgress?.(r.name, d, t));
      }
    } finally {
      await ds.close();
    }
  }
  const featureStats = opts.featureStats ?? Object.fromEntries([...acc].map(([robot, a]) => [robot, a.result()]));
  const normStats: Record<string, NormStats> = {};
  if (opts.norm !== "none") {
    for (const [robot, [state, action]] of slices) {
      if (!featureStats[robot]) throw new ConfigError(`norm stats: none for robot_type "${robot}"`);
      normStats[robot] = normStatsFrom(featureStats[robot], state, action, `norm stats of robot_type "${robot}"`);
    }
  }
  return { featureStats, normStats, robots, tasks: [...tasks].sort(), robotFrames };
}
