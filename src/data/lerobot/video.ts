// MP4 video: concatenating episode files (mediabunny remux), codec configuration keys; encoding and decoding re-exported.
import { renameSync } from "node:fs";
import { ALL_FORMATS, EncodedPacketSink, EncodedVideoPacketSource, FilePathSource, FilePathTarget, Input, Mp4OutputFormat, Output } from "mediabunny";
import { DatasetError } from "../errors.ts";
import { tempName } from "../fs.ts";
import { ensureCodecs } from "./video-codecs.ts";
import type { VideoCodecName } from "./video-encoder.ts";

export { canonicalCodec, ensureCodecs } from "./video-codecs.ts";
export { type VideoCodecName, encodeVideo } from "./video-encoder.ts";
export { type DecodedFrame, VideoReader } from "./video-reader.ts";

/** The names info.json uses for our codecs. */
export const INFO_CODEC: Record<VideoCodecName, string> = { av1: "av1", h264: "h264" };

/** A comparable key of an mp4's codec configuration (codec string, size, and the codec's setup bytes). */
export async function videoConfigKey(path: string): Promise<string> {
  ensureCodecs();
  const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
  try {
    const track = await input.getPrimaryVideoTrack();
    if (!track) throw new DatasetError(`${path}: no video track`);
    return configKey(await track.getDecoderConfig());
  } finally {
    input.dispose();
  }
}

function configKey(config: VideoDecoderConfigLike | null): string {
  const d = config?.description;
  const bytes = d instanceof ArrayBuffer ? new Uint8Array(d) : d && ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(0);
  return JSON.stringify({ codec: config?.codec, w: config?.codedWidth, h: config?.codedHeight, d: Array.from(bytes) });
}

type VideoDecoderConfigLike = { codec?: string; codedWidth?: number; codedHeight?: number; description?: unknown };

/**
 * Concatenates mp4 files (same codec configuration, see videoConfigKey) into one without re-encoding. Each part
 * starts where the previous one's last frame ends; returns each part's [from, to) in seconds.
 */
export async function concatVideos(parts: readonly string[], outPath: string, fps: number): Promise<{ from: number; to: number }[]> {
  ensureCodecs();
  const tmp = tempName(outPath);
  const output = new Output({ format: new Mp4OutputFormat({ fastStart: "in-memory" }), target: new FilePathTarget(tmp) });
  let source: EncodedVideoPacketSource | undefined;
  let firstKey = "";
  const spans: { from: number; to: number }[] = [];
  let offset = 0;
  for (const path of parts) {
    const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
    try {
      const track = await input.getPrimaryVideoTrack();
      if (!track) throw new DatasetError(`${path}: no video track`);
      const config = await track.getDecoderConfig();
      const key = configKey(config as VideoDecoderConfigLike | null);
      if (!source) {
        source = new EncodedVideoPacketSource(track.codec!);
        output.addVideoTrack(source, { frameRate: fps });
        await output.start();
        firstKey = key;
      } else if (key !== firstKey) {
        throw new DatasetError(`internal: ${path}: codec configuration differs from the first part's; group parts by videoConfigKey first`);
      }
      let end = 0;
      let first = spans.length === 0;
      for await (const packet of new EncodedPacketSink(track).packets()) {
        const ts = Math.round((packet.timestamp + offset) * fps) / fps;
        end = Math.max(end, packet.timestamp + (packet.duration > 0 ? packet.duration : 1 / fps));
        await source.add(packet.clone({ timestamp: ts }), first ? { decoderConfig: config! } : undefined);
        first = false;
      }
      const duration = Math.round(end * fps) / fps;
      spans.push({ from: offset, to: offset + duration });
      offset += duration;
    } finally {
      input.dispose();
    }
  }
  await output.finalize();
  renameSync(tmp, outPath);
  return spans;
}
