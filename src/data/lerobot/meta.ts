// LeRobot meta/info.json: typed view for v2.0 / v2.1 / v3.0, validation with clear errors, path templates.
import { join } from "node:path";
import { DatasetError, type WarnFn } from "../errors.ts";
import { readJson } from "../fs.ts";

export type CodebaseVersion = "v2.0" | "v2.1" | "v3.0";

export interface InfoFeature {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly names?: readonly string[] | Readonly<Record<string, unknown>> | null;
  /** Video metadata: `info` in LeRobot, `video_info` in some GR00T exports. */
  readonly info?: Readonly<Record<string, unknown>>;
  readonly video_info?: Readonly<Record<string, unknown>>;
}

export interface Info {
  readonly codebase_version: string;
  readonly robot_type: string | null;
  readonly total_episodes: number;
  readonly total_frames: number;
  readonly total_tasks: number;
  readonly chunks_size: number;
  readonly fps: number;
  readonly splits: Readonly<Record<string, string>>;
  readonly data_path: string;
  readonly video_path: string | null;
  readonly features: Readonly<Record<string, InfoFeature>>;
  readonly total_chunks?: number;
  readonly total_videos?: number;
  readonly data_files_size_in_mb?: number;
  readonly video_files_size_in_mb?: number;
}

/** Columns every LeRobot frame carries besides the features. */
export const INDEX_COLUMNS = ["timestamp", "frame_index", "episode_index", "index", "task_index"] as const;

export const V30_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
export const V30_VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4";

/** Fills a Python-format path template such as "chunk-{chunk_index:03d}" (only `{name}` and `{name:0Nd}`). */
export function formatPath(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)(?::0(\d+)d)?\}/g, (_, name: string, width?: string) => {
    const v = values[name];
    if (v === undefined) throw new DatasetError(`path template "${template}": no value for {${name}}`);
    return width ? String(v).padStart(Number(width), "0") : String(v);
  });
}

function need<T>(obj: Record<string, unknown>, key: string, kind: string, file: string): T {
  const v = obj[key];
  const ok = kind === "array" ? Array.isArray(v) : kind === "object" ? v !== null && typeof v === "object" && !Array.isArray(v) : typeof v === kind;
  if (!ok) throw new DatasetError(`${file}: field "${key}" must be ${kind === "object" ? "an object" : `a ${kind}`}; found ${JSON.stringify(v) ?? "nothing"}`);
  return v as T;
}

/** Reads meta/info.json, checks the fields the reader relies on, and reports the version. */
export function readInfo(root: string, warn: WarnFn): { info: Info; version: CodebaseVersion } {
  const file = join(root, "meta", "info.json");
  const raw = readJson(file) as Record<string, unknown>;
  if (raw === null || typeof raw !== "object") throw new DatasetError(`${file}: expected a JSON object`);
  const v = need<string>(raw, "codebase_version", "string", file);
  const version = (["v2.0", "v2.1", "v3.0"] as const).find((x) => x === v);
  if (!version) {
    throw new DatasetError(`${file}: codebase_version "${v}" is not supported; expected v2.0, v2.1 or v3.0`,
      v.startsWith("v1") ? "convert it with LeRobot's v1-to-v2 script first" : undefined);
  }
  need<number>(raw, "fps", "number", file);
  need<string>(raw, "data_path", "string", file);
  const features = need<Record<string, unknown>>(raw, "features", "object", file);
  for (const [name, f] of Object.entries(features)) {
    const ft = f as Record<string, unknown>;
    need<string>(ft, "dtype", "string", `${file} features.${name}`);
    need<number[]>(ft, "shape", "array", `${file} features.${name}`);
  }
  if (raw.robot_type === undefined) warn({ code: "no-robot-type", message: `${file}: no robot_type; using "unknown"` });
  const info = { ...raw, robot_type: (raw.robot_type as string | null | undefined) ?? null } as unknown as Info;
  return { info, version };
}

/** The keys of camera features (dtype video or image), in info.json order. */
export function cameraKeys(info: Info): string[] {
  return Object.entries(info.features).filter(([, f]) => f.dtype === "video" || f.dtype === "image").map(([k]) => k);
}

/** Video metadata of a feature, wherever the export put it (`info` or `video_info`). */
export function videoInfo(f: InfoFeature): Readonly<Record<string, unknown>> {
  return f.info ?? f.video_info ?? {};
}

/** Height and width of a camera feature, accepting [H, W, C] and channel-first [C, H, W] shapes. */
export function cameraSize(key: string, f: InfoFeature, warn: WarnFn): { height: number; width: number } {
  const names = Array.isArray(f.names) ? (f.names as string[]) : [];
  const s = f.shape;
  const vi = videoInfo(f);
  if (f.video_info && !f.info) {
    warn({ code: "video-info-key", message: `info.json features.${key}: video metadata is under "video_info" (GR00T style) instead of "info"; read from there` });
  }
  const channelFirst = s.length === 3 && (names[0] === "channel" || names[0] === "channels" || (s[0] === 3 && s[2] !== 3));
  if (channelFirst) warn({ code: "channel-first", message: `info.json features.${key}: shape [${s.join(", ")}] is channel-first; read as C, H, W` });
  if (typeof vi["video.height"] === "number" && typeof vi["video.width"] === "number") {
    return { height: vi["video.height"] as number, width: vi["video.width"] as number };
  }
  return channelFirst ? { height: s[1], width: s[2] } : { height: s[0], width: s[1] };
}

/** The episode index range of the "train" split, if info.json has one that parses ("0:N"). */
export function parseSplit(split: string | undefined): { from: number; to: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(split ?? "");
  return m ? { from: Number(m[1]), to: Number(m[2]) } : undefined;
}
