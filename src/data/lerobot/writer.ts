// LeRobot v3.0 dataset writer with mp4 video: crash-safe staging per episode, resume, and finalize.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatasetError } from "../errors.ts";
import { readJson, writeFileAtomic, writeJsonAtomic } from "../fs.ts";
import { writeParquetFile } from "./parquet.ts";
import { type FeatureStats, imageStats } from "./stats.ts";
import { encodeVideo } from "./video.ts";
import { finalizeDataset, type StagedEpisode } from "./writer-finalize.ts";
import {
  type EpisodeInput, type EpisodeRows, type WriterSpec, episodeColumns, episodeStats, hfFeaturesMeta, infoFeatures, validateEpisode,
  validateRows, validateWriterSpec,
} from "./writer-spec.ts";

export type { FeatureSpec, WriterSpec, EpisodeInput, EpisodeRows } from "./writer-spec.ts";

/**
 * An episode with the expensive work done: each camera's frames encoded as one mp4 and their image statistics
 * taken. It holds only typed arrays and plain data, so a worker (thread or process) can prepare it and post it to
 * the one that owns the writer.
 */
export interface PreparedEpisode extends EpisodeRows {
  /** mp4 bytes per video feature. */
  readonly videos: Record<string, Uint8Array>;
  /** imageStats per video feature. */
  readonly imageStats: Record<string, FeatureStats>;
}

/** Validates an episode against `spec`, encodes its videos and takes their statistics (no file is written). */
export function prepareEpisode(spec: WriterSpec, ep: EpisodeInput): PreparedEpisode {
  validateEpisode(spec, ep, "LeRobotWriter episode");
  const videos: Record<string, Uint8Array> = {};
  const stats: Record<string, FeatureStats> = {};
  for (const [key, f] of Object.entries(spec.features)) {
    if (f.dtype !== "video") continue;
    const [h, w] = f.shape;
    videos[key] = encodeVideo(ep.frames[key], w, h, spec.fps, spec.videoCodec ?? "av1", `"${key}"`);
    stats[key] = imageStats(ep.frames[key], w, h);
  }
  return { task: ep.task, length: ep.length, vectors: ep.vectors, strings: ep.strings, videos, imageStats: stats };
}

/**
 * The partial-state marker. While it exists the folder is NOT a dataset: there is no meta/info.json yet, and
 * completed episodes live in `.staging/ep-NNNNNN/` (a folder appears only once all its files are written).
 */
export const PARTIAL_MARKER = "meta/PARTIAL";
export const STAGING_DIR = ".staging";

const epDir = (root: string, i: number): string => join(root, STAGING_DIR, `ep-${String(i).padStart(6, "0")}`);

/** Writes a LeRobot v3.0 dataset episode by episode. A resource: call finalize() when done. */
export class LeRobotWriter {
  private readonly episodes: StagedEpisode[];
  private readonly taskIndex = new Map<string, number>();
  private finalized = false;

  private constructor(readonly dir: string, readonly spec: WriterSpec, staged: StagedEpisode[]) {
    this.episodes = staged;
    for (const e of staged) if (!this.taskIndex.has(e.task)) this.taskIndex.set(e.task, this.taskIndex.size);
  }

