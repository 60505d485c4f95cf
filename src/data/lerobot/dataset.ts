// A LeRobot dataset on local disk (v2.0 / v2.1 / v3.0): rows, vectors, tasks, stats and decoded camera frames.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatasetError, type DatasetWarning, type WarnFn, collectWarnings } from "../errors.ts";
import { readJson } from "../fs.ts";
import { decodeImage } from "../image.ts";
import { type EpisodeMeta, readEpisodeIndex } from "./episodes.ts";
import { type CodebaseVersion, type Info, cameraKeys, cameraSize, readInfo, videoInfo } from "./meta.ts";
import { checkLengths, checkTimestamps, checkTotals, checkVideos } from "./quirks.ts";
import { aggregateStats } from "./stats.ts";
import { type StatsMap, statsFromJson } from "./stats-json.ts";
import { type Tabular, type Vector, episodeRuns, loadTabular } from "./tabular.ts";
import { type DecodedFrame, VideoReader, canonicalCodec } from "./video.ts";

export interface OpenOptions {
  /** Receives each tolerated quirk; warnings are also kept in `dataset.warnings`. */
  readonly warn?: WarnFn;
  /** Largest allowed gap between a requested and a decoded frame time (LeRobot's tolerance_s). */
  readonly toleranceS?: number;
  /** How many video files stay open at once. */
  readonly maxOpenVideos?: number;
}

/** GR00T's meta/modality.json: named [start, end) ranges of the state and action vectors. */
export interface Modality {
  readonly state?: Readonly<Record<string, { start: number; end: number }>>;
  readonly action?: Readonly<Record<string, { start: number; end: number }>>;
}

/** An episode's rows in the loaded table. */
export interface EpisodeRange {
  readonly index: number;
  /** First row (inclusive) and last row (exclusive). */
  readonly start: number;
  readonly end: number;
  readonly meta: EpisodeMeta;
}

/** A local LeRobot dataset. A resource (it holds open video files): call close(). */
export class LeRobotDataset {
  private readonly readers = new Map<string, Promise<VideoReader>>();
  private readonly codecChecked = new Set<string>();

  private constructor(
    readonly root: string,
    readonly version: CodebaseVersion,
    readonly info: Info,
    readonly tasks: readonly string[],
    readonly episodes: readonly EpisodeRange[],
    private readonly tab: Tabular,
    /** Cameras that can be decoded, with the episodes that have them. */
    private readonly cameraEpisodes: ReadonlyMap<string, ReadonlySet<number>>,
    private readonly timeFromIndex: boolean,
    readonly warnings: readonly DatasetWarning[],
    /** GR00T's meta/modality.json (named dim ranges of state and action), when present. */
    readonly modality: Modality | undefined,
    private readonly warn: WarnFn,
    private readonly toleranceS: number,
    private readonly maxOpenVideos: number,
  ) {}

  /** Opens a dataset folder, reading all metadata and tabular rows; quirks become warnings, faults errors. */
  static async open(root: string, opts: OpenOptions = {}): Promise<LeRobotDataset> {
    if (!existsSync(join(root, "meta"))) {
      const partial = existsSync(join(root, ".staging"));
      throw new DatasetError(`${root}: not a LeRobot dataset (no meta/ folder)`, partial ? "this is a partial dataset from LeRobotWriter; resume and finalize it" : undefined);
    }
    if (existsSync(join(root, "meta", "PARTIAL"))) {
      throw new DatasetError(`${root}: the dataset is partial (meta/PARTIAL): writing never finished`, "resume the writer and call finalize()");
    }
    const sink = collectWarnings();
    const warn: WarnFn = (w) => {
      const before = sink.list.length;
      sink.warn(w);
      if (sink.list.length > before) opts.warn?.(w);
    };
    const tol = opts.toleranceS ?? 1e-4;
    const { info, version } = readInfo(root, warn);
    const index = readEpisodeIndex(root, info, version, warn);
    const files = [...new Set(index.episodes.map((e) => e.dataFile))];
    const tab = loadTabular(root, info, files, warn);
    const runs = episodeRuns(tab.episodeIndex, join(root, files[0] ?? "data"));
    checkTotals(root, info, version, index.episodes, tab.rows, index.tasks.filter((t) => t !== undefined).length, warn);
    checkLengths(index.episodes, runs, warn);
    const episodes: EpisodeRange[] = [];
    for (const meta of index.episodes) {
      const r = runs.get(meta.index);
      if (r && r.end > r.start) episodes.push({ index: meta.index, ...r, meta });
    }
    const timeFromIndex = checkTimestamps(tab, info.fps, tol, warn);
    const cams = checkVideos(root, info, index.episodes, warn);
    for (const key of cameraKeys(info)) {
      if (info.features[key].dtype === "image") cams.set(key, new Set(episodes.map((e) => e.index)));
      cameraSize(key, info.features[key], warn);
    }
    const modalityFile = join(root, "meta", "modality.json");
    const modality = existsSync(modalityFile) ? (readJson(modalityFile) as Modality) : undefined;
    return new LeRobotDataset(root, version, info, index.tasks, episodes, tab, cams, timeFromIndex, sink.list, modality, warn, tol, opts.maxOpenVideos ?? 16);
  }

  get fps(): number {
    return this.info.fps;
  }

  get robotType(): string {
    return this.info.robot_type ?? "unknown";
  }

