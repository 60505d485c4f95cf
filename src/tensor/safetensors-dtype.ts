// The safetensors dtypes we read and write, their byte sizes, and the float16/bfloat16 <-> float32 conversions.
import { endianness } from "node:os";

/** The safetensors dtype strings this library reads and writes. */
export type SafetensorsDType = "F32" | "F16" | "BF16" | "I64" | "I32" | "U8" | "BOOL";

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };

export const SUPPORTED_DTYPES = Object.keys(DTYPE_SIZE) as readonly SafetensorsDType[];

export function isSupportedDType(d: unknown): d is SafetensorsDType {
  return typeof d === "string" && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, d);
}

/** safetensors stores little-endian; typed arrays use the host order, so a big-endian host is refused up front. */
export function assertLittleEndianHost(): void {
  if (endianness() !== "LE") throw new Error("safetensors: this library needs a little-endian host (typed arrays alias file bytes)");
}

let f16Table: Float32Array | undefined;

/** float16 bits -> float32 value for all 65536 patterns (subnormals, inf and NaN included); built once. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

/** Decodes `count` elements of `dtype` from little-endian `bytes` into `out` (float32) starting at `outOffset`. */
export function decodeToF32(dtype: SafetensorsDType, bytes: Uint8Array, out: Float32Array, outOffset: number): void {
  const n = bytes.byteLength / DTYPE_SIZE[dtype];
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case "F32":
      out.set(new Float32Array(buffer, byteOffset, n), outOffset);
      return;
    case "F16": {
      const table = halfTable();
      const src = new Uint16Array(buffer, byteOffset, n);
      for (let i = 0; i < n; i++) out[outOffset + i] = table[src[i]];
      return;
    }
    case "BF16": {
      const src = new Uint16Array(buffer, byteOffset, n);
      const bits = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, n);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return;
    }
    case "I64": {
      const src = new BigInt64Array(buffer, byteOffset, n);
      for (let i = 0; i < n; i++) out[outOffset + i] = Number(src[i]);
      return;
    }
    case "I32":
      for (let i = 0, src = new Int32Array(buffer, byteOffset, n); i < n; i++) out[outOffset + i] = src[i];
      return;
    case "U8":
    case "BOOL":
      for (let i = 0; i < n; i++) out[outOffset + i] = bytes[i];
      return;
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 -> bfloat16 bits, round to nearest even; NaN -> 0x7fc0 (torch's scalar rule). */
export function f32ToBf16Bits(v: number): number {
  f32Scratch[0] = v;
  const bits = u32Scratch[0];
  if (Number.isNaN(v)) return 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> float16 bits, round to nearest even, overflow to inf, gradual underflow (IEEE 754). */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  const rest = mant & 0x1fff;
  let h = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** The typed-array types the writer accepts. */
export type TensorData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * Encodes elements [start, end) of `data` as `dtype` little-endian bytes. Float32Array feeds F32/F16/BF16,
 * Uint16Array gives raw F16/BF16 bits, Int32Array feeds I32/I64, BigInt64Array I64, Uint8Array U8/BOOL.
 * Returns null when the pairing is not supported.
 */
export function encodeRange(dtype: SafetensorsDType, data: TensorData, start: number, end: number): Uint8Array | null {
  const n = end - start;
  const view = (a: ArrayBufferView, bytesPer: number) => new Uint8Array(a.buffer, a.byteOffset + start * bytesPer, n * bytesPer);
  if (data instanceof Float32Array) {
    if (dtype === "F32") return view(data, 4);
    if (dtype !== "F16" && dtype !== "BF16") return null;
    const out = new Uint16Array(n);
    const conv = dtype === "F16" ? f32ToF16Bits : f32ToBf16Bits;
    for (let i = 0; i < n; i++) out[i] = conv(data[start + i]);
    return new Uint8Array(out.buffer);
  }
  if (data instanceof Uint16Array) return dtype === "F16" || dtype === "BF16" ? view(data, 2) : null;
  if (data instanceof Int32Array) {
    if (dtype === "I32") return view(data, 4);
    if (dtype !== "I64") return null;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(data[start + i]);
    return new Uint8Array(out.buffer);
  }
  if (data instanceof BigInt64Array) return dtype === "I64" ? view(data, 8) : null;
  if (data instanceof Uint8Array) return dtype === "U8" || dtype === "BOOL" ? view(data, 1) : null;
  return null;
}
