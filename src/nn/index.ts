// The building blocks of every model: pure forwards over PyTorch-named parameter trees (see src/tensor/README.md for ownership).
export { embedding, initLinear, linear, type LinearParams } from "./linear.ts";
export { groupNorm, layerNorm, rmsNorm, type NormParams } from "./norm.ts";
export { geluExact, geluTanh, silu } from "./activation.ts";
export { attention, softmax } from "./attention.ts";
export { applyRope, cosSin, mropeCosSin, mropeRow, ropeCosSin, ropeInvFreq } from "./rope.ts";
export { swiglu, type SwiGluParams } from "./mlp.ts";
export { conv2d, convTranspose2d, upsampleNearest2x, type ConvParams } from "./conv.ts";
export { haarPatch, haarUnpatch } from "./wavelet.ts";
