// Codec plumbing shared by the mp4 writer and reader: FFmpeg registration for mediabunny and codec-name matching.
import { isMainThread } from "node:worker_threads";
import { registerMediabunnyServer } from "@mediabunny/server";

let registered = false;
/**
 * Installs the FFmpeg-backed decoders and encoders for mediabunny once per thread (Node has no WebCodecs), and
 * quiets SVT-AV1, which prints a banner to stderr for every encoder unless SVT_LOG is set (as @mediabunny/server
 * does). SVT reads the C environment, which only the main thread's process.env writes reach: the main thread must
 * call this before worker threads encode.
 */
export function ensureCodecs(): void {
  if (registered) return;
  registerMediabunnyServer();
  if (isMainThread) process.env.SVT_LOG = "1";
  registered = true;
}

/** Normalises codec names from info.json or a container ("avc", "libsvtav1", "h264") for comparison. */
export function canonicalCodec(name: string | null | undefined): string {
  const n = (name ?? "").toLowerCase();
  if (n.includes("av1") || n.startsWith("av01")) return "av1";
  if (n === "avc" || n.includes("264") || n.startsWith("avc1")) return "h264";
  if (n === "hevc" || n.includes("265") || n.startsWith("hvc1") || n.startsWith("hev1")) return "hevc";
  return n;
}
