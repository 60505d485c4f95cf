// The frozen Cosmos encoder behind a content-addressed cache: each distinct frame is encoded once per run.
import { createHash } from "node:crypto";
import { ShapeError } from "../tensor/errors.ts";
import { type HostTensor } from "../tensor/compile/index.ts";

/** Encodes a stack of frames [n, 3, H, W] in [0, 1] to latents [n, z, h, w]. */
export type FrameEncoder = (frames: HostTensor) => Promise<HostTensor>;

export interface LatentCacheOptions {
  /** Frames per encoder call (fixed, so a compiled encoder keeps one signature; the last call is padded). */
  readonly chunk: number;
  /** Bytes of latents kept; once full, new frames are still encoded but no longer kept. */
  readonly maxBytes: number;
}

export interface LatentCacheStats {
  /** Frames asked for, and of those how many were encoded (the rest came from the cache or a duplicate). */
  readonly frames: number;
  readonly encoded: number;
  readonly bytes: number;
}

/**
 * The encoder is frozen during policy training, so a frame's latent depends only on its pixels: frames are keyed
 * by a SHA-1 of their values. Frames t-15, t and t+15 of neighbouring samples, every epoch after the first and
 * the constant image of a missing camera then cost one encoder pass each. The encoder is assumed to treat
 * every frame of a stack independently (true of Cosmos: convolutions, per-sample group norm, per-image attention).
 */
export function cachedEncoder(encode: FrameEncoder, opts: LatentCacheOptions) {
  if (!(Number.isInteger(opts.chunk) && opts.chunk >= 1)) throw new ShapeError(`latent cache: chunk must be an integer >= 1, got ${opts.chunk}`);
  const cache = new Map<string, Float32Array>();
  let [frames, encoded, bytes] = [0, 0, 0];
  let latentDims: readonly number[] = []; // [z, h, w], from the first encoder call

  /** Encodes `stack` frames [k, 3, H, W] (k <= chunk) padded to `chunk`; returns the k latents. */
  async function encodeChunk(stack: Float32Array, k: number, frameShape: readonly number[]): Promise<Float32Array[]> {
    const size = stack.length / k;
    const padded = new Float32Array(opts.chunk * size);
    padded.set(stack);
    const out = await encode({ dtype: "float32", shape: [opts.chunk, ...frameShape], data: padded });
    latentDims = out.shape.slice(1);
    const per = (out.data as Float32Array).length / opts.chunk;
    return Array.from({ length: k }, (_, i) => (out.data as Float32Array).slice(i * per, (i + 1) * per));
  }

  return {
    /** Latents [N, z, h, w] of frames [N, 3, H, W]: cached ones copied, the others encoded in chunks. */
    async run(stack: HostTensor): Promise<HostTensor> {
      const [N, ...frameShape] = stack.shape;
      const data = stack.data as Float32Array;
      const size = data.length / N;
      const keys = Array.from({ length: N }, (_, i) => {
        const view = data.subarray(i * size, (i + 1) * size);
        return createHash("sha1").update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).digest("base64");
      });
      const fresh = new Map<string, number>(); // key -> first frame index with it
      keys.forEach((k, i) => {
        if (!cache.has(k) && !fresh.has(k)) fresh.set(k, i);
      });
      const todo = [...fresh.entries()];
      const found = new Map<string, Float32Array>();
      for (let at = 0; at < todo.length; at += opts.chunk) {
        const part = todo.slice(at, at + opts.chunk);
        const chunkFrames = new Float32Array(part.length * size);
        part.forEach(([, i], j) => chunkFrames.set(data.subarray(i * size, (i + 1) * size), j * size));
        const latents = await encodeChunk(chunkFrames, part.length, frameShape);
        part.forEach(([k], j) => {
          found.set(k, latents[j]);
          if (bytes + latents[j].byteLength <= opts.maxBytes) {
            cache.set(k, latents[j]);
            bytes += latents[j].byteLength;
          }
        });
      }
      frames += N;
      encoded += todo.length;
      const per = latentDims.reduce((a, b) => a * b, 1);
      const out = new Float32Array(N * per);
      keys.forEach((k, i) => out.set(cache.get(k) ?? found.get(k)!, i * per));
      return { dtype: "float32", shape: [N, ...latentDims], data: out };
    },
    stats: (): LatentCacheStats => ({ frames, encoded, bytes }),
  };
}
