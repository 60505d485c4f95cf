// MP4 video through mediabunny + @mediabunny/server (FFmpeg): encode episodes, concatenate them, decode frames.
import { renameSync } from "node:fs";
import {
  ALL_FORMATS, BufferTarget, EncodedPacketSink, EncodedVideoPacketSource, FilePathSource, FilePathTarget, Input,
  Mp4OutputFormat, Output, Quality, VideoSample, VideoSampleSink, VideoSampleSource, type InputVideoTrack,
} from "mediabunny";
import { registerMediabunnyServer } from "@mediabunny/server";
import { DatasetError } from "../errors.ts";
import { tempName, writeFileAtomic } from "../fs.ts";
import { type I420Picture, i420ToRgb, matrixFor, rgbToI420 } from "./yuv.ts";

export type VideoCodecName = "av1" | "h264";

let registered = false;
/** Installs the FFmpeg-backed encoders and decoders once per process (Node has no WebCodecs). */
export function ensureCodecs(): void {
  if (registered) return;
  registerMediabunnyServer();
  registered = true;
}

/** LeRobot's defaults: GOP of 2 frames; constant quality like `crf` 30 (AV1) and x264's default 23 (H.264). */
const GOP_FRAMES = 2;
const QUANTIZER: Record<VideoCodecName, number> = { av1: 30, h264: 23 };

/** The names info.json uses for our codecs, and mediabunny's. */
export const INFO_CODEC: Record<VideoCodecName, string> = { av1: "av1", h264: "h264" };
const MB_CODEC = { av1: "av1", h264: "avc" } as const;

/** Normalises codec names from info.json or a container ("avc", "libsvtav1", "h264") for comparison. */
export function canonicalCodec(name: string | null | undefined): string {
  const n = (name ?? "").toLowerCase();
  if (n.includes("av1") || n.startsWith("av01")) return "av1";
  if (n === "avc" || n.includes("264") || n.startsWith("avc1")) return "h264";
  if (n === "hevc" || n.includes("265") || n.startsWith("hvc1") || n.startsWith("hev1")) return "hevc";
  return n;
}

/**
 * Encodes frames (each packed RGB [H, W, 3]) as one mp4 (yuv420p) with frame k at k/fps, written atomically to
 * `path`. Width and height must be even (4:2:0 chroma).
 */
export async function encodeEpisodeVideo(
  path: string, frames: readonly Uint8Array[], width: number, height: number, fps: number, codec: VideoCodecName,
): Promise<void> {
  ensureCodecs();
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw new DatasetError(`video ${path}: frame size ${width}x${height} must be even for yuv420p`, "crop or pad the camera image by one pixel");
  }
  const output = new Output({ format: new Mp4OutputFormat({ fastStart: "in-memory" }), target: new BufferTarget() });
  const source = new VideoSampleSource({
    codec: MB_CODEC[codec],
    quality: new Quality({ quantizer: QUANTIZER[codec], bitrate: width * height * fps * 0.5 }),
    keyFrameInterval: GOP_FRAMES / fps,
  });
  output.addVideoTrack(source, { frameRate: fps });
  await output.start();
  for (let k = 0; k < frames.length; k++) {
    if (frames[k].length !== width * height * 3) {
      throw new DatasetError(`video ${path}: frame ${k} has ${frames[k].length} bytes; expected ${height}x${width}x3 = ${width * height * 3}`);
    }
    const sample = new VideoSample(rgbToI420(frames[k], width, height), {
      format: "I420", codedWidth: width, codedHeight: height, timestamp: k / fps, duration: 1 / fps,
    });
    try {
      await source.add(sample);
    } finally {
      sample.close();
    }
  }
  await output.finalize();
  writeFileAtomic(path, new Uint8Array(output.target.buffer as ArrayBuffer));
}

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

/** One decoded frame: packed RGB [height, width, 3] and its presentation time. */
export interface DecodedFrame {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly timestamp: number;
}

