// Real-world checks: totals, splits, lengths, timestamps and video files that disagree with the metadata.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { WarnFn } from "../errors.ts";
import type { EpisodeMeta } from "./episodes.ts";
import { type CodebaseVersion, type Info, cameraKeys, parseSplit, videoInfo } from "./meta.ts";
import type { Tabular } from "./tabular.ts";

/** Compares info.json totals and split with what the data holds; each difference becomes a warning. */
export function checkTotals(root: string, info: Info, version: CodebaseVersion, episodes: readonly EpisodeMeta[], rows: number, tasks: number, warn: WarnFn): void {
  const file = join(root, "meta", "info.json");
  const say = (field: string, expected: string, found: number, code = "totals-mismatch") =>
    warn({ code, message: `${file}: ${field} is ${found}; the data has ${expected}; using the data` });
  if (info.total_episodes !== episodes.length) say("total_episodes", `${episodes.length} episodes`, info.total_episodes);
  if (info.total_frames !== rows) say("total_frames", `${rows} frames`, info.total_frames);
  if (typeof info.total_tasks === "number" && info.total_tasks !== tasks) say("total_tasks", `${tasks} tasks`, info.total_tasks);
  const split = parseSplit(info.splits?.train);
  if (split && split.to - split.from !== episodes.length) {
    warn({ code: "split-mismatch", message: `${file}: splits.train is "${info.splits.train}" (${split.to - split.from} episodes); the data has ${episodes.length}; using all episodes` });
  }
  if (version !== "v3.0") {
    const chunks = Math.ceil((Math.max(...episodes.map((e) => e.index), 0) + 1) / Math.max(1, info.chunks_size || 1000));
    if (typeof info.total_chunks === "number" && info.total_chunks !== chunks) say("total_chunks", `${chunks} chunk(s)`, info.total_chunks);
    const videos = cameraKeys(info).filter((k) => info.features[k].dtype === "video").length * episodes.length;
    if (typeof info.total_videos === "number" && info.total_videos !== videos) say("total_videos", `${videos} declared video files`, info.total_videos);
  }
}

/** Warns when an episode's declared length differs from its rows. */
export function checkLengths(episodes: readonly EpisodeMeta[], runs: ReadonlyMap<number, { start: number; end: number }>, warn: WarnFn): void {
  for (const e of episodes) {
    const r = runs.get(e.index);
    const n = r ? r.end - r.start : 0;
    if (n !== e.length) warn({ code: "length-mismatch", message: `episode ${e.index}: metadata length ${e.length}; the data has ${n} rows; using the data` });
  }
}

/**
 * Checks timestamps against frame_index / fps. Returns true when they disagree beyond `toleranceS` (wall-clock
 * or offset timestamps), in which case video frames are looked up at frame_index / fps, as they were encoded.
 */
export function checkTimestamps(tab: Tabular, fps: number, toleranceS: number, warn: WarnFn): boolean {
  let worst = 0;
  let worstRow = -1;
  for (let r = 0; r < tab.rows; r++) {
    const d = Math.abs(tab.timestamp[r] - tab.frameIndex[r] / fps);
    if (d > worst) [worst, worstRow] = [d, r];
  }
  if (worst <= toleranceS) return false;
  const firsts = tab.frameIndex[0] === 0 ? tab.timestamp[0] : NaN;
  warn({
    code: "wallclock-timestamps",
    message: `timestamps disagree with frame_index / fps by up to ${worst.toFixed(4)} s (episode ${tab.episodeIndex[worstRow]}, frame ${tab.frameIndex[worstRow]}: ` +
      `timestamp ${tab.timestamp[worstRow].toFixed(4)} s, expected ${(tab.frameIndex[worstRow] / fps).toFixed(4)} s; first timestamp ${firsts.toFixed(4)} s); ` +
      `tolerance ${toleranceS} s; looking video frames up at frame_index / fps`,
  });
  return true;
}

/**
 * Which declared video cameras have files, per episode. A camera with no file at all is dropped (a missing
 * camera: its slot is masked); one missing for some episodes is masked for those.
 */
export function checkVideos(root: string, info: Info, episodes: readonly EpisodeMeta[], warn: WarnFn): Map<string, Set<number>> {
  const available = new Map<string, Set<number>>();
  for (const key of cameraKeys(info).filter((k) => info.features[k].dtype === "video")) {
    const have = new Set<number>();
    const missing: string[] = [];
    for (const e of episodes) {
      const loc = e.videos[key];
      if (loc && existsSync(join(root, loc.file))) have.add(e.index);
      else missing.push(loc ? loc.file : `(no video location for episode ${e.index})`);
    }
    if (have.size === 0) {
      const codec = String(videoInfo(info.features[key])["video.codec"] ?? "unknown codec");
      warn({ code: "missing-video", message: `${join(root, missing[0] ?? "videos")}: video feature "${key}" (${codec}) is declared in info.json but no mp4 exists for any episode; the camera is treated as missing (masked)` });
      continue;
    }
    if (missing.length > 0) {
      warn({ code: "missing-video", message: `video feature "${key}": ${missing.length} of ${episodes.length} episode files are missing (first: ${join(root, missing[0])}); those episodes mask this camera` });
    }
    available.set(key, have);
  }
  return available;
}
