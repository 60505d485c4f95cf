// Cosmos-Tokenizer 2x2 Haar patcher and its inverse (one level), as a reshape + 4x4 matmul + transpose.
import { fromF32, np, type Tensor } from "../tensor/index.ts";
import { ShapeError, fmtShape } from "../tensor/errors.ts";

// Cosmos `Patcher._dwt` filters along W then H with L = [a, a], H = [a, -a] (a = 1/sqrt 2), stride 2, and
// concatenates the bands band-major as [LL, LH, HL, HH] (first letter: the W filter, second: the H filter),
// then divides by 2. For a 2x2 block p[dy][dx] that is band = sum_{dy,dx} s(band, dy, dx) p[dy][dx] / 4 with
//   LL: + + + +    LH: + + - -    HL: + - + -    HH: + - - +     (pixel order p00 p01 p10 p11).
// The sign table is a 4x4 Hadamard matrix S (S S^T = 4 I), so the inverse (`UnPatcher._idwt`, x2 rescale) is
// p = S^T band. The reflect pad of `_dwt` is never read for even sizes.
const SIGNS = [
  [1, 1, 1, 1],
  [1, 1, -1, -1],
  [1, -1, 1, -1],
  [1, -1, -1, 1],
];

/** [pixel, band] matrix scaled by `s`: forward uses s = 1/4, inverse the transpose with s = 1. */
function haarMatrix(scale: number, inverse: boolean): Tensor /* [4, 4] */ {
  const m = new Float32Array(16);
  for (let band = 0; band < 4; band++) {
    for (let px = 0; px < 4; px++) m[inverse ? band * 4 + px : px * 4 + band] = SIGNS[band][px] * scale;
  }
  return fromF32(m, [4, 4]);
}

/** Cosmos Haar patcher (one level): per channel 2x2 Haar along W then H, output [LL,LH,HL,HH] channel-blocks, /2. Consumes `x`. */
export function haarPatch(x: Tensor /* [N, C, H, W] */): Tensor /* [N, 4C, H/2, W/2] */ {
  const [n, c, h, w] = x.shape;
  if (x.ndim !== 4 || h % 2 !== 0 || w % 2 !== 0) {
    const found = fmtShape(x.shape);
    x.dispose();
    throw new ShapeError(`haarPatch: expected [N, C, H, W] with even H and W, got ${found}`);
  }
  const pixels = x
    .reshape([n, c, h / 2, 2, w / 2, 2])
    .transpose([0, 1, 2, 4, 3, 5]) // [N, C, H/2, W/2, dy, dx]
    .reshape([n, c, h / 2, w / 2, 4]);
  const bands = np.matmul(pixels, haarMatrix(0.25, false)); // [N, C, H/2, W/2, 4]
  return bands.transpose([0, 4, 1, 2, 3]).reshape([n, 4 * c, h / 2, w / 2]); // band-major channels
}

/** Inverse of haarPatch (Cosmos `UnPatcher._idwt` with its x2 rescale). Consumes `x`. */
export function haarUnpatch(x: Tensor /* [N, 4C, H, W] */): Tensor /* [N, C, 2H, 2W] */ {
  const [n, c4, h, w] = x.shape;
  if (x.ndim !== 4 || c4 % 4 !== 0) {
    const found = fmtShape(x.shape);
    x.dispose();
    throw new ShapeError(`haarUnpatch: expected [N, 4C, H, W], got ${found}`);
  }
  const c = c4 / 4;
  const bands = x.reshape([n, 4, c, h, w]).transpose([0, 2, 3, 4, 1]); // [N, C, H, W, 4]
  const pixels = np.matmul(bands, haarMatrix(1, true)); // [N, C, H, W, 4 = dy*2+dx]
  return pixels
    .reshape([n, c, h, w, 2, 2])
    .transpose([0, 1, 2, 4, 3, 5]) // [N, C, H, dy, W, dx]
    .reshape([n, c, 2 * h, 2 * w]);
}
