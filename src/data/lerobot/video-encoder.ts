// Episode video encoding with FFmpeg through node-av: LeRobot's settings, synchronous, in the calling thread.
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import * as AV from "node-av";
import { DatasetError } from "../errors.ts";
import { ensureCodecs } from "./video-codecs.ts";
import { rgbToI420 } from "./yuv.ts";

export type VideoCodecName = "av1" | "h264";

/**
 * LeRobot's `encode_video_frames` settings: libsvtav1 (or libx264), yuv420p, GOP of 2 frames, crf 30 (our H.264
 * keeps x264's default crf 23). SVT-AV1 runs its fastest preset: at these image sizes the presets above 10 encode
 * the same bits, and presets below cost 1.5-2x the time (measured at 128 px).
 */
const GOP_FRAMES = 2;
const SETTINGS: Record<VideoCodecName, { readonly encoder: AV.FFEncoderCodec; readonly options: Readonly<Record<string, string>> }> = {
  av1: { encoder: AV.FF_ENCODER_LIBSVTAV1, options: { crf: "30", preset: "12" } },
  h264: { encoder: AV.FF_ENCODER_LIBX264, options: { crf: "23" } },
};

let serial = 0;

/** A scratch file for FFmpeg's mp4 muxer (it needs a seekable file); unique per process, thread and call. */
function scratchPath(): string {
  return join(tmpdir(), `internvla-encode-${process.pid}-${threadId}-${serial++}.mp4`);
}

/** An encoder context with the codec's settings; the caller frees it. */
function openEncoder(codec: VideoCodecName, width: number, height: number, fps: number, where: string): AV.CodecContext {
  const { encoder, options } = SETTINGS[codec];
  const found = AV.Codec.findEncoderByName(encoder);
  if (!found) throw new DatasetError(`video ${where}: FFmpeg in node-av has no ${encoder} encoder`, "encode as h264 instead, or install a node-av build with it");
  const ctx = new AV.CodecContext();
  ctx.allocContext3(found);
  ctx.width = width;
  ctx.height = height;
  ctx.pixelFormat = AV.AV_PIX_FMT_YUV420P;
  ctx.timeBase = new AV.Rational(1, fps);
  ctx.framerate = new AV.Rational(fps, 1);
  ctx.gopSize = GOP_FRAMES;
  // mp4 keeps the codec setup (av1C / avcC) in the header, not in the stream.
  ctx.flags = (ctx.flags | AV.AV_CODEC_FLAG_GLOBAL_HEADER) as AV.AVCodecFlag;
  // Options go on the context: node-av 6.1.1 double-frees an options Dictionary that avcodec_open2 consumed.
  for (const [k, v] of Object.entries(options)) ctx.setOption(k, v);
  const ret = ctx.open2Sync(found, null);
  if (ret < 0) {
    ctx.freeContext();
    throw new DatasetError(`video ${where}: cannot open ${encoder} for ${width}x${height} at ${fps} fps (${new AV.FFmpegError(ret).message})`);
  }
  return ctx;
}

/** Encoder, mp4 muxer and the reusable frame and packet of one encoding; free() releases them all. */
class Encoding {
  readonly ctx: AV.CodecContext;
  readonly mux = new AV.FormatContext();
  readonly frame = new AV.Frame();
  readonly packet = new AV.Packet();
  private stream: AV.Stream | undefined;
  private open = false;

  constructor(codec: VideoCodecName, readonly width: number, readonly height: number, fps: number, readonly path: string, readonly where: string) {
    this.ctx = openEncoder(codec, width, height, fps, where);
    this.packet.alloc();
    this.frame.alloc();
    Object.assign(this.frame, { width, height, format: AV.AV_PIX_FMT_YUV420P });
    AV.FFmpegError.throwIfError(this.frame.allocBuffer(), `video ${where}: frame buffer`);
  }

