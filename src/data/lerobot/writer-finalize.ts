// Turns staged episodes into the v3.0 layout: merged data and video files, episodes/tasks parquet, stats, info.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type * as arrow from "apache-arrow";
import { writeJsonAtomic } from "../fs.ts";
import { type Info, V30_DATA_PATH, V30_VIDEO_PATH, formatPath } from "./meta.ts";
import {
  f64Column, i64Column, nestedListColumn, readParquetFile, stringColumn, stringListColumn, writeParquetFile, writeParquetTable,
} from "./parquet.ts";
import { type FeatureStats, QUANTILE_KEYS, aggregateStats } from "./stats.ts";
import { statsToJson } from "./stats-json.ts";
import { concatVideos, videoConfigKey } from "./video.ts";
import { type WriterSpec, hfFeaturesMeta, infoFeatures } from "./writer-spec.ts";

/** What the writer remembers of each staged episode (stored as .staging/ep-N/episode.json). */
export interface StagedEpisode {
  readonly episodeIndex: number;
  readonly from: number;
  readonly taskIndex: number;
  readonly task: string;
  readonly length: number;
  readonly stats: Record<string, FeatureStats>;
  readonly dataBytes: number;
  readonly videoBytes: Record<string, number>;
}

/** LeRobot's defaults: 1000 files per chunk, 100 MB data files, 200 MB video files. */
export const CHUNKS_SIZE = 1000;
export const DATA_FILE_MB = 100;
export const VIDEO_FILE_MB = 200;

interface FilePlan {
  readonly chunk: number;
  readonly file: number;
  readonly episodes: number[];
}

/**
 * Groups episodes into files of at most `capBytes` (an episode never splits; a new file also starts where
 * `groupKeys` changes); 1000 files per chunk.
 */
function planFiles(sizes: readonly number[], capBytes: number, groupKeys?: readonly string[]): FilePlan[] {
  const plans: FilePlan[] = [];
  let current: number[] = [];
  let bytes = 0;
  const flush = () => {
    const n = plans.length;
    plans.push({ chunk: Math.floor(n / CHUNKS_SIZE), file: n % CHUNKS_SIZE, episodes: current });
    current = [];
    bytes = 0;
  };
  sizes.forEach((s, i) => {
    const newGroup = groupKeys !== undefined && current.length > 0 && groupKeys[i] !== groupKeys[current[0]];
    if (current.length > 0 && (bytes + s > capBytes || newGroup)) flush();
    current.push(i);
    bytes += s;
  });
  if (current.length > 0) flush();
  return plans;
}

type StagedPath = (episode: number, file: string) => string;

function writeDataFiles(dir: string, spec: WriterSpec, eps: readonly StagedEpisode[], staged: StagedPath): Map<number, FilePlan> {
  const where = new Map<number, FilePlan>();
  const meta = { huggingface: hfFeaturesMeta(infoFeatures(spec)) };
  for (const plan of planFiles(eps.map((e) => e.dataBytes), DATA_FILE_MB * 1e6)) {
    const tables = plan.episodes.map((i) => readParquetFile(staged(i, "data.parquet")));
    const merged: arrow.Table = tables.length === 1 ? tables[0] : tables[0].concat(...tables.slice(1));
    writeParquetTable(join(dir, formatPath(V30_DATA_PATH, { chunk_index: plan.chunk, file_index: plan.file })), merged, meta);
    for (const i of plan.episodes) where.set(i, plan);
  }
  return where;
}

interface VideoPlace {
  readonly chunk: number;
  readonly file: number;
  readonly from: number;
  readonly to: number;
}

async function writeVideoFiles(dir: string, spec: WriterSpec, eps: readonly StagedEpisode[], staged: StagedPath, tick: () => void): Promise<Map<string, VideoPlace[]>> {
  const out = new Map<string, VideoPlace[]>();
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype !== "video") continue;
    const places: VideoPlace[] = new Array(eps.length);
    const configs: string[] = [];
    for (let i = 0; i < eps.length; i++) configs.push(await videoConfigKey(staged(i, `${key}.mp4`)));
    for (const plan of planFiles(eps.map((e) => e.videoBytes[key]), VIDEO_FILE_MB * 1e6, configs)) {
      const path = join(dir, formatPath(V30_VIDEO_PATH, { video_key: key, chunk_index: plan.chunk, file_index: plan.file }));
      const parts = plan.episodes.map((i) => staged(i, `${key}.mp4`));
      mkdirSync(dirname(path), { recursive: true });
      const spans = await concatVideos(parts, path, spec.fps);
      plan.episodes.forEach((i, k) => {
        places[i] = { chunk: plan.chunk, file: plan.file, ...spans[k] };
        tick();
      });
    }
    out.set(key, places);
  }
  return out;
}

