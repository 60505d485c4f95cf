// RGB <-> YUV 4:2:0 conversion (BT.601 / BT.709, limited or full range), matching FFmpeg's swscale defaults.

/** A decoded 4:2:0 picture: three planes with their strides. */
export interface I420Picture {
  readonly width: number;
  readonly height: number;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  readonly yStride: number;
  readonly uvStride: number;
}

export interface YuvMatrix {
  readonly kr: number;
  readonly kb: number;
  readonly fullRange: boolean;
}

/** FFmpeg assumes BT.601 when a stream does not say otherwise. */
export const BT601: YuvMatrix = { kr: 0.299, kb: 0.114, fullRange: false };
export const BT709: YuvMatrix = { kr: 0.2126, kb: 0.0722, fullRange: false };

/** The matrix for a stream's colour metadata (WebCodecs names); unknown or absent means BT.601. */
export function matrixFor(matrix: string | null | undefined, fullRange: boolean | null | undefined): YuvMatrix {
  const base = matrix === "bt709" ? BT709 : BT601;
  return { ...base, fullRange: fullRange === true };
}

const clamp8 = (x: number): number => (x < 0 ? 0 : x > 255 ? 255 : Math.round(x));

/**
 * Converts packed RGB [H, W, 3] to I420 (planes Y [H*W], U and V [(H/2)*(W/2)], concatenated).
 * Chroma is the average of each 2x2 block. Width and height must be even.
 */
export function rgbToI420(rgb: Uint8Array, width: number, height: number, m: YuvMatrix = BT601): Uint8Array {
  const out = new Uint8Array(width * height * 1.5);
  const cw = width >> 1;
  const uOff = width * height;
  const vOff = uOff + cw * (height >> 1);
  const kg = 1 - m.kr - m.kb;
  const ys = m.fullRange ? 255 / 255 : 219 / 255;
  const cs = m.fullRange ? 255 / 255 : 224 / 255;
  const y0 = m.fullRange ? 0 : 16;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const p = (j * width + i) * 3;
      out[j * width + i] = clamp8(y0 + ys * (m.kr * rgb[p] + kg * rgb[p + 1] + m.kb * rgb[p + 2]));
    }
  }
  for (let j = 0; j < height >> 1; j++) {
    for (let i = 0; i < cw; i++) {
      let r = 0, g = 0, b = 0;
      for (const [dj, di] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const p = ((2 * j + dj) * width + 2 * i + di) * 3;
        r += rgb[p];
        g += rgb[p + 1];
        b += rgb[p + 2];
      }
      r /= 4; g /= 4; b /= 4;
      const yy = m.kr * r + kg * g + m.kb * b;
      out[uOff + j * cw + i] = clamp8(128 + (cs * (b - yy)) / (2 * (1 - m.kb)));
      out[vOff + j * cw + i] = clamp8(128 + (cs * (r - yy)) / (2 * (1 - m.kr)));
    }
  }
  return out;
}

/** Per-matrix constants for the inverse transform: R = a(Y-y0) + rv(V-128), etc. */
function inverseCoefficients(m: YuvMatrix): { a: number; y0: number; rv: number; gu: number; gv: number; bu: number } {
  const kg = 1 - m.kr - m.kb;
  const a = m.fullRange ? 1 : 255 / 219;
  const c = m.fullRange ? 1 : 255 / 224;
  return {
    a,
    y0: m.fullRange ? 0 : 16,
    rv: c * 2 * (1 - m.kr),
    gu: (-c * 2 * (1 - m.kb) * m.kb) / kg,
    gv: (-c * 2 * (1 - m.kr) * m.kr) / kg,
    bu: c * 2 * (1 - m.kb),
  };
}

interface RgbTables {
  readonly yT: Int32Array;
  readonly rvT: Int32Array;
  readonly guvT: Int32Array;
  readonly buT: Int32Array;
}

const tableCache = new Map<string, RgbTables>();

/** Fixed-point (16 fractional bits) lookup tables of the inverse transform, built once per matrix. */
function rgbTables(m: YuvMatrix): RgbTables {
  const key = `${m.kr},${m.kb},${m.fullRange}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const k = inverseCoefficients(m);
  const F = 65536;
  const yT = new Int32Array(256), rvT = new Int32Array(256), guvT = new Int32Array(256 * 256), buT = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    yT[i] = Math.round(k.a * (i - k.y0) * F) + F / 2;
    rvT[i] = Math.round(k.rv * (i - 128) * F);
    buT[i] = Math.round(k.bu * (i - 128) * F);
  }
  for (let u = 0; u < 256; u++) for (let v = 0; v < 256; v++) guvT[(u << 8) | v] = Math.round((k.gu * (u - 128) + k.gv * (v - 128)) * F);
  const t = { yT, rvT, guvT, buT };
  tableCache.set(key, t);
  return t;
}

/** Converts a whole I420 picture to packed RGB [H, W, 3] at full resolution (chroma upsampled by replication). */
export function i420ToRgb(pic: I420Picture, m: YuvMatrix): Uint8Array {
  const { yT, rvT, guvT, buT } = rgbTables(m);
  const { width: w, height: h, y: Y, u: U, v: V } = pic;
  const out = new Uint8Array(w * h * 3);
  const c = new Uint8ClampedArray(out.buffer);
  for (let j = 0; j < h; j++) {
    const cRow = (j >> 1) * pic.uvStride;
    const yRow = j * pic.yStride;
    let o = j * w * 3;
    for (let i = 0; i < w; i += 2) {
      const u = U[cRow + (i >> 1)];
      const v = V[cRow + (i >> 1)];
      const r = rvT[v], g = guvT[(u << 8) | v], b = buT[u];
      for (let d = 0; d < 2 && i + d < w; d++, o += 3) {
        const yv = yT[Y[yRow + i + d]];
        c[o] = (yv + r) >> 16;
        c[o + 1] = (yv + g) >> 16;
        c[o + 2] = (yv + b) >> 16;
      }
    }
  }
  return out;
}
