// `internvla convert`: a LeRobot v2.x dataset to v3.0 (videos concatenated without re-encoding).
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatasetError, type WarnFn } from "../errors.ts";
import { readJson, writeJsonAtomic } from "../fs.ts";
import { LeRobotDataset } from "./dataset.ts";
import { type Info, INDEX_COLUMNS, cameraSize, videoInfo } from "./meta.ts";
import { imageSampleIndices, imageStats } from "./stats.ts";
import { canonicalCodec } from "./video.ts";
import { type StagedEpisode, finalizeDataset } from "./writer-finalize.ts";
import { PARTIAL_MARKER, STAGING_DIR } from "./writer.ts";
import { type EpisodeInput, type FeatureSpec, type WriterSpec, episodeColumns, episodeStats, hfFeaturesMeta, infoFeatures } from "./writer-spec.ts";
import { writeParquetFile } from "./parquet.ts";

export interface ConvertResult {
  readonly episodes: number;
  readonly frames: number;
}

/** The v3.0 writer spec of a v2.x dataset: numeric features as float32/int64/bool, present cameras as video. */
function specFrom(ds: LeRobotDataset, warn: WarnFn): WriterSpec {
  const features: Record<string, FeatureSpec> = {};
  for (const [key, f] of Object.entries(ds.info.features)) {
    if ((INDEX_COLUMNS as readonly string[]).includes(key)) continue;
    if (f.dtype === "video") {
      if (!ds.cameras.includes(key)) {
        warn({ code: "dropped-feature", message: `${key}: declared video without files; left out of the v3.0 dataset` });
        continue;
      }
      const { height, width } = cameraSize(key, f, () => undefined);
      features[key] = { dtype: "video", shape: [height, width, 3] };
    } else if (f.dtype === "image") {
      throw new DatasetError(`${ds.root}: feature "${key}" stores images in parquet; converting image features is not supported`, "encode them as video first");
    } else if (ds.vectorKeys.includes(key)) {
      if (f.shape.length !== 1) throw new DatasetError(`${ds.root}: feature "${key}" has shape [${f.shape.join(", ")}]; only 1-D features convert`);
      const dtype = f.dtype.startsWith("int") ? "int64" : f.dtype === "bool" ? "bool" : "float32";
      if (f.dtype === "float64") warn({ code: "float64-to-float32", message: `${key}: float64 stored as float32 (LeRobot's training dtype)` });
      features[key] = { dtype, shape: [...f.shape], names: Array.isArray(f.names) ? [...(f.names as string[])] : null };
    } else {
      warn({ code: "dropped-feature", message: `${key}: dtype ${f.dtype} is not converted` });
    }
  }
  const codecs = new Set(Object.keys(features).filter((k) => features[k].dtype === "video").map((k) => canonicalCodec(String(videoInfo(ds.info.features[k])["video.codec"] ?? "av1"))));
  return { fps: ds.fps, robotType: ds.robotType, features, videoCodec: codecs.has("h264") && codecs.size === 1 ? "h264" : "av1" };
}

/** One episode's rows as writer input (vectors only; frames stay in their mp4). */
function episodeInput(ds: LeRobotDataset, spec: WriterSpec, e: number): EpisodeInput {
  const ep = ds.episodes[e];
  const vectors: Record<string, Float32Array> = {};
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype === "video") continue;
    const v = ds.vector(key);
    vectors[key] = v.data.slice(ep.start * v.dim, ep.end * v.dim);
  }
  return { task: ds.taskOf(ep.start), length: ep.end - ep.start, vectors, frames: {} };
}