  /**
   * Starts a dataset in `dir` (absent or empty), or with `resume` continues a partial one after its last complete
   * episode (the spec must match the one it was started with). A finished dataset is never reopened.
   */
  static async create(dir: string, spec: WriterSpec, opts: { resume?: boolean } = {}): Promise<LeRobotWriter> {
    validateWriterSpec(spec);
    const marker = join(dir, PARTIAL_MARKER);
    if (existsSync(join(dir, "meta", "info.json")) && !existsSync(marker)) {
      throw new DatasetError(`${dir}: already holds a finished dataset (meta/info.json, no ${PARTIAL_MARKER})`, "write to a new folder");
    }
    if (existsSync(marker)) {
      if (!opts.resume) {
        throw new DatasetError(`${dir}: holds a partial dataset (${PARTIAL_MARKER})`, "pass { resume: true } to continue it, or delete the folder to start over");
      }
      return new LeRobotWriter(dir, spec, loadStaged(dir, spec));
    }
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new DatasetError(`${dir}: folder is not empty and is not a partial dataset`, "write to a new or empty folder");
    }
    mkdirSync(join(dir, STAGING_DIR), { recursive: true });
    writeJsonAtomic(join(dir, STAGING_DIR, "spec.json"), spec);
    writeJsonAtomic(marker, { status: "partial", writer: "internvla", note: "episodes are staged in .staging/; finalize() writes the dataset" });
    return new LeRobotWriter(dir, spec, []);
  }

  /** Complete episodes so far (staged, survive a crash). */
  get episodesWritten(): number {
    return this.episodes.length;
  }

  /** Validates, encodes and stages one episode; returns its episode index once it is safely on disk. */
  async addEpisode(ep: EpisodeInput): Promise<number> {
    if (this.finalized) throw new DatasetError(`${this.dir}: addEpisode after finalize()`);
    validateEpisode(this.spec, ep, `LeRobotWriter.addEpisode (episode ${this.episodes.length})`);
    return this.addPrepared(prepareEpisode(this.spec, ep));
  }

  /** Stages an episode prepared by prepareEpisode (with this writer's spec); returns its episode index. */
  async addPrepared(ep: PreparedEpisode): Promise<number> {
    if (this.finalized) throw new DatasetError(`${this.dir}: addEpisode after finalize()`);
    const episodeIndex = this.episodes.length;
    const where = `LeRobotWriter.addPrepared (episode ${episodeIndex})`;
    validateRows(this.spec, ep, where);
    const videoKeys = Object.keys(this.spec.features).filter((k) => this.spec.features[k].dtype === "video");
    for (const key of videoKeys) {
      if (!(ep.videos[key]?.byteLength > 0) || !ep.imageStats[key]) throw new DatasetError(`${where}: video feature "${key}" has no encoded mp4 or image statistics`, "prepare episodes with prepareEpisode(spec, episode)");
    }
    if (!this.taskIndex.has(ep.task)) this.taskIndex.set(ep.task, this.taskIndex.size);
    const from = this.episodes.reduce((s, e) => s + e.length, 0);
    const place = { episodeIndex, from, taskIndex: this.taskIndex.get(ep.task)! };
    const final = epDir(this.dir, episodeIndex);
    const tmp = `${final}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeParquetFile(join(tmp, "data.parquet"), episodeColumns(this.spec, ep, place), { huggingface: hfFeaturesMeta(infoFeatures(this.spec)) });
    const videoBytes: Record<string, number> = {};
    for (const key of videoKeys) {
      writeFileAtomic(join(tmp, `${key}.mp4`), ep.videos[key]);
      videoBytes[key] = ep.videos[key].byteLength;
    }
    const record: StagedEpisode = {
      ...place, task: ep.task, length: ep.length, stats: episodeStats(this.spec, ep, place, ep.imageStats),
      dataBytes: statSync(join(tmp, "data.parquet")).size, videoBytes,
    };
    writeJsonAtomic(join(tmp, "episode.json"), record);
    renameSync(tmp, final);
    this.episodes.push(record);
    return episodeIndex;
  }

  /**
   * Writes the dataset (data and video files, episodes and tasks parquet, stats.json, info.json), then removes
   * the marker and the staging folder. Safe to rerun after a crash: resume, then finalize again.
   */
  async finalize(onProgress?: (done: number, total: number) => void): Promise<void> {
    if (this.finalized) return;
    if (this.episodes.length === 0) throw new DatasetError(`${this.dir}: finalize() with no episodes; add at least one`);
    const stagedPath = (i: number, file: string): string => join(epDir(this.dir, i), file);
    await finalizeDataset(this.dir, this.spec, this.episodes, [...this.taskIndex.keys()], stagedPath, onProgress);
    rmSync(join(this.dir, PARTIAL_MARKER), { force: true });
    rmSync(join(this.dir, STAGING_DIR), { recursive: true, force: true });
    this.finalized = true;
  }
}

/** Reads the staged episodes of a partial dataset; drops half-written ones (`*.tmp`) and checks the spec. */
function loadStaged(dir: string, spec: WriterSpec): StagedEpisode[] {
  const staging = join(dir, STAGING_DIR);
  const specFile = join(staging, "spec.json");
  const old = readJson(specFile);
  if (JSON.stringify(normalise(old)) !== JSON.stringify(normalise(spec))) {
    throw new DatasetError(`${dir}: resume with a different spec; started with ${JSON.stringify(old)}, got ${JSON.stringify(spec)}`,
      "resume with the same fps, robotType, features and videoCodec");
  }
  const names = readdirSync(staging);
  for (const n of names) if (n.endsWith(".tmp")) rmSync(join(staging, n), { recursive: true, force: true });
  const done = names.filter((n) => /^ep-\d{6}$/.test(n)).sort();
  const out: StagedEpisode[] = [];
  done.forEach((n, i) => {
    if (n !== `ep-${String(i).padStart(6, "0")}`) throw new DatasetError(`${staging}: staged episodes are not contiguous; expected ep-${String(i).padStart(6, "0")}, found ${n}`);
    out.push(readJson(join(staging, n, "episode.json")) as StagedEpisode);
  });
  return out;
}

function normalise(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(normalise);
  if (x && typeof x === "object") {
    return Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, normalise(v)]));
  }
  return x;
}
