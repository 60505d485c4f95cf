// Episode and task metadata for each LeRobot version: where an episode's rows and videos are, and its tasks.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatasetError, type WarnFn } from "../errors.ts";
import { readJsonl } from "../fs.ts";
import { type CodebaseVersion, type Info, cameraKeys, formatPath } from "./meta.ts";
import { hasColumn, readParquetFile, readPlainColumn, readScalarColumn } from "./parquet.ts";
import { type StatsMap, statsFromJson } from "./stats-json.ts";

/** Where an episode's frames live in one camera's video. */
export interface VideoLocation {
  /** Path relative to the dataset root. */
  readonly file: string;
  /** Time of the episode's first frame in that file (v3.0 concatenates episodes). */
  readonly fromTimestamp: number;
}

export interface EpisodeMeta {
  readonly index: number;
  /** Length declared by the metadata (the data decides; mismatches are warned about). */
  readonly length: number;
  readonly tasks: readonly string[];
  /** Parquet file holding its rows, relative to the root. */
  readonly dataFile: string;
  readonly videos: Readonly<Record<string, VideoLocation>>;
  /** Per-episode statistics (v2.1 episodes_stats.jsonl, v3.0 stats/* columns), when present. */
  readonly stats?: StatsMap;
}

export interface EpisodeIndex {
  readonly episodes: readonly EpisodeMeta[];
  /** Task strings by task_index. */
  readonly tasks: readonly string[];
}

function v2Episodes(root: string, info: Info, version: CodebaseVersion, warn: WarnFn): EpisodeIndex {
  const file = join(root, "meta", "episodes.jsonl");
  const rows = readJsonl(file) as { episode_index?: number; tasks?: string[]; length?: number }[];
  const tasksRows = readJsonl(join(root, "meta", "tasks.jsonl")) as { task_index: number; task: string }[];
  const tasks: string[] = [];
  for (const t of tasksRows) tasks[t.task_index] = t.task;
  let statsByEp = new Map<number, StatsMap>();
  const statsFile = join(root, "meta", "episodes_stats.jsonl");
  if (version === "v2.1" && existsSync(statsFile)) {
    statsByEp = new Map((readJsonl(statsFile) as { episode_index: number; stats: unknown }[]).map((r) => [r.episode_index, statsFromJson(r.stats, `${statsFile} episode ${r.episode_index}`)]));
  }
  const cams = cameraKeys(info).filter((k) => info.features[k].dtype === "video");
  const chunk = Math.max(1, info.chunks_size || 1000);
  const episodes = rows.map((r, line) => {
    if (typeof r.episode_index !== "number" || typeof r.length !== "number") {
      throw new DatasetError(`${file}:${line + 1}: each line needs numeric "episode_index" and "length"; found ${JSON.stringify(r).slice(0, 120)}`);
    }
    const ep = r.episode_index;
    const values = { episode_chunk: Math.floor(ep / chunk), episode_index: ep };
    const videos: Record<string, VideoLocation> = {};
    for (const key of cams) if (info.video_path) videos[key] = { file: formatPath(info.video_path, { ...values, video_key: key }), fromTimestamp: 0 };
    if ((r.tasks?.length ?? 0) > 1) {
      warn({ code: "multi-task-episode", message: `${file}: episode ${ep} lists ${r.tasks!.length} tasks (${r.tasks!.map((t) => JSON.stringify(t)).join(", ")}); each frame's task_index decides its task` });
    }
    return { index: ep, length: r.length, tasks: r.tasks ?? [], dataFile: formatPath(info.data_path, values), videos, stats: statsByEp.get(ep) };
  });
  return { episodes, tasks };
}

/** All parquet files under a folder, recursively, sorted (the v3.0 episodes files). */
function parquetFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".parquet") && !f.split("/").some((p) => p.startsWith("."))).sort().map((f) => join(dir, f));
}

function v3Tasks(root: string): string[] {
  const file = join(root, "meta", "tasks.parquet");
  const t = readParquetFile(file);
  const idx = readScalarColumn(t, "task_index", file);
  const nameCol = hasColumn(t, "task") ? "task" : hasColumn(t, "__index_level_0__") ? "__index_level_0__" : undefined;
  if (!nameCol) throw new DatasetError(`${file}: no task strings; expected a "task" column or a pandas index "__index_level_0__"`);
  const names = readPlainColumn(t, nameCol, file) as string[];
  const tasks: string[] = [];
  idx.forEach((i, r) => (tasks[i] = names[r]));
  return tasks;
}

function v3Episodes(root: string, info: Info): EpisodeIndex {
  const files = parquetFiles(join(root, "meta", "episodes"));
  if (files.length === 0) throw new DatasetError(`${join(root, "meta", "episodes")}: no episodes parquet files; a v3.0 dataset needs meta/episodes/chunk-*/file-*.parquet`);
  const cams = cameraKeys(info).filter((k) => info.features[k].dtype === "video");
  const episodes: EpisodeMeta[] = [];
  for (const file of files) {
    const t = readParquetFile(file);
    const col = (name: string): unknown[] => readPlainColumn(t, name, file);
    const num = (name: string): Float64Array => readScalarColumn(t, name, file);
    const epIdx = num("episode_index");
    const length = num("length");
    const tasks = col("tasks") as string[][];
    const dChunk = num("data/chunk_index");
    const dFile = num("data/file_index");
    const statCols = t.schema.fields.map((f) => f.name).filter((n) => n.startsWith("stats/"));
    const video = (key: string) => hasColumn(t, `videos/${key}/chunk_index`)
      ? { chunk: num(`videos/${key}/chunk_index`), file: num(`videos/${key}/file_index`), from: num(`videos/${key}/from_timestamp`) }
      : undefined;
    const vids = Object.fromEntries(cams.map((k) => [k, video(k)]));
    const statValues = Object.fromEntries(statCols.map((c) => [c, col(c)]));
    for (let r = 0; r < t.numRows; r++) {
      const videos: Record<string, VideoLocation> = {};
      for (const key of cams) {
        const v = vids[key];
        if (v && info.video_path) videos[key] = { file: formatPath(info.video_path, { video_key: key, chunk_index: v.chunk[r], file_index: v.file[r] }), fromTimestamp: v.from[r] };
      }
      const statsJson: Record<string, Record<string, unknown>> = {};
      for (const c of statCols) {
        const [, feature, stat] = /^stats\/(.+)\/([^/]+)$/.exec(c) ?? [];
        if (feature) (statsJson[feature] ??= {})[stat] = statValues[c][r];
      }
      episodes.push({
        index: epIdx[r], length: length[r], tasks: tasks[r] ?? [],
        dataFile: formatPath(info.data_path, { chunk_index: dChunk[r], file_index: dFile[r] }),
        videos, stats: statCols.length > 0 ? statsFromJson(statsJson, `${file} episode ${epIdx[r]}`) : undefined,
      });
    }
  }
  episodes.sort((a, b) => a.index - b.index);
  return { episodes, tasks: v3Tasks(root) };
}

/** Reads episode and task metadata for the dataset's version. */
export function readEpisodeIndex(root: string, info: Info, version: CodebaseVersion, warn: WarnFn): EpisodeIndex {
  return version === "v3.0" ? v3Episodes(root, info) : v2Episodes(root, info, version, warn);
}