/** Converts a decoded sample to packed RGB, through our BT.601/709 conversion for 8-bit 4:2:0. */
async function sampleToRgb(sample: VideoSample): Promise<Uint8Array> {
  const w = sample.visibleRect.width;
  const h = sample.visibleRect.height;
  if (sample.format === "I420") {
    const buf = new Uint8Array(sample.allocationSize());
    const layout = await sample.copyTo(buf);
    const cs = sample.colorSpace;
    const pic: I420Picture = {
      width: w, height: h,
      y: buf.subarray(layout[0].offset), u: buf.subarray(layout[1].offset), v: buf.subarray(layout[2].offset),
      yStride: layout[0].stride, uvStride: layout[1].stride,
    };
    return i420ToRgb(pic, matrixFor(cs.matrix, cs.fullRange));
  }
  // WebCodecs' copyTo accepts a target pixel format; Node's type declarations lack the field.
  const asRgbx = { format: "RGBX" } as unknown as Parameters<VideoSample["copyTo"]>[1];
  const rgbx = new Uint8Array(sample.allocationSize(asRgbx));
  await sample.copyTo(rgbx, asRgbx);
  const out = new Uint8Array(w * h * 3);
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    out[i] = rgbx[j];
    out[i + 1] = rgbx[j + 1];
    out[i + 2] = rgbx[j + 2];
  }
  return out;
}

/** An open mp4 file: frames by timestamp. A resource; call close(). */
export class VideoReader {
  private constructor(readonly path: string, private readonly input: Input, private readonly track: InputVideoTrack, private readonly sink: VideoSampleSink) {}

  static async open(path: string): Promise<VideoReader> {
    ensureCodecs();
    const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
    try {
      const track = await input.getPrimaryVideoTrack();
      if (!track) throw new DatasetError(`${path}: the mp4 has no video track`);
      // Software decoding: probing GPU decoders (VAAPI, CUDA, ...) on every seek costs more than it saves here.
      return new VideoReader(path, input, track, new VideoSampleSink(track, { hardwareAcceleration: "prefer-software" }));
    } catch (e) {
      input.dispose();
      if (e instanceof DatasetError) throw e;
      throw new DatasetError(`${path}: cannot open video (${String((e as Error).message ?? e)})`, "the file may be truncated or not an mp4");
    }
  }

  /** The codec in the container, canonicalised ("av1", "h264", "hevc", ...). */
  get codec(): string {
    return canonicalCodec(this.track.codec);
  }

  get width(): number {
    return this.track.displayWidth;
  }

  get height(): number {
    return this.track.displayHeight;
  }

  /**
   * Decodes the frame nearest each requested time (seconds, any order). A frame must lie within `toleranceS` of
   * its request, else a DatasetError names the file, the time asked and the time found.
   */
  async framesAt(times: readonly number[], toleranceS: number): Promise<DecodedFrame[]> {
    const order = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
    const out: DecodedFrame[] = new Array(times.length);
    let k = 0;
    let prev: { t: number; frame: DecodedFrame } | undefined;
    for await (const sample of this.sink.samplesAtTimestamps(order.map(([t]) => t + toleranceS))) {
      const [t, i] = order[k++];
      if (!sample) throw new DatasetError(`${this.path}: no frame at ${t.toFixed(4)} s (before the first frame)`);
      try {
        if (Math.abs(sample.timestamp - t) > toleranceS) {
          throw new DatasetError(
            `${this.path}: frame asked at ${t.toFixed(4)} s; nearest frame is at ${sample.timestamp.toFixed(4)} s (tolerance ${toleranceS} s)`,
            "the video is shorter than the data, or timestamps disagree with fps",
          );
        }
        if (prev && prev.frame.timestamp === sample.timestamp) out[i] = prev.frame;
        else {
          out[i] = { rgb: await sampleToRgb(sample), width: sample.visibleRect.width, height: sample.visibleRect.height, timestamp: sample.timestamp };
          prev = { t, frame: out[i] };
        }
      } finally {
        sample.close();
      }
    }
    return out;
  }

  close(): void {
    this.input.dispose();
  }
}
