// msgpack with numpy arrays exactly as openpi's `msgpack_numpy`: arrays are maps with BINARY keys
// `__ndarray__`, `data`, `dtype`, `shape` (Python packs `bytes` as msgpack bin), scalars use `__npgeneric__`.
// Our own codec: the decoder bounds every declared length by the bytes actually left and the nesting depth
// while it reads (a 40-byte frame declaring nested 16M-element arrays must not allocate gigabytes), and
// bin payloads stay zero-copy views.
import {
  type DTypeInfo, type NdArray, type WireMap, type WireValue, DTYPES, NUMPY_STR, ProtocolError, SUPPORTED, isNdArray,
} from "./wire-types.ts";

export * from "./wire-types.ts";

export interface DecodeLimits {
  /** Largest frame accepted, in bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of maps and arrays. */
  readonly maxDepth: number;
  /** Entries of all maps and arrays together (bulk data travels as bin in numpy arrays, not as lists). */
  readonly maxItems: number;
}
export const DEFAULT_LIMITS: DecodeLimits = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxItems: 1 << 18 };

const utf8Text = new TextDecoder("utf-8", { fatal: true });

/** A cursor over one frame; every read checks the bytes left. */
class Reader {
  pos = 0;
  items = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly maxDepth: number, readonly maxItems: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get left(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.left) throw new ProtocolError(`${what} of ${n} bytes at byte ${this.pos} runs past the end (${this.left} left)`);
  }
  u8(): number {
    this.need(1, "a value");
    return this.bytes[this.pos++];
  }
  num(size: 1 | 2 | 4 | 8, kind: "u" | "i" | "f"): number {
    this.need(size, "a number");
    const v = this.view;
    const p = this.pos;
    this.pos += size;
    if (kind === "f") return size === 4 ? v.getFloat32(p) : v.getFloat64(p);
    if (size === 8) {
      const big = kind === "u" ? v.getBigUint64(p) : v.getBigInt64(p);
      if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new ProtocolError(`integer ${big} at byte ${p} is out of the 53-bit range`);
      }
      return Number(big);
    }
    if (kind === "u") return size === 1 ? v.getUint8(p) : size === 2 ? v.getUint16(p) : v.getUint32(p);
    return size === 1 ? v.getInt8(p) : size === 2 ? v.getInt16(p) : v.getInt32(p);
  }
  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }
  str(n: number): string {
    const at = this.pos;
    try {
      return utf8Text.decode(this.raw(n, "a string"));
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      throw new ProtocolError(`string at byte ${at} is not valid UTF-8`);
    }
  }
}

/** Reads the length that follows a header byte: 1, 2 or 4 bytes big-endian. */
const len = (r: Reader, size: 1 | 2 | 4): number => r.num(size, "u");

function readValue(r: Reader, depth: number, path: string): WireValue {
  const at = r.pos;
  const b = r.u8();
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b >= 0x80 && b <= 0x8f) return readMap(r, b - 0x80, depth, path);
  if (b >= 0x90 && b <= 0x9f) return readArray(r, b - 0x90, depth, path);
  if (b >= 0xa0 && b <= 0xbf) return r.str(b - 0xa0);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return r.raw(len(r, 1), "bin data");
    case 0xc5: return r.raw(len(r, 2), "bin data");
    case 0xc6: return r.raw(len(r, 4), "bin data");
    case 0xca: return r.num(4, "f");
    case 0xcb: return r.num(8, "f");
    case 0xcc: return r.num(1, "u");
    case 0xcd: return r.num(2, "u");
    case 0xce: return r.num(4, "u");
    case 0xcf: return r.num(8, "u");
    case 0xd0: return r.num(1, "i");
    case 0xd1: return r.num(2, "i");
    case 0xd2: return r.num(4, "i");
    case 0xd3: return r.num(8, "i");
    case 0xd9: return r.str(len(r, 1));
    case 0xda: return r.str(len(r, 2));
    case 0xdb: return r.str(len(r, 4));
    case 0xdc: return readArray(r, len(r, 2), depth, path);
    case 0xdd: return readArray(r, len(r, 4), depth, path);
    case 0xde: return readMap(r, len(r, 2), depth, path);
    case 0xdf: return readMap(r, len(r, 4), depth, path);
    default: {
      const what = b === 0xc1 ? "the never-used type byte 0xc1" : "a msgpack extension type (not part of the openpi protocol)";
      throw new ProtocolError(`${path}: ${what} at byte ${at}`);
    }
  }
}