  start(): void {
    AV.FFmpegError.throwIfError(this.mux.allocOutputContext2(null, "mp4", this.path), `video ${this.where}: mp4 muxer`);
    this.stream = this.mux.newStream(null);
    AV.FFmpegError.throwIfError(this.stream.codecpar.fromContext(this.ctx), `video ${this.where}: stream parameters`);
    this.stream.timeBase = this.ctx.timeBase;
    AV.FFmpegError.throwIfError(this.mux.openOutputSync(), `video ${this.where}: open ${this.path}`);
    this.open = true;
    AV.FFmpegError.throwIfError(this.mux.writeHeaderSync(null), `video ${this.where}: mp4 header`);
  }

  /** Sends frame k (I420 planes, concatenated), or null to flush, and muxes every packet the encoder returns. */
  send(i420: Uint8Array | null, k: number): void {
    if (i420) {
      AV.FFmpegError.throwIfError(this.frame.makeWritable(), `video ${this.where}: frame`);
      AV.FFmpegError.throwIfError(this.frame.fromBuffer(Buffer.from(i420.buffer, i420.byteOffset, i420.byteLength)), `video ${this.where}: frame ${k}`);
      this.frame.pts = BigInt(k);
      this.frame.duration = 1n;
    }
    AV.FFmpegError.throwIfError(this.ctx.sendFrameSync(i420 ? this.frame : null), `video ${this.where}: encode frame ${k}`);
    for (;;) {
      const ret = this.ctx.receivePacketSync(this.packet);
      if (ret === AV.AVERROR_EAGAIN || ret === AV.AVERROR_EOF) return;
      AV.FFmpegError.throwIfError(ret, `video ${this.where}: encode`);
      this.packet.streamIndex = 0;
      // Every frame lasts 1/fps; SVT-AV1 leaves the last packet's duration 0, which would shorten the mp4 by a frame.
      this.packet.duration = 1n;
      this.packet.rescaleTs(this.ctx.timeBase, this.stream!.timeBase);
      AV.FFmpegError.throwIfError(this.mux.interleavedWriteFrameSync(this.packet), `video ${this.where}: mux`);
    }
  }

  finish(): void {
    AV.FFmpegError.throwIfError(this.mux.writeTrailerSync(), `video ${this.where}: mp4 trailer`);
  }

  free(): void {
    if (this.open) this.mux.closeOutputSync();
    this.mux.freeContext();
    this.ctx.freeContext();
    this.frame.free();
    this.packet.free();
  }
}

/**
 * Encodes frames (each packed RGB [H, W, 3]) as one mp4 (yuv420p, BT.601 limited range) with frame k at k/fps and
 * returns its bytes. Width and height must be even (4:2:0 chroma); `where` names the video in errors. Encode in one
 * thread per process: SVT-AV1 keeps tables in globals, and concurrent encoders in one process can hang (SVT-AV1
 * merge request 2603); the dataset generator encodes in worker processes.
 */
export function encodeVideo(frames: readonly Uint8Array[], width: number, height: number, fps: number, codec: VideoCodecName, where: string): Uint8Array {
  ensureCodecs();
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw new DatasetError(`video ${where}: frame size ${width}x${height} must be even for yuv420p`, "crop or pad the camera image by one pixel");
  }
  if (frames.length === 0) throw new DatasetError(`video ${where}: no frames to encode`);
  frames.forEach((f, k) => {
    if (f.length !== width * height * 3) {
      throw new DatasetError(`video ${where}: frame ${k} has ${f.length} bytes; expected ${height}x${width}x3 = ${width * height * 3}`);
    }
  });
  const i420 = frames.map((f) => rgbToI420(f, width, height));
  const path = scratchPath();
  try {
    const enc = new Encoding(codec, width, height, fps, path, where);
    try {
      enc.start();
      i420.forEach((planes, k) => enc.send(planes, k));
      enc.send(null, frames.length);
      enc.finish();
    } finally {
      enc.free();
    }
    return new Uint8Array(readFileSync(path));
  } finally {
    rmSync(path, { force: true });
  }
}