/** The stats/<feature>/<stat> columns: images nested [3][1][1], counts and integer min/max as int64 lists. */
function statsColumns(eps: readonly StagedEpisode[], features: Info["features"]): Record<string, arrow.Vector> {
  const cols: Record<string, arrow.Vector> = {};
  for (const key of Object.keys(eps[0].stats)) {
    const f = features[key];
    const image = f?.dtype === "video" || f?.dtype === "image";
    const intFeature = f?.dtype === "int64";
    const nest = (v: number[]): unknown => (image ? v.map((x) => [[x]]) : v);
    for (const stat of ["min", "max", "mean", "std", "count", ...QUANTILE_KEYS] as const) {
      const values = eps.map((e) => {
        const s = e.stats[key];
        if (stat === "count") return [s.count];
        const v = stat === "min" || stat === "max" || stat === "mean" || stat === "std" ? s[stat] : s.quantiles?.[stat] ?? [];
        return nest(v);
      });
      const isInt = stat === "count" || (intFeature && (stat === "min" || stat === "max"));
      cols[`stats/${key}/${stat}`] = nestedListColumn(values, stat === "count" ? 1 : image ? 3 : 1, isInt);
    }
  }
  return cols;
}

function writeEpisodesParquet(dir: string, eps: readonly StagedEpisode[], data: Map<number, FilePlan>, videos: Map<string, VideoPlace[]>, features: Info["features"]): void {
  const cols: Record<string, arrow.Vector> = {
    episode_index: i64Column(eps.map((e) => e.episodeIndex)),
    tasks: stringListColumn(eps.map((e) => [e.task])),
    length: i64Column(eps.map((e) => e.length)),
    "data/chunk_index": i64Column(eps.map((_, i) => data.get(i)!.chunk)),
    "data/file_index": i64Column(eps.map((_, i) => data.get(i)!.file)),
    dataset_from_index: i64Column(eps.map((e) => e.from)),
    dataset_to_index: i64Column(eps.map((e) => e.from + e.length)),
  };
  for (const [key, places] of videos) {
    cols[`videos/${key}/chunk_index`] = i64Column(places.map((p) => p.chunk));
    cols[`videos/${key}/file_index`] = i64Column(places.map((p) => p.file));
    cols[`videos/${key}/from_timestamp`] = f64Column(Float64Array.from(places, (p) => p.from));
    cols[`videos/${key}/to_timestamp`] = f64Column(Float64Array.from(places, (p) => p.to));
  }
  cols["meta/episodes/chunk_index"] = i64Column(eps.map(() => 0));
  cols["meta/episodes/file_index"] = i64Column(eps.map(() => 0));
  Object.assign(cols, statsColumns(eps, features));
  writeParquetFile(join(dir, "meta", "episodes", "chunk-000", "file-000.parquet"), cols);
}

/** meta/tasks.parquet as pandas writes a DataFrame indexed by the task string (LeRobot reads it with pandas). */
function writeTasksParquet(dir: string, tasks: readonly string[]): void {
  const pandas = {
    index_columns: ["__index_level_0__"],
    column_indexes: [{ name: null, field_name: null, pandas_type: "unicode", numpy_type: "object", metadata: { encoding: "UTF-8" } }],
    columns: [
      { name: "task_index", field_name: "task_index", pandas_type: "int64", numpy_type: "int64", metadata: null },
      { name: null, field_name: "__index_level_0__", pandas_type: "unicode", numpy_type: "object", metadata: null },
    ],
    attributes: {},
    creator: { library: "pyarrow", version: "22.0.0" },
    pandas_version: "2.3.3",
  };
  writeParquetFile(join(dir, "meta", "tasks.parquet"),
    { task_index: i64Column(tasks.map((_, i) => i)), __index_level_0__: stringColumn(tasks) }, { pandas: JSON.stringify(pandas) });
}

/** Writes every final file from the staged episodes; info.json goes last. */
export async function finalizeDataset(
  dir: string, spec: WriterSpec, eps: readonly StagedEpisode[], tasks: readonly string[], staged: StagedPath,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const features = infoFeatures(spec);
  const videoKeys = Object.keys(spec.features).filter((k) => spec.features[k].dtype === "video");
  const total = eps.length * (videoKeys.length + 1);
  let done = 0;
  const tick = () => onProgress?.(++done, total);
  const data = writeDataFiles(dir, spec, eps, staged);
  eps.forEach(tick);
  const videos = await writeVideoFiles(dir, spec, eps, staged, tick);
  writeEpisodesParquet(dir, eps, data, videos, features);
  writeTasksParquet(dir, tasks);
  const stats: Record<string, FeatureStats> = {};
  for (const key of Object.keys(eps[0].stats)) stats[key] = aggregateStats(eps.map((e) => e.stats[key]));
  writeJsonAtomic(join(dir, "meta", "stats.json"), statsToJson(stats, new Set(videoKeys)));
  const totalFrames = eps.reduce((s, e) => s + e.length, 0);
  const info: Info = {
    codebase_version: "v3.0", robot_type: spec.robotType, total_episodes: eps.length, total_frames: totalFrames,
    total_tasks: tasks.length, chunks_size: CHUNKS_SIZE, data_files_size_in_mb: DATA_FILE_MB, video_files_size_in_mb: VIDEO_FILE_MB,
    fps: spec.fps, splits: { train: `0:${eps.length}` }, data_path: V30_DATA_PATH, video_path: videoKeys.length > 0 ? V30_VIDEO_PATH : null,
    features,
  };
  writeJsonAtomic(join(dir, "meta", "info.json"), info);
}
