// 2-D convolutions in PyTorch layouts (NCHW; conv weight [O,I,kh,kw], transposed conv [I,O,kh,kw]) and 2x upsampling.
import { lax, np, type Tensor } from "../tensor/index.ts";
import { ShapeError, fmtShape } from "../tensor/errors.ts";

/** Conv2d / ConvTranspose2d parameters. */
export type ConvParams = { weight: Tensor /* conv: [O,I,kh,kw]; convTranspose: [I,O,kh,kw] (PyTorch) */; bias?: Tensor /* [O] */ };

type Pad4 = [number, number, number, number];

function checkConvInput(where: string, p: ConvParams, x: Tensor, inAxis: 0 | 1): void {
  if (x.ndim !== 4 || p.weight.ndim !== 4 || x.shape[1] !== p.weight.shape[inAxis]) {
    const found = `x ${fmtShape(x.shape)}, weight ${fmtShape(p.weight.shape)}`;
    x.dispose();
    const layout = inAxis === 0 ? "[I, O, kh, kw]" : "[O, I, kh, kw]";
    throw new ShapeError(`${where}: expected x [N, C, H, W] and weight ${layout} with I = C, got ${found}`);
  }
}

function addBias(y: Tensor /* [N, O, H, W] */, bias: Tensor | undefined): Tensor {
  return bias ? y.add(bias.ref.reshape([1, bias.shape[0], 1, 1])) : y;
}

/**
 * Non-overlapping conv (kernel == stride, no padding, e.g. 1x1 or Cosmos's 8x8/8 downsample) as one matmul
 * over patches, which the ONNX lowering turns into a single MatMul.
 */
function patchConv(p: ConvParams, x: Tensor): Tensor /* [N, O, H/k, W/k] */ {
  const [o, c, kh, kw] = p.weight.shape;
  const [n, , h, w] = x.shape;
  const ho = h / kh;
  const wo = w / kw;
  const patches = x
    .reshape([n, c, ho, kh, wo, kw])
    .transpose([0, 2, 4, 1, 3, 5]) // [N, Ho, Wo, C, kh, kw]
    .reshape([n * ho * wo, c * kh * kw]);
  const y = np.matmul(patches, p.weight.ref.reshape([o, c * kh * kw]).transpose()); // [N*Ho*Wo, O]
  return y.reshape([n, ho, wo, o]).transpose([0, 3, 1, 2]);
}

/** torch.nn.functional.conv2d with a square stride; padding is symmetric or [top, bottom, left, right]. Borrows `p`, consumes `x`. */
export function conv2d(
  p: ConvParams,
  x: Tensor /* [N, C, H, W] */,
  opts: { stride?: number; padding?: number | Pad4 } = {},
): Tensor /* [N, O, Ho, Wo] */ {
  checkConvInput("conv2d", p, x, 1);
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  const [t, b, l, r]: Pad4 = typeof pad === "number" ? [pad, pad, pad, pad] : pad;
  const [, , kh, kw] = p.weight.shape;
  const [, , h, w] = x.shape;
  const zeroPad = t === 0 && b === 0 && l === 0 && r === 0;
  if (zeroPad && kh === stride && kw === stride && h % kh === 0 && w % kw === 0) return addBias(patchConv(p, x), p.bias);
  const y = lax.convGeneralDilated(x, p.weight.ref, [stride, stride], [[t, b], [l, r]]);
  return addBias(y, p.bias);
}

/** Non-overlapping transposed conv (kernel == stride, no padding): each input pixel writes one k x k block. */
function patchConvTranspose(p: ConvParams, x: Tensor): Tensor /* [N, O, H*k, W*k] */ {
  const [c, o, kh, kw] = p.weight.shape;
  const [n, , h, w] = x.shape;
  const pixels = x.transpose([0, 2, 3, 1]).reshape([n * h * w, c]); // [N*H*W, I]
  const blocks = np.matmul(pixels, p.weight.ref.reshape([c, o * kh * kw])); // [N*H*W, O*kh*kw]
  return blocks
    .reshape([n, h, w, o, kh, kw])
    .transpose([0, 3, 1, 4, 2, 5]) // [N, O, H, kh, W, kw]
    .reshape([n, o, h * kh, w * kw]);
}

/** torch.nn.ConvTranspose2d (weight [I, O, kh, kw]): output (H-1)*stride - 2*padding + k. Borrows `p`, consumes `x`. */
export function convTranspose2d(p: ConvParams, x: Tensor /* [N, I, H, W] */, opts: { stride?: number; padding?: number } = {}): Tensor {
  checkConvInput("convTranspose2d", p, x, 0);
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  const [, , kh, kw] = p.weight.shape;
  if (pad === 0 && kh === stride && kw === stride) return addBias(patchConvTranspose(p, x), p.bias);
  if (pad > kh - 1 || pad > kw - 1) {
    x.dispose();
    throw new ShapeError(`convTranspose2d: padding must be at most kernel-1 = ${Math.min(kh, kw) - 1}, got ${pad}`);
  }
  const y = lax.convTranspose(x, p.weight.ref, [stride, stride], [[pad, pad], [pad, pad]], { transposeKernel: true });
  return addBias(y, p.bias);
}

/** Nearest-neighbour 2x upsampling (F.interpolate(scale_factor=2, mode="nearest")) as a broadcast. Consumes `x`. */
export function upsampleNearest2x(x: Tensor /* [N, C, H, W] */): Tensor /* [N, C, 2H, 2W] */ {
  if (x.ndim !== 4) {
    const found = fmtShape(x.shape);
    x.dispose();
    throw new ShapeError(`upsampleNearest2x: expected [N, C, H, W], got ${found}`);
  }
  const [n, c, h, w] = x.shape;
  return np.broadcastTo(x.reshape([n, c, h, 1, w, 1]), [n, c, h, 2, w, 2]).reshape([n, c, 2 * h, 2 * w]);
}
