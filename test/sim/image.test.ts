// Preview files: PNG checked with zlib's own CRC-32 and inflate, GIF with a decoder written from the GIF89a spec.
import { crc32, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodeGif, encodePng, montage } from "../../src/sim/render/image.ts";
import { makeRng } from "../../src/sim/rng.ts";

function randomImage(width: number, height: number, seed: number): Uint8Array {
  const rng = makeRng(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => rng.int(0, 255));
}

/** Chunks of a PNG file with their CRCs verified. */
function pngChunks(png: Uint8Array): Map<string, Uint8Array[]> {
  expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks = new Map<string, Uint8Array[]>();
  for (let off = 8; off < png.length;) {
    const len = dv.getUint32(off);
    const type = Buffer.from(png.subarray(off + 4, off + 8)).toString("ascii");
    expect(dv.getUint32(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
    chunks.set(type, [...(chunks.get(type) ?? []), png.subarray(off + 8, off + 8 + len)]);
    off += 12 + len;
  }
  return chunks;
}

/** GIF89a LZW decoding of one image's data sub-blocks (spec appendix F). */
function lzwDecode(bytes: Uint8Array, start: number, pixels: number): { indices: Uint8Array; end: number } {
  const minCode = bytes[start];
  let p = start + 1;
  const data: number[] = [];
  while (bytes[p] !== 0) {
    data.push(...bytes.subarray(p + 1, p + 1 + bytes[p]));
    p += bytes[p] + 1;
  }
  const clear = 1 << minCode;
  let size = minCode + 1;
  let dict: number[][] = [];
  const reset = (): void => {
    dict = Array.from({ length: clear + 2 }, (_, i) => [i]);
    size = minCode + 1;
  };
  reset();
  const out: number[] = [];
  let bit = 0;
  let prev: number[] | undefined;
  while (out.length < pixels) {
    let code = 0;
    for (let i = 0; i < size; i++, bit++) code |= ((data[bit >> 3] >> (bit & 7)) & 1) << i;
    if (code === clear) {
      reset();
      prev = undefined;
      continue;
    }
    if (code === clear + 1) break;
    const entry = code < dict.length ? dict[code] : [...prev!, prev![0]];
    out.push(...entry);
    if (prev) dict.push([...prev, entry[0]]);
    prev = entry;
    if (dict.length === 1 << size && size < 12) size++;
  }
  return { indices: Uint8Array.from(out), end: p + 1 };
}

describe("PNG", () => {
  it("stores the RGB rows losslessly in a valid file", () => {
    const [w, h] = [37, 21];
    const rgb = randomImage(w, h, 1);
    const chunks = pngChunks(encodePng(rgb, w, h));
    const ihdr = new DataView(chunks.get("IHDR")![0].buffer, chunks.get("IHDR")![0].byteOffset);
    expect([ihdr.getUint32(0), ihdr.getUint32(4), ihdr.getUint8(8), ihdr.getUint8(9)]).toEqual([w, h, 8, 2]);
    const raw = inflateSync(Buffer.concat(chunks.get("IDAT")!));
    for (let y = 0; y < h; y++) {
      expect(raw[y * (w * 3 + 1)]).toBe(0);
      expect(Buffer.compare(raw.subarray(y * (w * 3 + 1) + 1, (y + 1) * (w * 3 + 1)), rgb.subarray(y * w * 3, (y + 1) * w * 3))).toBe(0);
    }
    expect(chunks.has("IEND")).toBe(true);
  });
});

describe("GIF", () => {
  it("encodes every frame with the 6x7x6 colour cube palette and the frame delay", () => {
    const [w, h] = [40, 30];
    const frames = [randomImage(w, h, 2), randomImage(w, h, 3), new Uint8Array(w * h * 3).fill(255)];
    const gif = encodeGif(frames, w, h, 20);
    expect(Buffer.from(gif.subarray(0, 6)).toString()).toBe("GIF89a");
    const palette = gif.subarray(13, 13 + 768);
    let p = 13 + 768 + 19; // after the global palette and the NETSCAPE looping extension
    for (const rgb of frames) {
      expect(Array.from(gif.subarray(p, p + 3))).toEqual([0x21, 0xf9, 4]);
      expect(gif[p + 4] | (gif[p + 5] << 8)).toBe(5); // 1/20 s in hundredths
      p += 8;
      expect(gif[p]).toBe(0x2c);
      p += 10;
      const { indices, end } = lzwDecode(gif, p, w * h);
      p = end;
      expect(indices).toHaveLength(w * h);
      indices.forEach((k, i) => {
        for (let c = 0; c < 3; c++) {
          const levels = c === 1 ? 6 : 5;
          // Each channel is rounded to the nearest of its cube levels.
          expect(palette[3 * k + c]).toBe(Math.round((Math.round((rgb[3 * i + c] * levels) / 255) * 255) / levels));
        }
      });
    }
    expect(gif[p]).toBe(0x3b);
  });
});

describe("montage", () => {
  it("places images side by side with a gap", () => {
    const a = { rgb: new Uint8Array(4 * 2 * 3).fill(100), width: 4, height: 2 };
    const b = { rgb: new Uint8Array(3 * 2 * 3).fill(200), width: 3, height: 2 };
    const m = montage([a, b], 1);
    expect([m.width, m.height]).toEqual([8, 2]);
    expect(Array.from(m.rgb.subarray(0, 3 * 8))).toEqual([...Array(12).fill(100), 20, 20, 20, ...Array(9).fill(200)]);
  });
});
