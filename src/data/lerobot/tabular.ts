// Loads a dataset's parquet rows into columns: numeric features as float32 vectors, index columns, image bytes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatasetError, type WarnFn } from "../errors.ts";
import { type Info, cameraKeys } from "./meta.ts";
import { hasColumn, readImageBytesColumn, readParquetFile, readScalarColumn, readVectorColumn } from "./parquet.ts";

export interface Vector {
  /** Row-major [rows * dim]. */
  readonly data: Float32Array;
  readonly dim: number;
}

export interface Tabular {
  readonly rows: number;
  readonly vectors: ReadonlyMap<string, Vector>;
  readonly timestamp: Float64Array;
  /** frame_index, or the position in the episode when the column is absent. */
  readonly frameIndex: Float64Array;
  readonly episodeIndex: Float64Array;
  readonly taskIndex: Float64Array;
  /** Camera features stored in parquet (dtype image): encoded PNG/JPEG bytes per row. */
  readonly images: ReadonlyMap<string, Uint8Array[]>;
}

const NUMERIC = new Set(["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]);
const INDEX = new Set(["timestamp", "frame_index", "episode_index", "index", "task_index"]);

/** Concatenates typed arrays of one kind. */
function concat<T extends Float32Array | Float64Array>(parts: readonly T[], make: (n: number) => T): T {
  const out = make(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}

/** Derives frame positions from episode runs when a dataset has no frame_index column. */
function positionsInEpisode(episodeIndex: Float64Array): Float64Array {
  const out = new Float64Array(episodeIndex.length);
  for (let i = 1; i < out.length; i++) out[i] = episodeIndex[i] === episodeIndex[i - 1] ? out[i - 1] + 1 : 0;
  return out;
}

/** Reads every data file (each once, in the given order) and concatenates the columns. */
export function loadTabular(root: string, info: Info, dataFiles: readonly string[], warn: WarnFn): Tabular {
  const cams = new Set(cameraKeys(info));
  const vecKeys = Object.entries(info.features).filter(([k, f]) => !cams.has(k) && !INDEX.has(k) && NUMERIC.has(f.dtype)).map(([k]) => k);
  const imageKeys = [...cams].filter((k) => info.features[k].dtype === "image");
  const vec = new Map<string, { parts: Float32Array[]; dim: number }>(vecKeys.map((k) => [k, { parts: [], dim: -1 }]));
  const idx = { timestamp: [] as Float64Array[], frame_index: [] as Float64Array[], episode_index: [] as Float64Array[], task_index: [] as Float64Array[] };
  const images = new Map<string, Uint8Array[]>(imageKeys.map((k) => [k, []]));
  let noFrameIndex = false;
  for (const rel of dataFiles) {
    const file = join(root, rel);
    if (!existsSync(file)) throw new DatasetError(`${file}: data file listed by the episode metadata is missing`, "the download may be incomplete");
    const t = readParquetFile(file);
    for (const key of vecKeys) {
      const v = readVectorColumn(t, key, file);
      const slot = vec.get(key)!;
      const declared = info.features[key].shape.reduce((a, b) => a * b, 1);
      if (v.dim !== declared && t.numRows > 0) {
        throw new DatasetError(`${file}: column "${key}" has ${v.dim} values per row; info.json declares shape [${info.features[key].shape.join(", ")}]`);
      }
      slot.dim = declared;
      slot.parts.push(v.data);
    }
    idx.timestamp.push(readScalarColumn(t, "timestamp", file));
    idx.episode_index.push(readScalarColumn(t, "episode_index", file));
    idx.task_index.push(hasColumn(t, "task_index") ? readScalarColumn(t, "task_index", file) : new Float64Array(t.numRows));
    if (hasColumn(t, "frame_index")) idx.frame_index.push(readScalarColumn(t, "frame_index", file));
    else noFrameIndex = true;
    for (const key of imageKeys) images.get(key)!.push(...readImageBytesColumn(t, key, file));
  }
  const episodeIndex = concat(idx.episode_index, (n) => new Float64Array(n));
  if (noFrameIndex) warn({ code: "no-frame-index", message: `${join(root, dataFiles[0] ?? "data")}: no frame_index column; using each row's position in its episode` });
  return {
    rows: episodeIndex.length,
    vectors: new Map([...vec].map(([k, v]) => [k, { data: concat(v.parts, (n) => new Float32Array(n)), dim: v.dim }])),
    timestamp: concat(idx.timestamp, (n) => new Float64Array(n)),
    frameIndex: noFrameIndex ? positionsInEpisode(episodeIndex) : concat(idx.frame_index, (n) => new Float64Array(n)),
    episodeIndex,
    taskIndex: concat(idx.task_index, (n) => new Float64Array(n)),
    images,
  };
}

/** Row ranges [start, end) of each episode, which must be contiguous runs of episode_index. */
export function episodeRuns(episodeIndex: Float64Array, where: string): Map<number, { start: number; end: number }> {
  const runs = new Map<number, { start: number; end: number }>();
  let start = 0;
  for (let i = 1; i <= episodeIndex.length; i++) {
    if (i < episodeIndex.length && episodeIndex[i] === episodeIndex[start]) continue;
    const ep = episodeIndex[start];
    if (runs.has(ep)) throw new DatasetError(`${where}: rows of episode ${ep} are not contiguous (seen again at row ${start})`, "rows must be grouped by episode, as LeRobot writes them");
    runs.set(ep, { start, end: i });
    start = i;
  }
  return runs;
}
