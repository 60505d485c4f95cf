// Random access to mp4 frames: mediabunny finds the packets, FFmpeg (node-av, libdav1d for AV1) decodes them in-thread.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import * as AV from "node-av";
import { ALL_FORMATS, CustomSource, EncodedPacketSink, Input, type EncodedPacket, type InputVideoTrack } from "mediabunny";
import { DatasetError } from "../errors.ts";
import { canonicalCodec, ensureCodecs } from "./video-codecs.ts";

/** One decoded frame: packed RGB [height, width, 3] and its presentation time. */
export interface DecodedFrame {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly timestamp: number;
  /** The same pixels channel-first, [3, height, width] (R, G, B planes), when the decoder made them so. */
  readonly chw?: Uint8Array;
}

/** A frame kept channel-first, as the model wants it; packed RGB is made on first use. */
class PlanarFrame implements DecodedFrame {
  private packed: Uint8Array | undefined;

  constructor(readonly chw: Uint8Array, readonly width: number, readonly height: number, readonly timestamp: number) {}

  get rgb(): Uint8Array {
    if (!this.packed) {
      const n = this.width * this.height;
      const out = new Uint8Array(3 * n);
      for (let i = 0, o = 0; i < n; i++, o += 3) {
        out[o] = this.chw[i];
        out[o + 1] = this.chw[n + i];
        out[o + 2] = this.chw[2 * n + i];
      }
      this.packed = out;
    }
    return this.packed;
  }
}

/**
 * Decoded frames (any pixel format) to planar RGB through FFmpeg's swscale, configured from each frame's colour
 * matrix and range, about 4x faster than converting in JavaScript. Its image means agree with the ones LeRobot
 * stored for the real AV1 dataset to 2e-4 (see test/data/datasets.test.ts).
 */
class PlanarRgb {
  private readonly sws = new AV.SoftwareScaleContext();
  private readonly out = new AV.Frame();
  private size = "";

  constructor() {
    this.sws.allocContext();
    // Rounded, with chroma interpolated: the default fast path truncates (images come out ~1/255 darker).
    AV.FFmpegError.throwIfError(this.sws.setOption("sws_flags", "bilinear+accurate_rnd+full_chroma_int"), "swscale flags");
    this.out.alloc();
  }

  convert(frame: AV.Frame, timestamp: number, where: string): PlanarFrame {
    const { width, height } = frame;
    if (`${width}x${height}` !== this.size) {
      this.out.unref();
      Object.assign(this.out, { width, height, format: AV.AV_PIX_FMT_GBRP });
      AV.FFmpegError.throwIfError(this.out.allocBuffer(), `${where}: RGB frame`);
      this.size = `${width}x${height}`;
    }
    // Untagged video is BT.601 limited range, as FFmpeg's defaults (and PyAV's) take it.
    if (frame.colorSpace === AV.AVCOL_SPC_UNSPECIFIED) frame.colorSpace = AV.AVCOL_SPC_SMPTE170M;
    if (frame.colorRange === AV.AVCOL_RANGE_UNSPECIFIED) frame.colorRange = frame.format === AV.AV_PIX_FMT_YUVJ420P ? AV.AVCOL_RANGE_JPEG : AV.AVCOL_RANGE_MPEG;
    AV.FFmpegError.throwIfError(this.sws.scaleFrameSync(this.out, frame), `${where}: colour conversion`);
    const n = width * height;
    const chw = new Uint8Array(3 * n);
    const planes = this.out.data!;
    const stride = this.out.linesize;
    // GBRP stores its planes as G, B, R.
    [2, 0, 1].forEach((p, c) => {
      for (let j = 0; j < height; j++) chw.set(planes[p].subarray(j * stride[p], j * stride[p] + width), c * n + j * width);
    });
    return new PlanarFrame(chw, width, height, timestamp);
  }

  free(): void {
    this.out.free();
    this.sws.freeContext();
  }
}

const micros = (t: number): bigint => BigInt(Math.round(t * 1e6));

/**
 * The file as a mediabunny source read with synchronous reads on one descriptor: packets come from the page cache
 * in microseconds, where asynchronous reads would wait a thread-pool round trip each.
 */
