// RGB to YUV 4:2:0 for the encoder (BT.601 limited range by default, what FFmpeg assumes of untagged video).

export interface YuvMatrix {
  readonly kr: number;
  readonly kb: number;
  readonly fullRange: boolean;
}

/** FFmpeg assumes BT.601 when a stream does not say otherwise. */
export const BT601: YuvMatrix = { kr: 0.299, kb: 0.114, fullRange: false };

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