function enter(r: Reader, n: number, minBytes: number, depth: number, path: string, what: string): void {
  if (depth >= r.maxDepth) throw new ProtocolError(`${path}: nesting deeper than ${r.maxDepth} levels`);
  if (n * minBytes > r.left) throw new ProtocolError(`${path}: ${what} declares ${n} entries but only ${r.left} bytes are left`);
  r.items += n;
  if (r.items > r.maxItems) {
    throw new ProtocolError(`${path}: more than ${r.maxItems} map and list entries in one frame; send bulk data as numpy arrays`);
  }
}

function readArray(r: Reader, n: number, depth: number, path: string): WireValue[] {
  enter(r, n, 1, depth, path, "an array");
  const out: WireValue[] = [];
  for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1, `${path}[${i}]`));
  return out;
}

const isContainer = (b: number): boolean => (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);

function readKey(r: Reader, path: string): string {
  const at = r.pos;
  if (r.left > 0 && isContainer(r.bytes[at])) throw new ProtocolError(`${path}: map keys must be str, bin or int; got a map or list at byte ${at}`);
  const k = readValue(r, 0, path);
  if (typeof k === "string") return k;
  if (typeof k === "number") return String(k);
  if (k instanceof Uint8Array) {
    try {
      return utf8Text.decode(k);
    } catch {
      throw new ProtocolError(`${path}: bin map key at byte ${at} is not valid UTF-8`);
    }
  }
  throw new ProtocolError(`${path}: map keys must be str, bin or int; got ${k === null ? "nil" : Array.isArray(k) ? "a list" : typeof k} at byte ${at}`);
}

function readMap(r: Reader, n: number, depth: number, path: string): WireValue {
  enter(r, n, 2, depth, path, "a map");
  const out: Record<string, WireValue> = {};
  for (let i = 0; i < n; i++) {
    const key = readKey(r, path);
    if (key === "__proto__") throw new ProtocolError(`${path}: the map key __proto__ is not allowed`);
    out[key] = readValue(r, depth + 1, `${path}.${key}`);
  }
  if ("__ndarray__" in out) return unpackArray(out, path);
  if ("__npgeneric__" in out) return unpackScalar(out, path);
  return out;
}

/** Decodes one frame: msgpack with openpi numpy maps turned into NdArrays. Throws ProtocolError on bad input. */
export function decodeMsgpackNumpy(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): WireValue {
  if (bytes.byteLength > limits.maxBytes) {
    throw new ProtocolError(`frame of ${bytes.byteLength} bytes exceeds the limit of ${limits.maxBytes} bytes`);
  }
  const r = new Reader(bytes, limits.maxDepth, limits.maxItems);
  try {
    if (bytes.length === 0) throw new ProtocolError("the frame is empty");
    const value = readValue(r, 0, "$");
    if (r.left > 0) throw new ProtocolError(`${r.left} extra bytes after the value, from byte ${r.pos}`);
    return value;
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(`malformed msgpack frame (${bytes.byteLength} bytes): ${e.message}`);
    throw e;
  }
}

function parseDType(d: unknown, path: string): { info: DTypeInfo; bigEndian: boolean } {
  const s = d instanceof Uint8Array ? utf8Text.decode(d) : d;
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

const utf8Encoder = new TextEncoder();
const BIN_KEYS = { nd: utf8Encoder.encode("__ndarray__"), data: utf8Encoder.encode("data"), dtype: utf8Encoder.encode("dtype"), shape: utf8Encoder.encode("shape") };

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
  const b = utf8Encoder.encode(s);
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