function syncFileSource(path: string): CustomSource {
  const fd = openSync(path, "r");
  return new CustomSource({
    getSize: () => fstatSync(fd).size,
    read: (start, end) => {
      const out = new Uint8Array(end - start);
      for (let off = 0; off < out.length;) {
        const n = readSync(fd, out, off, out.length - off, start + off);
        if (n === 0) throw new DatasetError(`${path}: file ended at byte ${start + off}, before ${end}; it was truncated while open`);
        off += n;
      }
      return out;
    },
    dispose: () => closeSync(fd),
    prefetchProfile: "fileSystem",
  });
}

/** An open mp4 file: frames by timestamp. A resource; call close(). */
export class VideoReader {
  private readonly packet = new AV.Packet();
  private readonly frame = new AV.Frame();
  private readonly converter = new PlanarRgb();
  /** The next packet to send (decode order) and the first one sent since the last flush; null: flush first. */
  private next: EncodedPacket | null = null;
  private runStart = -1;
  /**
   * Presentation time (us) of the last frame the decoder gave back, and the frames kept from it: the last one
   * asked for and any it gave ahead of a request (reordering codecs).
   */
  private lastOut = -1n;
  private readonly kept = new Map<bigint, DecodedFrame>();

  private constructor(
    readonly path: string, private readonly input: Input, private readonly track: InputVideoTrack,
    private readonly sink: EncodedPacketSink, private readonly ctx: AV.CodecContext,
  ) {
    this.packet.alloc();
    this.frame.alloc();
  }

