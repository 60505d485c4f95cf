// The video side of src/data: RGB -> I420 and image statistics against scripts/ref/data_video.py, random-access
// decoding, the in-place CHW path, and prepared episodes (what generation workers hand the writer).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from "mediabunny";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOL } from "../helpers/allclose.ts";
import { type Fixture, loadFixture } from "../helpers/fixtures.ts";
import { letterboxToChw } from "../../src/data/image.ts";
import { QUANTILE_KEYS, RunningStats, imageSampleIndices, imageStats } from "../../src/data/lerobot/stats.ts";
import { encodeVideo, VideoReader, type DecodedFrame } from "../../src/data/lerobot/video.ts";
import { LeRobotWriter, prepareEpisode, type EpisodeInput, type WriterSpec } from "../../src/data/lerobot/writer.ts";
import { rgbToI420 } from "../../src/data/lerobot/yuv.ts";
import { toChw } from "../../src/data/sample.ts";

const SCRIPT = "scripts/ref/data_video.py";
/** Our encoder input is 16-bit fixed point: a value within 2^-16 of a half can round the other way. */
const ONE_CODE_VALUE = { rtol: 0, atol: 1 };
let fx: Fixture;
const root = mkdtempSync(join(tmpdir(), "internvla-video-"));
beforeAll(async () => {
  fx = await loadFixture("data/video.safetensors", { script: SCRIPT });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fixture's frame formula: (3x^2 + 5y + 11f + 67c + floor(xy / 7)) mod 256, packed RGB [H, W, 3]. */
function formulaFrame(f: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = (3 * x * x + 5 * y + 11 * f + 67 * c + Math.floor((x * y) / 7)) % 256;
    }
  }
  return out;
}

/** Every packet of an mp4's video track: presentation time, key flag and bytes (hex). */
async function packets(path: string): Promise<[number, string, string][]> {
  const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
  try {
    const out: [number, string, string][] = [];
    for await (const p of new EncodedPacketSink((await input.getPrimaryVideoTrack())!).packets()) out.push([p.timestamp, p.type, Buffer.from(p.data).toString("hex")]);
    return out;
  } finally {
    input.dispose();
  }
}

/** A smooth moving pattern (what AV1 keeps well), packed RGB [H, W, 3]. */
function smoothFrame(f: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    const x = i % w, y = Math.floor(i / w);
    out.set([(x * 3 + f * 5) % 256, (y * 4 + 30) % 256, 128 + Math.round(60 * Math.sin((x + y + f) / 9))], i * 3);
  }
  return out;
}

describe("rgbToI420 (encoder input) vs the BT.601 formulas", () => {
  it("matches every case to one code value, almost everywhere exactly", () => {
    for (const name of fx.json<string[]>("yuv")) {
      const { data, shape } = fx.get(`yuv/${name}.rgb`);
      const ours = rgbToI420(Uint8Array.from(data), shape[1], shape[0]);
      const ref = fx.f32(`yuv/${name}.i420`);
      expect(Array.from(ours)).toBeAllclose(ref, ONE_CODE_VALUE, `yuv/${name}`);
      const exact = ref.filter((v, i) => v === ours[i]).length;
      expect(exact / ref.length).toBeGreaterThan(0.99);
    }
  });
});

describe("imageStats vs LeRobot's compute_episode_stats", () => {
  it("samples, downsamples and histograms frames as LeRobot does (long episode strided by 2, short one whole)", () => {
    for (const [name, [n, h, w]] of Object.entries(fx.json<Record<string, [number, number, number]>>("stats"))) {
      const frames = Array.from({ length: n }, (_, f) => formulaFrame(f, h, w));
      const s = imageStats(frames, w, h);
      expect(s.count).toBe(fx.f32(`stats/${name}.count`)[0]);
      for (const k of ["min", "max", "mean", "std"] as const) expect(s[k]).toBeAllclose(fx.f32(`stats/${name}.${k}`), TOL.f32, `stats/${name}.${k}`);
      for (const q of QUANTILE_KEYS) expect(s.quantiles![q]!).toBeAllclose(fx.f32(`stats/${name}.${q}`), TOL.f32, `stats/${name}.${q}`);
    }
  });

  it("counting values gives exactly what RunningStats gives on the pixels themselves", () => {
    const frames = Array.from({ length: 30 }, (_, f) => formulaFrame(f, 24, 40));
    const pixels = new Float32Array(imageSampleIndices(30).flatMap((f) => Array.from(frames[f])));
    const slow = new RunningStats(3);
    slow.update(pixels);
    const counts = [0, 1, 2].map((c) => {
      const h = new Float64Array(256);
      for (let i = c; i < pixels.length; i += 3) h[pixels[i]]++;
      return h;
    });
    const fast = new RunningStats(3);
    fast.updateCounts(counts);
    expect(fast.result()).toEqual(slow.result());
  });
});

