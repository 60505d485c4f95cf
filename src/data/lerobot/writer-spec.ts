// The writer's feature spec: validation, info.json features, and one episode's parquet columns and statistics.
import type * as arrow from "apache-arrow";
import { DatasetError } from "../errors.ts";
import { INDEX_COLUMNS, type InfoFeature } from "./meta.ts";
import { boolColumn, f32Column, fixedListF32, i64Column, stringColumn } from "./parquet.ts";
import { type FeatureStats, RunningStats } from "./stats.ts";
import { INFO_CODEC, type VideoCodecName } from "./video.ts";

export interface FeatureSpec {
  dtype: "float32" | "int64" | "bool" | "string" | "video";
  shape: number[];
  names?: string[] | null;
}

export interface WriterSpec {
  fps: number;
  robotType: string;
  /** Video features have shape [H, W, 3]. */
  features: Record<string, FeatureSpec>;
  videoCodec?: "av1" | "h264";
}

/** The tabular part of an episode: everything but its camera frames. */
export interface EpisodeRows {
  task: string;
  length: number;
  /** Non-video numeric features, row-major [length * dim]. */
  vectors: Record<string, Float32Array>;
  /** String features, one value per frame. */
  strings?: Record<string, string[]>;
}

/** One episode as the simulator hands it over. */
export interface EpisodeInput extends EpisodeRows {
  /** Video features: `length` frames of packed RGB [H, W, 3]. */
  frames: Record<string, Uint8Array[]>;
}

/** Checks a spec once, at create(); every message names the feature and the rule. */
export function validateWriterSpec(spec: WriterSpec): void {
  const where = "LeRobotWriter spec";
  if (!(spec.fps > 0)) throw new DatasetError(`${where}: fps must be > 0; got ${spec.fps}`);
  if (!spec.robotType) throw new DatasetError(`${where}: robotType must be a non-empty string`);
  if (spec.videoCodec && !["av1", "h264"].includes(spec.videoCodec)) {
    throw new DatasetError(`${where}: videoCodec must be "av1" or "h264"; got "${spec.videoCodec}"`);
  }
  for (const [key, f] of Object.entries(spec.features)) {
    if ((INDEX_COLUMNS as readonly string[]).includes(key)) {
      throw new DatasetError(`${where}: feature "${key}" is reserved; the writer adds ${INDEX_COLUMNS.join(", ")} itself`);
    }
    if (f.dtype === "video") {
      if (f.shape.length !== 3 || f.shape[2] !== 3) throw new DatasetError(`${where}: video feature "${key}" must have shape [H, W, 3]; got [${f.shape.join(", ")}]`);
      if (f.shape[0] % 2 || f.shape[1] % 2) throw new DatasetError(`${where}: video feature "${key}" size ${f.shape[1]}x${f.shape[0]} must be even (yuv420p)`);
      if (!key.startsWith("observation.images.")) throw new DatasetError(`${where}: video feature "${key}" must be named observation.images.<camera> (LeRobot bakes image keys into its stats)`);
    } else if (!["float32", "int64", "bool", "string"].includes(f.dtype)) {
      throw new DatasetError(`${where}: feature "${key}" has dtype "${f.dtype}"; expected float32, int64, bool, string or video`);
    } else if (f.shape.length !== 1 || !(f.shape[0] >= 1)) {
      throw new DatasetError(`${where}: feature "${key}" must have a 1-D shape [dim]; got [${f.shape.join(", ")}]`);
    }
    if (f.names && f.dtype !== "video" && f.names.length !== f.shape[0]) {
      throw new DatasetError(`${where}: feature "${key}" has ${f.names.length} names for shape [${f.shape[0]}]`);
    }
  }
}

/** The info.json `features` object: the spec's features plus the five index columns. */
export function infoFeatures(spec: WriterSpec): Record<string, InfoFeature> {
  const codec: VideoCodecName = spec.videoCodec ?? "av1";
  const out: Record<string, InfoFeature> = {};
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype === "video") {
      out[key] = {
        dtype: "video", shape: f.shape, names: ["height", "width", "channels"],
        info: {
          "video.height": f.shape[0], "video.width": f.shape[1], "video.codec": INFO_CODEC[codec], "video.pix_fmt": "yuv420p",
          "video.is_depth_map": false, "video.fps": spec.fps, "video.channels": 3, "has_audio": false,
        },
      };
    } else out[key] = { dtype: f.dtype, shape: f.shape, names: f.names ?? null };
  }
  out.timestamp = { dtype: "float32", shape: [1], names: null };
  for (const k of ["frame_index", "episode_index", "index", "task_index"]) out[k] = { dtype: "int64", shape: [1], names: null };
  return out;
}

/** The `huggingface` parquet footer that HF `datasets` writes (Value for shape [1], Sequence otherwise). */
export function hfFeaturesMeta(features: Record<string, InfoFeature>): string {
  const hf: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(features)) {
    if (f.dtype === "video") continue;
    const value = { dtype: f.dtype, _type: "Value" };
    hf[k] = f.shape[0] === 1 ? value : { feature: value, length: f.shape[0], _type: "Sequence" };
  }
  return JSON.stringify({ info: { features: hf } });
}