  static async open(path: string): Promise<VideoReader> {
    ensureCodecs();
    let input: Input;
    try {
      input = new Input({ source: syncFileSource(path), formats: ALL_FORMATS });
    } catch (e) {
      throw new DatasetError(`${path}: cannot open video (${String((e as Error).message ?? e)})`, "check that the file exists and is readable");
    }
    try {
      const track = await input.getPrimaryVideoTrack();
      if (!track) throw new DatasetError(`${path}: the mp4 has no video track`);
      const ctx = await openDecoder(path, track);
      return new VideoReader(path, input, track, new EncodedPacketSink(track), ctx);
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
   * its request, else a DatasetError names the file, the time asked and the time found. Requests are served in
   * time order, so frames of one GOP are decoded once and a later request continues where an earlier one stopped.
   */
  async framesAt(times: readonly number[], toleranceS: number): Promise<DecodedFrame[]> {
    const order = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
    const out: DecodedFrame[] = new Array(times.length);
    for (const [t, i] of order) {
      // The frame shown at t + tolerance: the last one (presentation order) starting at or before it.
      const target = await this.sink.getPacket(t + toleranceS, { metadataOnly: true });
      if (!target) throw new DatasetError(`${this.path}: no frame at ${t.toFixed(4)} s (before the first frame)`);
      if (Math.abs(target.timestamp - t) > toleranceS) {
        throw new DatasetError(
          `${this.path}: frame asked at ${t.toFixed(4)} s; nearest frame is at ${target.timestamp.toFixed(4)} s (tolerance ${toleranceS} s)`,
          "the video is shorter than the data, or timestamps disagree with fps",
        );
      }
      out[i] = await this.decodeAt(target);
    }
    return out;
  }

  /** Decodes the frame of `target`, continuing the current run when its key frame was already sent. */
  private async decodeAt(target: EncodedPacket): Promise<DecodedFrame> {
    const want = micros(target.timestamp);
    for (const pts of this.kept.keys()) if (pts < want) this.kept.delete(pts);
    const have = this.kept.get(want);
    if (have) return have;
    const key = await this.sink.getKeyPacket(target.timestamp);
    if (!key) throw new DatasetError(`${this.path}: no key frame at or before ${target.timestamp.toFixed(4)} s; the file is damaged`);
    const sent = this.next !== null && key.sequenceNumber >= this.runStart && key.sequenceNumber < this.next.sequenceNumber;
    if (!(sent && want > this.lastOut)) this.restart(key);
    for (;;) {
      const found = this.receive(want, target.timestamp);
      if (found) return found;
      if (!this.next) break;
      this.send(this.next);
      this.next = await this.sink.getNextPacket(this.next);
      if (!this.next) AV.FFmpegError.throwIfError(this.ctx.sendPacketSync(null), `${this.path}: drain decoder`);
    }
    throw new DatasetError(`${this.path}: the decoder gave no frame at ${target.timestamp.toFixed(4)} s; the stream is damaged or not decodable`);
  }

  private restart(key: EncodedPacket): void {
    this.ctx.flushBuffers();
    this.kept.clear();
    this.lastOut = -1n;
    this.next = key;
    this.runStart = key.sequenceNumber;
  }

  private send(p: EncodedPacket): void {
    const data = p.data.byteLength > 0 ? p.data : undefined;
    if (!data) throw new DatasetError(`internal: ${this.path}: packet at ${p.timestamp} s came without data`);
    this.packet.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.packet.pts = micros(p.timestamp);
    this.packet.dts = AV.AV_NOPTS_VALUE;
    this.packet.duration = micros(p.duration);
    this.packet.isKeyframe = p.type === "key";
    const ret = this.ctx.sendPacketSync(this.packet);
    this.packet.unref();
    AV.FFmpegError.throwIfError(ret, `${this.path}: decode packet at ${p.timestamp.toFixed(4)} s`);
  }

  /** Takes every frame the decoder has ready; returns the one at `want` (us) if among them. */
  private receive(want: bigint, timestamp: number): DecodedFrame | undefined {
    let found: DecodedFrame | undefined;
    for (;;) {
      const ret = this.ctx.receiveFrameSync(this.frame);
      if (ret === AV.AVERROR_EAGAIN || ret === AV.AVERROR_EOF) return found;
      AV.FFmpegError.throwIfError(ret, `${this.path}: decode`);
      try {
        const pts = this.frame.pts;
        this.lastOut = pts;
        if (pts < want) continue;
        const ts = pts === want ? timestamp : Number(pts) / 1e6;
        const decoded = this.converter.convert(this.frame, ts, this.path);
        this.kept.set(pts, decoded);
        if (pts === want) found = decoded;
      } finally {
        this.frame.unref();
      }
    }
  }

  close(): void {
    this.ctx.freeContext();
    this.packet.free();
    this.frame.free();
    this.converter.free();
    this.input.dispose();
  }
}

/**
 * A single-threaded software decoder for the track (FFmpeg's choice per codec: libdav1d for AV1). One thread per
 * decoder because the loader already runs one decoder per worker and core; frame threading would only add delay.
 */
async function openDecoder(path: string, track: InputVideoTrack): Promise<AV.CodecContext> {
  const id = track.codec ? CODEC_IDS[track.codec] : undefined;
  const codec = id !== undefined ? AV.Codec.findDecoder(id) : null;
  if (!codec) throw new DatasetError(`${path}: no decoder for codec "${track.codec ?? "unknown"}"`, "re-encode the video as AV1 or H.264");
  const config = await track.getDecoderConfig();
  const ctx = new AV.CodecContext();
  ctx.allocContext3(codec);
  ctx.width = config?.codedWidth ?? track.codedWidth;
  ctx.height = config?.codedHeight ?? track.codedHeight;
  const d = config?.description;
  ctx.extraData = d ? Buffer.from(d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength)) : null;
  // Options go on the context: node-av 6.1.1 double-frees an options Dictionary that avcodec_open2 consumed.
  ctx.setOption("threads", "1");
  if (codec.name === "libdav1d") ctx.setOption("max_frame_delay", "1");
  const ret = ctx.open2Sync(codec, null);
  if (ret < 0) {
    ctx.freeContext();
    throw new DatasetError(`${path}: cannot open the ${codec.name} decoder (${new AV.FFmpegError(ret).message})`);
  }
  return ctx;
}

const CODEC_IDS: Readonly<Record<string, AV.AVCodecID>> = {
  avc: AV.AV_CODEC_ID_H264, hevc: AV.AV_CODEC_ID_HEVC, vp8: AV.AV_CODEC_ID_VP8, vp9: AV.AV_CODEC_ID_VP9, av1: AV.AV_CODEC_ID_AV1,
};
