// msgpack with numpy arrays exactly as openpi's `msgpack_numpy`: arrays are maps with BINARY keys
// `__ndarray__`, `data`, `dtype`, `shape` (Python packs `bytes` as msgpack bin), scalars use `__npgeneric__`.
import { Decoder, DecodeError } from "@msgpack/msgpack";
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

interface DTypeInfo { readonly type: ElementType; readonly size: number; readonly make: (b: ArrayBuffer, o: number, n: number) => TypedArray }
const DTYPES: Readonly<Record<string, DTypeInfo>> = {
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
const NUMPY_STR: Readonly<Record<ElementType, string>> = {
  bool: "|b1", int8: "|i1", uint8: "|u1", int16: "<i2", uint16: "<u2", float16: "<f2", int32: "<i4",
  uint32: "<u4", float32: "<f4", int64: "<i8", uint64: "<u8", float64: "<f8",
};
const SUPPORTED = Object.values(NUMPY_STR).join(", ");

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

export interface DecodeLimits {
  /** Largest frame accepted, in bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of maps and arrays. */
  readonly maxDepth: number;
}
export const DEFAULT_LIMITS: DecodeLimits = { maxBytes: 64 * 1024 * 1024, maxDepth: 32 };

const keyText = new TextDecoder("utf-8", { fatal: true });
function mapKey(key: unknown): string | number {
  if (typeof key === "string" || typeof key === "number") return key;
  if (key instanceof Uint8Array) return keyText.decode(key);
  throw new DecodeError(`map keys must be str, bin or int, got ${key === null ? "nil" : typeof key}`);
}

const decoders = new WeakMap<DecodeLimits, Decoder>();
function decoderFor(limits: DecodeLimits): Decoder {
  let d = decoders.get(limits);
  if (!d) {
    const max = limits.maxBytes;
    d = new Decoder({ mapKeyConverter: mapKey, maxStrLength: max, maxBinLength: max, maxArrayLength: max, maxMapLength: max, maxExtLength: 0 });
    decoders.set(limits, d);
  }
  return d;
}

/** Decodes one frame: msgpack with openpi numpy maps turned into NdArrays. Throws ProtocolError on bad input. */
export function decodeMsgpackNumpy(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): WireValue {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ProtocolError(`frame of ${bytes.byteLength} bytes exceeds the limit of ${limits.maxBytes} bytes`);
  }
  let raw: unknown;
  try {
    raw = decoderFor(limits).decode(bytes);
  } catch (e) {
    throw new ProtocolError(`malformed msgpack frame (${bytes.byteLength} bytes): ${(e as Error).message}`);
  }
  return toWire(raw, "$", 0, limits.maxDepth);
}

function toWire(v: unknown, path: string, depth: number, maxDepth: number): WireValue {
  if (depth > maxDepth) throw new ProtocolError(`${path}: nesting deeper than ${maxDepth} levels`);
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return v;
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x, i) => toWire(x, `${path}[${i}]`, depth + 1, maxDepth));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const m = v as Record<string, unknown>;
    if ("__ndarray__" in m) return unpackArray(m, path);
    if ("__npgeneric__" in m) return unpackScalar(m, path);
    const out: Record<string, WireValue> = {};
    for (const [k, x] of Object.entries(m)) out[k] = toWire(x, `${path}.${k}`, depth + 1, maxDepth);
    return out;
  }
  if (typeof v === "bigint") throw new ProtocolError(`${path}: integer out of the 53-bit range`);
  const what = v instanceof Date ? "timestamp extension" : typeof v === "object" ? "msgpack extension" : typeof v;
  throw new ProtocolError(`${path}: unsupported value (${what}); send numbers, strings, bytes, lists, maps or numpy arrays`);
}

function parseDType(d: unknown, path: string): { info: DTypeInfo; bigEndian: boolean } {
  const s = d instanceof Uint8Array ? keyText.decode(d) : d;
  if (typeof s !== "string" || s.length < 2) throw new ProtocolError(`${path}.dtype: expected a numpy dtype string like "<f4", got ${JSON.stringify(s)}`);
  const order = "<>|=".includes(s[0]) ? s[0] : "=";
  const info = DTYPES[order === s[0] ? s.slice(1) : s];
  if (!info) throw new ProtocolError(`${path}.dtype: unsupported dtype "${s}"; supported: ${SUPPORTED}`);
  return { info, bigEndian: order === ">" && info.size > 1 };
}

function parseShape(s: unknown, path: string): number[] {
  if (!Array.isArray(s) || s.length > 8 || !s.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new ProtocolError(`${path}.shape: expected a list of at most 8 non-negative integers, got ${JSON.stringify(s)}`);
  }
  return s as number[];
}

