// Images: PNG decoding for images stored in parquet, and the model's letterbox resize (PIL-style bilinear).
import { inflateSync } from "node:zlib";
import { DatasetError } from "./errors.ts";

/** A packed RGB image [height, width, 3]. */
export interface RgbImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reverses PNG row filters in place; `bpp` bytes per pixel, `stride` bytes per row. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number, where: string): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y > 0 ? out[row - stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp] : 0;
      const v = src[x];
      switch (type) {
        case 0: out[row + x] = v; break;
        case 1: out[row + x] = v + a; break;
        case 2: out[row + x] = v + b; break;
        case 3: out[row + x] = v + ((a + b) >> 1); break;
        case 4: out[row + x] = v + paeth(a, b, c); break;
        default: throw new DatasetError(`${where}: PNG row ${y} has filter type ${type}; expected 0-4`);
      }
    }
  }
  return out;
}

/** Decodes an 8-bit, non-interlaced PNG (grey, RGB, palette, grey+alpha, RGBA) to packed RGB. */
export function decodePng(bytes: Uint8Array, where: string): RgbImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let width = 0, height = 0, depth = 0, colour = 0, interlace = 0;
  let palette: Uint8Array = new Uint8Array(0);
  const idat: Uint8Array[] = [];
  while (off + 8 <= bytes.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const data = bytes.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") [width, height, depth, colour, interlace] = [view.getUint32(off + 8), view.getUint32(off + 12), data[8], data[9], data[12]];
    else if (type === "PLTE") palette = data;
    else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  if (depth !== 8 || interlace !== 0) throw new DatasetError(`${where}: PNG with bit depth ${depth}${interlace ? ", interlaced" : ""}; only 8-bit non-interlaced PNG is supported`);
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colour];
  if (!channels) throw new DatasetError(`${where}: PNG colour type ${colour} is not valid`);
  const joined = new Uint8Array(idat.reduce((s, d) => s + d.length, 0));
  idat.reduce((o, d) => (joined.set(d, o), o + d.length), 0);
  const px = unfilter(inflateSync(joined), height, width * channels, channels, where);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    if (colour === 3) rgb.set(palette.subarray(px[p] * 3, px[p] * 3 + 3), i * 3);
    else if (channels <= 2) rgb.fill(px[p], i * 3, i * 3 + 3);
    else rgb.set(px.subarray(p, p + 3), i * 3);
  }
  return { rgb, width, height };
}

/** Decodes image bytes stored in a parquet `image` column (PNG). */
export function decodeImage(bytes: Uint8Array, where: string): RgbImage {
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) return decodePng(bytes, where);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    throw new DatasetError(`${where}: JPEG images stored in parquet are not supported yet; expected PNG`, "re-encode the camera as video (LeRobot's default) or as PNG");
  }
  throw new DatasetError(`${where}: image bytes are neither PNG nor JPEG (first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16)).join(" ")})`);
}

/** Separable resampling weights of PIL's bilinear filter with antialiasing (support grows when shrinking). */
function resampleWeights(inSize: number, outSize: number): { start: Int32Array; taps: number; w: Float32Array } {
  const scale = inSize / outSize;
  const fscale = Math.max(scale, 1);
  const support = fscale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const w = new Float32Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support + 0.5));
    const hi = Math.min(inSize, Math.floor(centre + support + 0.5));
    start[i] = lo;
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const t = Math.abs((j - centre + 0.5) / fscale);
      const v = t < 1 ? 1 - t : 0;
      w[i * taps + j - lo] = v;
      total += v;
    }
    for (let j = 0; j < hi - lo; j++) w[i * taps + j] = total > 0 ? w[i * taps + j] / total : 0;
  }
  return { start, taps, w };
}

/**
 * Resizes packed RGB [H, W, 3] to [outH, outW, 3] as PIL's `Image.resize(BILINEAR)` does (antialiased when
 * shrinking), returning float values in [0, 255] (rounded by the caller). Matches torch interpolate(antialias).
 */
export function resizeBilinear(src: RgbImage, outW: number, outH: number): Float32Array {
  const { rgb, width: w, height: h } = src;
  const hx = resampleWeights(w, outW);
  const hy = resampleWeights(h, outH);
  const tmp = new Float32Array(h * outW * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      let r = 0, g = 0, b = 0;
      const s = hx.start[x];
      for (let k = 0; k < hx.taps && s + k < w; k++) {
        const wt = hx.w[x * hx.taps + k];
        if (wt === 0) continue;
        const p = (y * w + s + k) * 3;
        r += wt * rgb[p]; g += wt * rgb[p + 1]; b += wt * rgb[p + 2];
      }
      const o = (y * outW + x) * 3;
      tmp[o] = r; tmp[o + 1] = g; tmp[o + 2] = b;
    }
  }
  const out = new Float32Array(outH * outW * 3);
  for (let y = 0; y < outH; y++) {
    const s = hy.start[y];
    for (let k = 0; k < hy.taps && s + k < h; k++) {
      const wt = hy.w[y * hy.taps + k];
      if (wt === 0) continue;
      const row = (s + k) * outW * 3;
      const o = y * outW * 3;
      for (let x = 0; x < outW * 3; x++) out[o + x] += wt * tmp[row + x];
    }
  }
  return out;
}

/** Where the resized image sits inside the letterboxed canvas. */
export function letterboxBox(w: number, h: number, outW: number, outH: number): { rw: number; rh: number; x0: number; y0: number } {
  const ratio = Math.max(w / outW, h / outH);
  const rw = Math.trunc(w / ratio);
  const rh = Math.trunc(h / ratio);
  return { rw, rh, x0: Math.floor((outW - rw) / 2), y0: Math.floor((outH - rh) / 2) };
}

/**
 * openpi's `resize_with_pad` (the official ResizeWithPad(224)): keep the aspect ratio, resize bilinearly, pad with
 * zeros (black) centred. Writes channel-first [3, outH, outW] uint8 into `out` at `offset`.
 */
export function letterboxToChw(src: RgbImage, outW: number, outH: number, out: Uint8Array, offset = 0): void {
  const { rw, rh, x0, y0 } = letterboxBox(src.width, src.height, outW, outH);
  const plane = outW * outH;
  out.fill(0, offset, offset + 3 * plane);
  if (rw === src.width && rh === src.height) {
    for (let y = 0; y < rh; y++) {
      for (let x = 0; x < rw; x++) {
        const p = (y * rw + x) * 3;
        const o = offset + (y + y0) * outW + x + x0;
        out[o] = src.rgb[p]; out[o + plane] = src.rgb[p + 1]; out[o + 2 * plane] = src.rgb[p + 2];
      }
    }
    return;
  }
  const r = resizeBilinear(src, rw, rh);
  const q = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  for (let y = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++) {
      const p = (y * rw + x) * 3;
      const o = offset + (y + y0) * outW + x + x0;
      out[o] = q(r[p]); out[o + plane] = q(r[p + 1]); out[o + 2 * plane] = q(r[p + 2]);
    }
  }
}
