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

const clamp8 = (x: number): number => (x < 0 ? 0 : x > 255 ? 255 : x);

/** Fixed-point (16 fractional bits) coefficients of the forward transform: Y from RGB, U and V from 2x2 RGB sums. */
function forwardCoefficients(m: YuvMatrix): { yr: number; yg: number; yb: number; y0: number; ur: number; ug: number; ub: number; vr: number; vg: number; vb: number } {
  const F = 65536;
  const { kr, kb } = m;
  const kg = 1 - kr - kb;
  const ys = m.fullRange ? 1 : 219 / 255;
  const cs = m.fullRange ? 1 : 224 / 255;
  // U = 128 + cs (B - Y) / (2 (1 - kb)) on the block's mean colour, i.e. its sums divided by 4.
  const cu = cs / (2 * (1 - kb) * 4);
  const cv = cs / (2 * (1 - kr) * 4);
  const q = (x: number): number => Math.round(x * F);
  return {
    yr: q(ys * kr), yg: q(ys * kg), yb: q(ys * kb), y0: q(m.fullRange ? 0 : 16) + F / 2,
    ur: q(-cu * kr), ug: q(-cu * kg), ub: q(cu * (1 - kb)),
    vr: q(cv * (1 - kr)), vg: q(-cv * kg), vb: q(-cv * kb),
  };
}

/**
 * Converts packed RGB [H, W, 3] to I420 (planes Y [H*W], U and V [(H/2)*(W/2)], concatenated), in 16-bit fixed
 * point, rounded to nearest. Chroma is taken from the mean colour of each 2x2 block. Width and height must be even.
 */
export function rgbToI420(rgb: Uint8Array, width: number, height: number, m: YuvMatrix = BT601): Uint8Array {
  const out = new Uint8Array(width * height * 1.5);
  const cw = width >> 1;
  const uOff = width * height;
  const vOff = uOff + cw * (height >> 1);
  const k = forwardCoefficients(m);
  const c0 = 128 * 65536 + 32768;
  for (let i = 0, p = 0; i < uOff; i++, p += 3) out[i] = clamp8((k.yr * rgb[p] + k.yg * rgb[p + 1] + k.yb * rgb[p + 2] + k.y0) >> 16);
  const row = width * 3;
  for (let j = 0; j < height >> 1; j++) {
    let p = 2 * j * row;
    let o = j * cw;
    for (let i = 0; i < cw; i++, p += 6, o++) {
      const q = p + row;
      const r = rgb[p] + rgb[p + 3] + rgb[q] + rgb[q + 3];
      const g = rgb[p + 1] + rgb[p + 4] + rgb[q + 1] + rgb[q + 4];
      const b = rgb[p + 2] + rgb[p + 5] + rgb[q + 2] + rgb[q + 5];
      out[uOff + o] = clamp8((k.ur * r + k.ug * g + k.ub * b + c0) >> 16);
      out[vOff + o] = clamp8((k.vr * r + k.vg * g + k.vb * b + c0) >> 16);
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
  readonly guT: Int32Array;
  readonly gvT: Int32Array;
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
  const table = (f: (i: number) => number): Int32Array => Int32Array.from({ length: 256 }, (_, i) => Math.round(f(i) * F));
  const t = {
    // + 1/2 on Y rounds the final >> 16 to nearest.
    yT: table((i) => k.a * (i - k.y0) + 0.5),
    rvT: table((i) => k.rv * (i - 128)),
    guT: table((i) => k.gu * (i - 128)),
    gvT: table((i) => k.gv * (i - 128)),
    buT: table((i) => k.bu * (i - 128)),
  };
  tableCache.set(key, t);
  return t;
}

/** Where converted pixels go: channel c of pixel (i, j) at base + j * rowStride + i * step + c * chanStride. */
interface RgbLayout {
  readonly base: number;
  readonly step: number;
  readonly rowStride: number;
  readonly chanStride: number;
}

/** Writes one pixel's three channels (Y term plus chroma terms, 16 fractional bits) `cs` apart from `o`. */
function put(c: Uint8ClampedArray, o: number, cs: number, yv: number, r: number, g: number, b: number): void {
  c[o] = (yv + r) >> 16;
  c[o + cs] = (yv + g) >> 16;
  c[o + 2 * cs] = (yv + b) >> 16;
}

/**
 * Converts a whole I420 picture to RGB into `c` laid out as `at` says, one 2x2 block (one chroma sample,
 * replicated) at a time; values are clamped by the Uint8ClampedArray.
 */
function convertI420(pic: I420Picture, m: YuvMatrix, c: Uint8ClampedArray, at: RgbLayout): void {
  const { yT, rvT, guT, gvT, buT } = rgbTables(m);
  const { width: w, height: h, y: Y, u: U, v: V, yStride } = pic;
  const { step, chanStride: cs } = at;
  for (let j = 0; j < h; j += 2) {
    const cRow = (j >> 1) * pic.uvStride;
    const y0 = j * yStride;
    const o0 = at.base + j * at.rowStride;
    const second = j + 1 < h;
    for (let i = 0; i < w; i += 2) {
      const u = U[cRow + (i >> 1)];
      const v = V[cRow + (i >> 1)];
      const r = rvT[v], g = guT[u] + gvT[v], b = buT[u];
      const o = o0 + i * step;
      put(c, o, cs, yT[Y[y0 + i]], r, g, b);
      if (second) put(c, o + at.rowStride, cs, yT[Y[y0 + yStride + i]], r, g, b);
      if (i + 1 < w) {
        put(c, o + step, cs, yT[Y[y0 + i + 1]], r, g, b);
        if (second) put(c, o + at.rowStride + step, cs, yT[Y[y0 + yStride + i + 1]], r, g, b);
      }
    }
  }
}

/** Converts a whole I420 picture to packed RGB [H, W, 3] at full resolution (chroma upsampled by replication). */
export function i420ToRgb(pic: I420Picture, m: YuvMatrix): Uint8Array {
  const out = new Uint8Array(pic.width * pic.height * 3);
  convertI420(pic, m, new Uint8ClampedArray(out.buffer), { base: 0, step: 3, rowStride: 3 * pic.width, chanStride: 1 });
  return out;
}

/**
 * The same conversion written channel-first into a zero-padded canvas: `out` at `offset` holds [3, canvasH, canvasW]
 * and the picture's top-left corner lands at (x0, y0). Byte-identical to i420ToRgb followed by a copy to CHW.
 */
export function i420ToChw(pic: I420Picture, m: YuvMatrix, out: Uint8Array, offset: number, canvasW: number, canvasH: number, x0: number, y0: number): void {
  const plane = canvasW * canvasH;
  if (x0 < 0 || y0 < 0 || x0 + pic.width > canvasW || y0 + pic.height > canvasH) {
    throw new RangeError(`internal: i420ToChw: a ${pic.width}x${pic.height} picture at (${x0}, ${y0}) does not fit a ${canvasW}x${canvasH} canvas`);
  }
  out.fill(0, offset, offset + 3 * plane);
  const c = new Uint8ClampedArray(out.buffer, out.byteOffset + offset, 3 * plane);
  convertI420(pic, m, c, { base: y0 * canvasW + x0, step: 1, rowStride: canvasW, chanStride: plane });
}