async function stageEpisode(ds: LeRobotDataset, spec: WriterSpec, e: number, place: { episodeIndex: number; from: number; taskIndex: number }, dir: string): Promise<StagedEpisode> {
  const ep = ds.episodes[e];
  const input = episodeInput(ds, spec, e);
  mkdirSync(dir, { recursive: true });
  writeParquetFile(join(dir, "data.parquet"), episodeColumns(spec, input, place), { huggingface: hfFeaturesMeta(infoFeatures(spec)) });
  const vectorSpec = { ...spec, features: Object.fromEntries(Object.entries(spec.features).filter(([, f]) => f.dtype !== "video")) };
  const stats = episodeStats(vectorSpec, input, place);
  const videoBytes: Record<string, number> = {};
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype !== "video") continue;
    const srcFile = join(ds.root, ep.meta.videos[key].file);
    copyFileSync(srcFile, join(dir, `${key}.mp4`));
    videoBytes[key] = statSync(srcFile).size;
    const own = ep.meta.stats?.[key];
    if (own) stats[key] = own;
    else {
      const picks = imageSampleIndices(input.length);
      const frames = await ds.frames(key, picks.map((i) => ep.start + i));
      const all = Array.from({ length: input.length }, (_, i) => frames[picks.indexOf(i)]?.rgb ?? new Uint8Array(0));
      stats[key] = imageStats(all, f.shape[1], f.shape[0]);
    }
  }
  return { ...place, task: input.task, length: input.length, stats, dataBytes: statSync(join(dir, "data.parquet")).size, videoBytes };
}

/**
 * Converts `src` (v2.0 or v2.1) into a new v3.0 dataset at `dst`: data merged into file-NNN.parquet, each
 * camera's episode mp4s concatenated (no re-encoding), per-episode stats kept (images) or computed, timestamps
 * rewritten as frame_index / fps. `dst` must be absent or empty; it is marked partial until done.
 */
export async function convertToV30(src: string, dst: string, warn: WarnFn = () => undefined, onProgress?: (done: number, total: number) => void): Promise<ConvertResult> {
  if (existsSync(dst) && readdirSync(dst).length > 0) throw new DatasetError(`${dst}: output folder is not empty`, "convert into a new folder");
  const ds = await LeRobotDataset.open(src, { warn });
  try {
    if (ds.version === "v3.0") throw new DatasetError(`${src}: already v3.0; nothing to convert`);
    if (ds.warnings.some((w) => w.code === "wallclock-timestamps")) {
      warn({ code: "timestamps-rewritten", message: `${src}: timestamps disagree with frame_index / fps; the v3.0 copy stores frame_index / fps, which is where its video frames are` });
    }
    const spec = specFrom(ds, warn);
    mkdirSync(join(dst, "meta"), { recursive: true });
    writeJsonAtomic(join(dst, PARTIAL_MARKER), { status: "partial", writer: "internvla convert", source: src });
    const stage = (i: number) => join(dst, STAGING_DIR, `ep-${String(i).padStart(6, "0")}`);
    const tasks = new Map<string, number>();
    const staged: StagedEpisode[] = [];
    let from = 0;
    for (let e = 0; e < ds.episodes.length; e++) {
      const task = ds.taskOf(ds.episodes[e].start);
      if (!tasks.has(task)) tasks.set(task, tasks.size);
      staged.push(await stageEpisode(ds, spec, e, { episodeIndex: e, from, taskIndex: tasks.get(task)! }, stage(e)));
      from += staged[e].length;
      onProgress?.(e + 1, ds.episodes.length * 2);
    }
    await finalizeDataset(dst, spec, staged, [...tasks.keys()], (i, f) => join(stage(i), f), (d, t) => onProgress?.(ds.episodes.length + Math.round((d / t) * ds.episodes.length), ds.episodes.length * 2));
    keepSourceVideoInfo(dst, ds.info);
    rmSync(join(dst, PARTIAL_MARKER), { force: true });
    rmSync(join(dst, STAGING_DIR), { recursive: true, force: true });
    return { episodes: staged.length, frames: from };
  } finally {
    await ds.close();
  }
}

/** The copied videos keep their codec and pixel format: carry the source's video metadata into info.json. */
function keepSourceVideoInfo(dst: string, source: Info): void {
  const file = join(dst, "meta", "info.json");
  const info = readJson(file) as Info;
  const features = { ...info.features };
  for (const [key, f] of Object.entries(features)) {
    if (f.dtype !== "video" || !source.features[key]) continue;
    features[key] = { ...f, info: { ...f.info, ...videoInfo(source.features[key]), "video.fps": source.fps } };
  }
  writeJsonAtomic(file, { ...info, features });
}