function unpackArray(m: Record<string, unknown>, path: string): NdArray {
  const { info, bigEndian } = parseDType(m.dtype, path);
  const shape = parseShape(m.shape, path);
  const data = m.data;
  if (!(data instanceof Uint8Array)) throw new ProtocolError(`${path}.data: expected bytes, got ${typeof data}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.byteLength !== n * info.size) {
    throw new ProtocolError(
      `${path}: dtype ${NUMPY_STR[info.type]} shape [${shape.join(", ")}] needs ${n * info.size} bytes, data has ${data.byteLength}`,
    );
  }
  // Typed views need aligned offsets and native (little-endian) order; copy otherwise.
  let buf = data;
  if (bigEndian || data.byteOffset % info.size !== 0) {
    buf = new Uint8Array(data); // a copy (Buffer#slice would be a view)
    if (bigEndian) for (let i = 0; i < buf.length; i += info.size) buf.subarray(i, i + info.size).reverse();
  }
  return { kind: "ndarray", dtype: info.type, shape, data: info.make(buf.buffer as ArrayBuffer, buf.byteOffset, n) };
}

function unpackScalar(m: Record<string, unknown>, path: string): number | boolean {
  const { info } = parseDType(m.dtype, path);
  const v = m.data;
  if (typeof v === "number" || typeof v === "boolean") return info.type === "bool" ? Boolean(v) : Number(v);
  throw new ProtocolError(`${path}.data: numpy scalar of dtype ${NUMPY_STR[info.type]} must hold a number, got ${typeof v}`);
}

const utf8 = new TextEncoder();
const BIN_KEYS = { nd: utf8.encode("__ndarray__"), data: utf8.encode("data"), dtype: utf8.encode("dtype"), shape: utf8.encode("shape") };

/** Encodes a value; NdArrays become openpi numpy maps with binary keys. Strings are str, Uint8Array is bin. */
export function encodeMsgpackNumpy(value: WireValue): Uint8Array {
  const w = new Writer(1024);
  writeValue(w, value, 0);
  return w.bytes.subarray(0, w.pos);
}

class Writer {
  bytes: Uint8Array;
  view: DataView;
  pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.pos + n));
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
  u8(x: number): void { this.reserve(1); this.bytes[this.pos++] = x; }
  u16(x: number): void { this.reserve(2); this.view.setUint16(this.pos, x); this.pos += 2; }
  u32(x: number): void { this.reserve(4); this.view.setUint32(this.pos, x); this.pos += 4; }
  raw(b: Uint8Array): void { this.reserve(b.length); this.bytes.set(b, this.pos); this.pos += b.length; }
  /** Writes a header: fixed form below `fixLimit`, else the 8/16/32-bit forms (first code for the 8-bit form). */
  header(n: number, fix: number, fixLimit: number, code8: number | null, code16: number, code32: number): void {
    if (n < fixLimit) this.u8(fix + n);
    else if (code8 !== null && n < 0x100) { this.u8(code8); this.u8(n); }
    else if (n < 0x10000) { this.u8(code16); this.u16(n); }
    else { this.u8(code32); this.u32(n); }
  }
}

function writeNumber(w: Writer, x: number): void {
  if (Number.isSafeInteger(x) && x >= -0x80000000 && x <= 0xffffffff) {
    if (x >= 0 && x < 0x80) w.u8(x);
    else if (x < 0 && x >= -32) w.u8(0x100 + x);
    else if (x >= 0) { w.u8(0xce); w.u32(x); }
    else { w.u8(0xd2); w.reserve(4); w.view.setInt32(w.pos, x); w.pos += 4; }
    return;
  }
  w.u8(0xcb);
  w.reserve(8);
  w.view.setFloat64(w.pos, x);
  w.pos += 8;
}

function writeString(w: Writer, s: string): void {
  const b = utf8.encode(s);
  w.header(b.length, 0xa0, 32, 0xd9, 0xda, 0xdb);
  w.raw(b);
}

function writeBin(w: Writer, b: Uint8Array): void {
  w.header(b.length, 0, 0, 0xc4, 0xc5, 0xc6);
  w.raw(b);
}

function writeNdArray(w: Writer, a: NdArray): void {
  w.u8(0x84);
  writeBin(w, BIN_KEYS.nd);
  w.u8(0xc3);
  writeBin(w, BIN_KEYS.data);
  writeBin(w, new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  writeBin(w, BIN_KEYS.dtype);
  writeString(w, NUMPY_STR[a.dtype]);
  writeBin(w, BIN_KEYS.shape);
  w.header(a.shape.length, 0x90, 16, null, 0xdc, 0xdd);
  for (const d of a.shape) writeNumber(w, d);
}

function writeValue(w: Writer, v: WireValue, depth: number): void {
  if (depth > 64) throw new ProtocolError("encodeMsgpackNumpy: value nested deeper than 64 levels");
  if (v === null || v === undefined) w.u8(0xc0);
  else if (typeof v === "boolean") w.u8(v ? 0xc3 : 0xc2);
  else if (typeof v === "number") writeNumber(w, v);
  else if (typeof v === "string") writeString(w, v);
  else if (v instanceof Uint8Array) writeBin(w, v);
  else if (isNdArray(v)) writeNdArray(w, v);
  else if (Array.isArray(v)) {
    w.header(v.length, 0x90, 16, null, 0xdc, 0xdd);
    for (const x of v) writeValue(w, x, depth + 1);
  } else {
    const entries = Object.entries(v as WireMap).filter(([, x]) => x !== undefined);
    w.header(entries.length, 0x80, 16, null, 0xde, 0xdf);
    for (const [k, x] of entries) {
      writeString(w, k);
      writeValue(w, x, depth + 1);
    }
  }
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