  get numFrames(): number {
    return this.tab.rows;
  }

  /** Cameras that can be decoded (declared and present), in info.json order. */
  get cameras(): string[] {
    return cameraKeys(this.info).filter((k) => this.cameraEpisodes.has(k));
  }

  /** Whether a camera has frames for an episode. */
  hasCamera(key: string, episode: number): boolean {
    return this.cameraEpisodes.get(key)?.has(episode) ?? false;
  }

  /** Numeric feature keys (state, action, ...), in info.json order. */
  get vectorKeys(): string[] {
    return [...this.tab.vectors.keys()];
  }

  /** A numeric feature for all rows, row-major [rows * dim]. */
  vector(key: string): Vector {
    const v = this.tab.vectors.get(key);
    if (!v) throw new DatasetError(`${this.root}: no numeric feature "${key}"; features are ${this.vectorKeys.join(", ")}`);
    return v;
  }

  /** The task string of a row (by its task_index). */
  taskOf(row: number): string {
    const t = this.tasks[this.tab.taskIndex[row]];
    if (t === undefined) throw new DatasetError(`${this.root}: row ${row} has task_index ${this.tab.taskIndex[row]}, which no task has`);
    return t;
  }

  frameIndexOf(row: number): number {
    return this.tab.frameIndex[row];
  }

  /** The episode position (into `episodes`) holding a row. */
  episodeOf(row: number): number {
    let lo = 0, hi = this.episodes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.episodes[mid].start <= row) lo = mid;
      else hi = mid - 1;
    }
    const e = this.episodes[lo];
    if (!e || row < e.start || row >= e.end) throw new DatasetError(`${this.root}: row ${row} is outside every episode (0..${this.numFrames - 1})`);
    return lo;
  }

  /**
   * The dataset's own statistics: meta/stats.json (v2.0, v3.0), else the aggregate of per-episode stats
   * (v2.1 episodes_stats.jsonl), else undefined.
   */
  ownStats(): StatsMap | undefined {
    const file = join(this.root, "meta", "stats.json");
    if (this.version !== "v2.1" && existsSync(file)) return statsFromJson(readJson(file), file);
    const per = this.episodes.map((e) => e.meta.stats).filter((s): s is StatsMap => s !== undefined);
    if (per.length === 0) return existsSync(file) ? statsFromJson(readJson(file), file) : undefined;
    const out: StatsMap = {};
    for (const key of Object.keys(per[0])) out[key] = aggregateStats(per.map((s) => s[key]).filter((s) => s !== undefined));
    return out;
  }

  /** Decodes a camera's frames at the given rows (any order) as packed RGB. */
  async frames(key: string, rows: readonly number[]): Promise<DecodedFrame[]> {
    const f = this.info.features[key];
    if (!f || !this.cameraEpisodes.has(key)) throw new DatasetError(`${this.root}: camera "${key}" is not available; cameras are ${this.cameras.join(", ") || "none"}`);
    if (f.dtype === "image") return rows.map((r) => ({ ...decodeImage(this.tab.images.get(key)![r], `${this.root} ${key} row ${r}`), timestamp: this.tab.timestamp[r] }));
    const byFile = new Map<string, { rows: number[]; slots: number[]; times: number[] }>();
    rows.forEach((row, slot) => {
      const ep = this.episodes[this.episodeOf(row)];
      const loc = ep.meta.videos[key];
      if (!loc || !this.hasCamera(key, ep.index)) throw new DatasetError(`${this.root}: camera "${key}" has no video for episode ${ep.index}`);
      const t = this.timeFromIndex ? this.tab.frameIndex[row] / this.fps : this.tab.timestamp[row];
      const g = byFile.get(loc.file) ?? { rows: [], slots: [], times: [] };
      g.rows.push(row);
      g.slots.push(slot);
      g.times.push(loc.fromTimestamp + t);
      byFile.set(loc.file, g);
    });
    const out: DecodedFrame[] = new Array(rows.length);
    for (const [file, g] of byFile) {
      const reader = await this.reader(key, file);
      const frames = await reader.framesAt(g.times, this.toleranceS);
      g.slots.forEach((slot, i) => (out[slot] = frames[i]));
    }
    return out;
  }

  private async reader(key: string, file: string): Promise<VideoReader> {
    let p = this.readers.get(file);
    if (p) {
      this.readers.delete(file);
      this.readers.set(file, p);
    } else {
      if (this.readers.size >= this.maxOpenVideos) {
        const [oldest, op] = this.readers.entries().next().value as [string, Promise<VideoReader>];
        this.readers.delete(oldest);
        (await op).close();
      }
      p = VideoReader.open(join(this.root, file));
      this.readers.set(file, p);
    }
    const reader = await p;
    if (!this.codecChecked.has(key)) {
      this.codecChecked.add(key);
      const declared = canonicalCodec(String(videoInfo(this.info.features[key])["video.codec"] ?? ""));
      if (declared && declared !== reader.codec) {
        this.warn({ code: "codec-mismatch", message: `${join(this.root, file)}: info.json says video.codec "${declared}" for "${key}"; the file is ${reader.codec}; decoding it as ${reader.codec}` });
      }
    }
    return reader;
  }

  /** Closes every open video file. */
  async close(): Promise<void> {
    for (const p of this.readers.values()) (await p).close();
    this.readers.clear();
  }
}