/** Checks one episode against the spec; messages name the feature, the expected and the found sizes. */
export function validateEpisode(spec: WriterSpec, ep: EpisodeInput, where: string): void {
  const given = new Set([...Object.keys(ep.vectors), ...Object.keys(ep.frames), ...Object.keys(ep.strings ?? {})]);
  for (const key of given) if (!(key in spec.features)) throw new DatasetError(`${where}: "${key}" is not a feature of this dataset; features are ${Object.keys(spec.features).join(", ")}`);
  validateRows(spec, ep, where);
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype !== "video") continue;
    const fr = ep.frames[key];
    if (!fr) throw new DatasetError(`${where}: frames of video feature "${key}" are missing`);
    if (fr.length !== ep.length) throw new DatasetError(`${where}: "${key}" has ${fr.length} frames; expected length ${ep.length}`);
    const size = f.shape[0] * f.shape[1] * 3;
    fr.forEach((img, i) => {
      if (img.length !== size) throw new DatasetError(`${where}: "${key}" frame ${i} has ${img.length} bytes; expected ${f.shape.join("x")} = ${size}`);
    });
  }
}

/** Checks an episode's length, task, vector and string features against the spec. */
export function validateRows(spec: WriterSpec, ep: EpisodeRows, where: string): void {
  if (!Number.isInteger(ep.length) || ep.length < 1) throw new DatasetError(`${where}: length must be a positive integer; got ${ep.length}`);
  if (typeof ep.task !== "string" || ep.task === "") throw new DatasetError(`${where}: task must be a non-empty string`);
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype === "video") continue;
    if (f.dtype === "string") {
      const s = ep.strings?.[key];
      if (!s || s.length !== ep.length) throw new DatasetError(`${where}: string feature "${key}" needs ${ep.length} values; got ${s?.length ?? 0}`);
      continue;
    }
    const v = ep.vectors[key];
    if (!v) throw new DatasetError(`${where}: vector feature "${key}" is missing`);
    if (v.length !== ep.length * f.shape[0]) {
      throw new DatasetError(`${where}: "${key}" has ${v.length} values; expected length x dim = ${ep.length} x ${f.shape[0]} = ${ep.length * f.shape[0]}`);
    }
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new DatasetError(`${where}: "${key}" value ${bad} (frame ${Math.floor(bad / f.shape[0])}) is ${v[bad]}; expected a finite number`);
  }
}

/** Where an episode sits in the whole dataset. */
export interface EpisodePlace {
  readonly episodeIndex: number;
  /** Global index of the episode's first frame. */
  readonly from: number;
  readonly taskIndex: number;
}

function indexColumns(ep: EpisodeRows, fps: number, place: EpisodePlace): Record<string, Float32Array | number[]> {
  const n = ep.length;
  return {
    timestamp: Float32Array.from({ length: n }, (_, k) => k / fps),
    frame_index: Array.from({ length: n }, (_, k) => k),
    episode_index: new Array<number>(n).fill(place.episodeIndex),
    index: Array.from({ length: n }, (_, k) => place.from + k),
    task_index: new Array<number>(n).fill(place.taskIndex),
  };
}

/** The episode's data parquet columns, in info.json order. */
export function episodeColumns(spec: WriterSpec, ep: EpisodeRows, place: EpisodePlace): Record<string, arrow.Vector> {
  const cols: Record<string, arrow.Vector> = {};
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype === "video") continue;
    if (f.dtype === "string") cols[key] = stringColumn(ep.strings![key]);
    else if (f.dtype === "int64") cols[key] = f.shape[0] === 1 ? i64Column(Array.from(ep.vectors[key], Math.round)) : fixedListInt(key);
    else if (f.dtype === "bool") cols[key] = f.shape[0] === 1 ? boolColumn(ep.vectors[key]) : fixedListInt(key);
    else cols[key] = f.shape[0] === 1 ? f32Column(ep.vectors[key]) : fixedListF32(ep.vectors[key], f.shape[0]);
  }
  const idx = indexColumns(ep, spec.fps, place);
  cols.timestamp = f32Column(idx.timestamp as Float32Array);
  for (const k of ["frame_index", "episode_index", "index", "task_index"]) cols[k] = i64Column(idx[k]);
  return cols;
}

function fixedListInt(key: string): never {
  throw new DatasetError(`LeRobotWriter: feature "${key}": int64/bool features with more than one value per frame are not supported; store them as float32`);
}

/**
 * Per-episode statistics of every feature, as LeRobot stores them. Video features take theirs from `images`
 * (imageStats of the episode's frames, computed where the frames are).
 */
export function episodeStats(spec: WriterSpec, ep: EpisodeRows, place: EpisodePlace, images: Readonly<Record<string, FeatureStats>> = {}): Record<string, FeatureStats> {
  const out: Record<string, FeatureStats> = {};
  const vec = (data: ArrayLike<number>, dim: number): FeatureStats => {
    const rs = new RunningStats(dim);
    rs.update(data, ep.length);
    return rs.result();
  };
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype === "string") continue;
    if (f.dtype !== "video") out[key] = vec(ep.vectors[key], f.shape[0]);
    else if (images[key]) out[key] = images[key];
    else throw new DatasetError(`internal: episodeStats: no image statistics for video feature "${key}"`);
  }
  const idx = indexColumns(ep, spec.fps, place);
  for (const k of INDEX_COLUMNS) out[k] = vec(idx[k], 1);
  return out;
}
