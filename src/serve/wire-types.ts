// Wire value types: numpy arrays (dtypes as numpy names them) and the msgpack values around them.
import { InternvlaError } from "../tensor/errors.ts";

/** A frame or value that does not follow the wire format. */
export class ProtocolError extends InternvlaError {}

export type ElementType =
  | "bool" | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32"
  | "int64" | "uint64" | "float16" | "float32" | "float64";

export type TypedArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** A numpy array on the wire; float16 data is kept as raw Uint16Array bits. */
export interface NdArray {
  readonly kind: "ndarray";
  readonly dtype: ElementType;
  readonly shape: readonly number[];
  readonly data: TypedArray; // C order
}

export type WireValue =
  | null | boolean | number | string | Uint8Array | NdArray
  | readonly WireValue[] | { readonly [key: string]: WireValue };
export type WireMap = { readonly [key: string]: WireValue };

export interface DTypeInfo { readonly type: ElementType; readonly size: number; readonly make: (b: ArrayBuffer, o: number, n: number) => TypedArray }
export const DTYPES: Readonly<Record<string, DTypeInfo>> = {
  b1: { type: "bool", size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  i1: { type: "int8", size: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  u1: { type: "uint8", size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  i2: { type: "int16", size: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  u2: { type: "uint16", size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  f2: { type: "float16", size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  i4: { type: "int32", size: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  u4: { type: "uint32", size: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  f4: { type: "float32", size: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  i8: { type: "int64", size: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  u8: { type: "uint64", size: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
  f8: { type: "float64", size: 8, make: (b, o, n) => new Float64Array(b, o, n) },
};
export const NUMPY_STR: Readonly<Record<ElementType, string>> = {
  bool: "|b1", int8: "|i1", uint8: "|u1", int16: "<i2", uint16: "<u2", float16: "<f2", int32: "<i4",
  uint32: "<u4", float32: "<f4", int64: "<i8", uint64: "<u8", float64: "<f8",
};
export const SUPPORTED = Object.values(NUMPY_STR).join(", ");

function typeOfArray(data: TypedArray): ElementType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  return "uint64";
}

/** Wraps a typed array as an NdArray (dtype from the array type unless given, e.g. "bool" or "float16"). */
export function ndarray(data: TypedArray, shape: readonly number[], dtype: ElementType = typeOfArray(data)): NdArray {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new ProtocolError(`ndarray: shape [${shape.join(", ")}] holds ${n} elements, data has ${data.length}`);
  }
  return { kind: "ndarray", dtype, shape: [...shape], data };
}

export function isNdArray(v: unknown): v is NdArray {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "ndarray" && "dtype" in v;
}

/** Converts a numeric NdArray to float32 (float16 bits decoded; int64 via Number). */
export function toFloat32Array(a: NdArray): Float32Array {
  const d = a.data;
  if (a.dtype === "float32") return d as Float32Array;
  if (a.dtype === "float16") return Float32Array.from(d as Uint16Array, halfToFloat);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float32Array.from(d, (x) => Number(x));
  return Float32Array.from(d as ArrayLike<number>);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