describe("VideoReader", () => {
  const W = 64, H = 48, N = 40, FPS = 10;
  const source = Array.from({ length: N }, (_, f) => smoothFrame(f, H, W));
  const path = join(root, "clip.mp4");
  const bytes = (fr: DecodedFrame): Uint8Array => fr.chw!;
  beforeAll(() => writeFileSync(path, encodeVideo(source, W, H, FPS, "av1", "clip")));

  it("gives the same bytes in any request order, repeated or one at a time, within codec error of the source", async () => {
    const r = await VideoReader.open(path);
    try {
      const all = await r.framesAt(source.map((_, k) => k / FPS), 1e-4);
      const order = [37, 3, 3, 20, 21, 0, 39, 38, 11, 20];
      const shuffled = await r.framesAt(order.map((k) => k / FPS), 1e-4);
      order.forEach((k, i) => {
        expect(shuffled[i].timestamp).toBeCloseTo(k / FPS, 9);
        expect(Buffer.compare(bytes(shuffled[i]), bytes(all[k]))).toBe(0);
      });
      for (const k of [5, 4, 33]) expect(Buffer.compare(bytes((await r.framesAt([k / FPS], 1e-4))[0]), bytes(all[k]))).toBe(0);
      all.forEach((fr, k) => {
        let err = 0;
        for (let i = 0; i < fr.rgb.length; i++) err += Math.abs(fr.rgb[i] - source[k][i]);
        // AV1 at crf 30 on smooth content: 1-3 of 255 per channel value on average.
        expect(err / fr.rgb.length).toBeLessThan(6);
      });
      await expect(r.framesAt([(N + 1) / FPS], 1e-4)).rejects.toThrow(/nearest frame is at 3\.9000 s/);
    } finally {
      r.close();
    }
  });

  it("writes planar frames in place exactly as letterboxing their RGB does (padded, exact and resized)", async () => {
    const r = await VideoReader.open(path);
    try {
      const [fr] = await r.framesAt([1.3], 1e-4);
      for (const S of [64, 80, 32]) {
        const fast = new Uint8Array(3 * S * S).fill(7);
        const slow = new Uint8Array(3 * S * S);
        toChw(fr, S, fast);
        letterboxToChw({ rgb: fr.rgb, width: fr.width, height: fr.height }, S, S, slow);
        expect(Buffer.compare(fast, slow)).toBe(0);
      }
    } finally {
      r.close();
    }
  });
});

describe("prepared episodes (encoded where they were recorded)", () => {
  const spec: WriterSpec = {
    fps: 10, robotType: "test_arm",
    features: { "observation.state": { dtype: "float32", shape: [2] }, "observation.images.top": { dtype: "video", shape: [48, 64, 3] } },
  };
  const episode = (e: number, n: number): EpisodeInput => ({
    task: `task ${e}`, length: n,
    vectors: { "observation.state": Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i + e)) },
    frames: { "observation.images.top": Array.from({ length: n }, (_, f) => smoothFrame(f + 10 * e, 48, 64)) },
  });

  it("addPrepared writes the dataset addEpisode writes, and refuses an episode without its mp4", async () => {
    const a = await LeRobotWriter.create(join(root, "a"), spec);
    const b = await LeRobotWriter.create(join(root, "b"), spec);
    for (const [e, n] of [[0, 9], [1, 6]]) {
      await a.addEpisode(episode(e, n));
      await b.addPrepared(prepareEpisode(spec, episode(e, n)));
    }
    const bad = prepareEpisode(spec, episode(2, 4));
    await expect(b.addPrepared({ ...bad, videos: {} })).rejects.toThrow(/"observation.images.top" has no encoded mp4/);
    await a.finalize();
    await b.finalize();
    for (const file of ["meta/stats.json", "meta/info.json", "data/chunk-000/file-000.parquet"]) {
      expect(Buffer.compare(readFileSync(join(root, "a", file)), readFileSync(join(root, "b", file))), file).toBe(0);
    }
    // The concatenated mp4s differ only in their creation time (mediabunny stamps the wall clock): same packets.
    const video = "videos/observation.images.top/chunk-000/file-000.mp4";
    expect(await packets(join(root, "b", video))).toEqual(await packets(join(root, "a", video)));
  });
});
